"""The storage contract (bot.state.store.Store) on PostgreSQL through asyncpg, for several
instances sharing one database: the same records, ETags and expiries as the SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from botbuilder.core import Storage

from bot.state import codec
from bot.state.store import (
    PURGE_BATCH,
    UNNAMED_LIFETIME_SECONDS,
    ETagConflict,
    Prefetching,
    StorageUnavailable,
    etag_is_checked,
    expected_etag,
    expiry,
    key_range,
    stored_values,
)

log = logging.getLogger(__name__)

# Opening a connection, and waiting for a free one in the pool: well inside the 15 seconds Bot
# Framework waits for an answer, so an unreachable database is answered 503 rather than timed out.
CONNECT_TIMEOUT_SECONDS = 5.0
# One statement; every one the bot runs touches a few rows by key.
COMMAND_TIMEOUT_SECONDS = 10.0
# How long a turn waits for another instance's turn of the same person and conversation.
TURN_LOCK_TIMEOUT_SECONDS = 10.0
# Taken (per transaction) by whoever migrates the schema: instances starting at once take turns,
# and each finds the work done by the first. Any fixed 64-bit number; this is "teamsmtg" in ASCII.
MIGRATION_LOCK = 0x7465616D736D7467

# Versioned schema changes, applied in order, each once, in one transaction with its version.
# Never edit one that has shipped: add the next.
# Values are text, not jsonb: jsonb reorders keys, drops duplicates and refuses "\u0000", and
# the codec's output must read back exactly as written. Keys sort by code point ("C"), as SQLite
# compares them, so that a prefix is a range on the primary key.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            'CREATE TABLE bot_items (key text COLLATE "C" PRIMARY KEY, etag text NOT NULL, '
            "value text NOT NULL, expires double precision NOT NULL)",
            "CREATE INDEX bot_items_by_expiry ON bot_items (expires)",
        ),
    ),
    (
        2,
        (
            # A turn's lock and its first read in one statement. The lock is the transaction's;
            # the read, a statement of its own in a volatile function, takes its snapshot once
            # the lock is held (read committed), so it sees what the turn before committed.
            "CREATE FUNCTION bot_begin_turn(turn text, keys text[], lock_timeout text) "
            "RETURNS TABLE (item_key text, item_etag text, item_value text) "
            "LANGUAGE plpgsql VOLATILE AS $$ BEGIN "
            "PERFORM set_config('lock_timeout', lock_timeout, true); "
            "PERFORM pg_advisory_xact_lock(hashtextextended(turn, 0)); "
            "RETURN QUERY SELECT i.key, i.etag, i.value FROM bot_items i "
            "WHERE i.key = ANY(keys); "
            "END $$",
        ),
    ),
)

# What a lost or refused connection raises; anything else is a bug, not an outage.
_OUTAGES = (
    OSError,  # refused, reset, no route, no socket file
    TimeoutError,  # connecting, or waiting for a free connection
    asyncpg.PostgresConnectionError,  # class 08, and a connection lost mid-query
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: too many connections, disk full
    # An idle pooled connection the server closed (shutting down) is left in a state asyncpg
    # then refuses to use: the pool replaces it, and the next call gets a fresh one.
    asyncpg.InternalClientError,
)


def redacted(url: str) -> str:
    """`url` without its password, to name the database in logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class PostgresStorage(Prefetching, Storage):  # type: ignore[misc]
    """Records by key in one PostgreSQL table, through a pool of `pool_size` connections.

    Each call is one transaction: a write of several keys is written whole or not at all. An
    ETag-checked write is `UPDATE ... WHERE etag = $expected` (atomic: no lost update across
    instances), `create` a unique insert. A connection that is refused or lost raises
    StorageUnavailable. Open with `PostgresStorage.open`.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        locks: asyncpg.Pool,
        *,
        unnamed_lifetime: float = UNNAMED_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._pool = pool
        self._locks = locks
        self._unnamed_lifetime = unnamed_lifetime
        self._clock = clock

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        pool_size: int,
        unnamed_lifetime: float = UNNAMED_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> PostgresStorage:
        """Connect to the database at `url` and bring its schema up to date (MIGRATIONS).

        Two pools of up to `pool_size` connections: one for storage calls, one whose
        connections each hold a turn's lock (`turn`) while the turn runs.
        """
        pools: list[asyncpg.Pool] = []
        try:
            for minimum in (1, 0):
                pools.append(
                    await asyncpg.create_pool(
                        url,
                        min_size=minimum,
                        max_size=pool_size,
                        timeout=CONNECT_TIMEOUT_SECONDS,
                        command_timeout=COMMAND_TIMEOUT_SECONDS,
                        reset=_nothing_to_reset,
                    )
                )
        except (*_OUTAGES, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Refused, wrong password, no such database, a malformed URL: said in one line,
            # naming the database without its password (asyncpg's messages never quote it).
            for pool in pools:
                pool.terminate()
            raise StorageUnavailable(
                f"cannot use PostgreSQL at {redacted(url)}: {_reason(exc)}"
            ) from None
        storage = cls(*pools, unnamed_lifetime=unnamed_lifetime, clock=clock)
        try:
            await storage.migrate()
        except asyncpg.PostgresError as exc:  # say, no right to create tables
            await storage.close()
            raise StorageUnavailable(
                f"cannot bring the schema at {redacted(url)} up to date: {_reason(exc)}"
            ) from None
        except BaseException:
            await storage.close()
            raise
        log.info("storage: PostgreSQL at %s, up to %d connections", redacted(url), pool_size)
        return storage

    async def close(self) -> None:
        for pool in (self._pool, self._locks):
            try:
                await asyncio.wait_for(pool.close(), CONNECT_TIMEOUT_SECONDS)
            except TimeoutError:
                pool.terminate()

    @asynccontextmanager
    async def turn(self, key: str, keys: list[str]) -> AsyncIterator[None]:
        """Hold `key` for the block in every instance on this database, and prefetch `keys`:
        a transaction-level advisory lock (released when the block ends, or its connection is
        lost) and the read, in one statement (bot_begin_turn) between BEGIN and ROLLBACK.

        An instance that waits more than TURN_LOCK_TIMEOUT_SECONDS raises StorageUnavailable,
        as does a database it cannot reach: the turn is delivered again later. What the block
        itself raises passes through unchanged.
        """
        try:
            db = await self._locks.acquire(timeout=CONNECT_TIMEOUT_SECONDS)
        except _OUTAGES as exc:
            raise StorageUnavailable(f"PostgreSQL is unavailable: {_reason(exc)}") from exc
        try:
            # Read committed whatever the database's default: the read then takes its snapshot
            # after the lock, not when the statement began.
            transaction = db.transaction(isolation="read_committed")
            try:
                await transaction.start()
                rows = await db.fetch(
                    "SELECT * FROM bot_begin_turn($1, $2::text[], $3)",
                    key,
                    keys,
                    f"{TURN_LOCK_TIMEOUT_SECONDS * 1000:.0f}",
                    # The server's lock timeout, not asyncpg's, ends a wait for the lock.
                    timeout=TURN_LOCK_TIMEOUT_SECONDS + COMMAND_TIMEOUT_SECONDS,
                )
            except BaseException as exc:
                with contextlib.suppress(*_OUTAGES, asyncpg.InterfaceError):
                    await transaction.rollback()
                if isinstance(exc, asyncpg.LockNotAvailableError):
                    raise StorageUnavailable(
                        "another instance has held this turn's lock too long"
                    ) from None
                if isinstance(exc, _OUTAGES):
                    raise StorageUnavailable(f"PostgreSQL is unavailable: {_reason(exc)}") from exc
                raise
            try:
                with self._handing_out(keys, stored_values(rows)):
                    yield
            finally:
                # Ending the transaction releases the lock; so does losing its connection.
                with contextlib.suppress(*_OUTAGES):
                    await transaction.rollback()
        finally:
            await self._locks.release(db)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        try:
            async with self._pool.acquire(timeout=CONNECT_TIMEOUT_SECONDS) as connection:
                yield connection
        except _OUTAGES as exc:
            raise StorageUnavailable(f"PostgreSQL is unavailable: {_reason(exc)}") from exc

    async def migrate(self) -> None:
        """Apply the migrations this database lacks; several instances may do so at once."""
        async with self._connection() as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await db.execute(
                "CREATE TABLE IF NOT EXISTS bot_migrations (version integer PRIMARY KEY, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in await db.fetch("SELECT version FROM bot_migrations")}
            for version, statements in MIGRATIONS:
                if version in done:
                    continue
                for statement in statements:
                    await db.execute(statement)
                await db.execute("INSERT INTO bot_migrations (version) VALUES ($1)", version)
                log.info("storage: applied schema migration %d", version)

    async def check(self) -> None:
        async with self._connection() as db:
            await db.fetchval("SELECT 1")

    async def _read_stored(self, keys: list[str]) -> dict[str, Any]:
        if not keys:
            return {}
        async with self._connection() as db:
            rows = await db.fetch(
                "SELECT key, etag, value FROM bot_items WHERE key = ANY($1::text[])", keys
            )
        return stored_values(rows)

    async def write(self, changes: dict[str, Any]) -> None:
        if changes is None:
            raise ValueError("changes are required when writing")
        self._forget_prefetched(changes)
        now = self._clock()
        rows = []
        for key, change in sorted(changes.items()):  # one order: no deadlock between writers
            value, expected = expected_etag(change)
            rows.append(
                (key, expected, codec.dumps(value), expiry(value, now, self._unnamed_lifetime))
            )
        async with self._connection() as db:
            if len(rows) == 1:  # one statement is a transaction of its own: one round trip
                await self._write_row(db, *rows[0])
                return
            async with db.transaction():
                for row in rows:
                    await self._write_row(db, *row)  # a conflict rolls the whole write back

    @staticmethod
    async def _write_row(
        db: asyncpg.Connection, key: str, expected: str | None, text: str, expires: float
    ) -> None:
        etag = uuid.uuid4().hex
        if not etag_is_checked(expected):
            await db.execute(
                "INSERT INTO bot_items (key, etag, value, expires) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET "
                "etag = excluded.etag, value = excluded.value, expires = excluded.expires",
                key,
                etag,
                text,
                expires,
            )
            return
        status = await db.execute(
            "UPDATE bot_items SET etag = $3, value = $4, expires = $5 WHERE key = $1 AND etag = $2",
            key,
            expected,
            etag,
            text,
            expires,
        )
        if _count(status) != 1:
            raise ETagConflict(key)

    async def delete(self, keys: list[str]) -> None:
        self._forget_prefetched(keys)
        keys = list(keys or ())
        if not keys:
            return
        async with self._connection() as db:
            await db.execute("DELETE FROM bot_items WHERE key = ANY($1::text[])", keys)

    async def create(self, key: str, value: dict[str, Any]) -> bool:
        self._forget_prefetched([key])
        text = codec.dumps(value)
        expires = expiry(value, self._clock(), self._unnamed_lifetime)
        async with self._connection() as db:
            status = await db.execute(
                "INSERT INTO bot_items (key, etag, value, expires) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (key) DO NOTHING",
                key,
                uuid.uuid4().hex,
                text,
                expires,
            )
        return _count(status) == 1

    async def delete_if(self, key: str, field: str, value: str) -> bool:
        self._forget_prefetched([key])
        async with self._connection() as db:
            # json, not jsonb: it reads the text as stored (a "\u0000" elsewhere is no error).
            status = await db.execute(
                "DELETE FROM bot_items WHERE key = $1 AND value::json ->> $2 = $3",
                key,
                field,
                value,
            )
        return _count(status) == 1

    async def keys(self, prefix: str, *, limit: int = 1000) -> list[str]:
        async with self._connection() as db:
            rows = await db.fetch(
                "SELECT key FROM bot_items WHERE key >= $1 AND key < $2 ORDER BY key LIMIT $3",
                *key_range(prefix),
                limit,
            )
        return [row[0] for row in rows]

    async def expired(self, prefix: str, now: float, *, limit: int = 1000) -> list[str]:
        async with self._connection() as db:
            rows = await db.fetch(
                "SELECT key FROM bot_items WHERE expires <= $1 AND key >= $2 AND key < $3 "
                "ORDER BY expires, key LIMIT $4",
                now,
                *key_range(prefix),
                limit,
            )
        return [row[0] for row in rows]

    async def purge(self, now: float, *, limit: int = PURGE_BATCH) -> int:
        async with self._connection() as db:
            # SKIP LOCKED: instances purging at once delete different records, none waits.
            status = await db.execute(
                "DELETE FROM bot_items WHERE key IN (SELECT key FROM bot_items "
                "WHERE expires <= $1 ORDER BY expires LIMIT $2 FOR UPDATE SKIP LOCKED)",
                now,
                limit,
            )
        deleted = _count(status)
        if deleted:
            log.info("deleted %d expired record(s)", deleted)
        return deleted


async def _nothing_to_reset(db: asyncpg.Connection) -> None:
    """A connection handed back to its pool needs no reset query: asyncpg ends a transaction
    left open itself, and the bot sets no session state (no SET, cursor, LISTEN or session
    lock). It saves a round trip per storage call."""


def _count(status: str) -> int:
    """The row count in a command status ("INSERT 0 1", "UPDATE 1", "DELETE 3")."""
    return int(status.rpartition(" ")[2])


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
