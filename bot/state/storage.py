"""The storage contract (bot.state.store.Store) on a SQLite file, the embedded default: ETag
optimistic concurrency and an expiry on every record."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botbuilder.core import Storage

from bot.state import codec
from bot.state.store import (
    PURGE_BATCH,
    UNNAMED_LIFETIME_SECONDS,
    Prefetching,
    check_etag,
    expected_etag,
    expiry,
    key_range,
    stored_values,
)

log = logging.getLogger(__name__)

# A record an earlier version wrote has no expiry: a purge pass gives it its own "expires" field
# if it has one, else this long from then: as long as an unused sign-in (token cache) is kept, so
# no one signs in again because of an upgrade. Whatever is written again gets its own expiry.
EARLIER_VERSION_LIFETIME_SECONDS = 90 * 86400


class SqliteStorage(Prefetching, Storage):  # type: ignore[misc]
    """Documents by key in one SQLite file; every write gets a fresh ETag and an expiry.

    Values are plain typed JSON (bot.state.codec): dialog state round-trips through an allow-list of
    codecs, and a stored value the bot did not write is treated as absent, never run or built.

    A value written with `e_tag` other than None or "*" only replaces a stored value with that same
    ETag (otherwise ETagConflict), so two writers racing on one key never lose an update silently.

    A dict value's "expires" (seconds since the epoch) is its record's expiry; a value without one
    gets `unnamed_lifetime` from its write. `purge` deletes records whose expiry has passed; until
    then they read as usual, so a store can still tell "expired" from "absent".
    SQLite calls run in a worker thread; one connection, serialised by a lock.
    """

    def __init__(
        self,
        path: Path,
        *,
        unnamed_lifetime: float = UNNAMED_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._unnamed_lifetime = unnamed_lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # First: several processes may share the file, and switching a file to WAL takes it
        # whole, so the switch itself must wait for the others rather than fail at once.
        self._db.execute("PRAGMA busy_timeout=5000")
        _switch_to_wal(self._db)
        # In WAL mode, NORMAL syncs at checkpoints rather than at every commit: a commit survives
        # a crash of the process (kill -9) but may be lost with the machine's power.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("BEGIN IMMEDIATE")  # another process may be adding the column too
        try:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, etag TEXT NOT NULL, "
                "value TEXT NOT NULL, expires REAL)"
            )
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(items)")}
            if "expires" not in columns:  # a file an earlier version made
                self._db.execute("ALTER TABLE items ADD COLUMN expires REAL")
            self._db.execute("CREATE INDEX IF NOT EXISTS items_by_expiry ON items (expires)")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    async def check(self) -> None:
        await asyncio.to_thread(self._check)

    def _check(self) -> None:
        with self._lock:
            self._db.execute("SELECT 1").fetchone()

    async def _read_stored(self, keys: list[str]) -> dict[str, Any]:
        return await asyncio.to_thread(self._read, keys)

    async def write(self, changes: dict[str, Any]) -> None:
        if changes is None:
            raise ValueError("changes are required when writing")
        self._forget_prefetched(changes)
        await asyncio.to_thread(self._write, dict(changes))

    async def delete(self, keys: list[str]) -> None:
        self._forget_prefetched(keys)
        await asyncio.to_thread(self._delete, list(keys or ()))

    def _read(self, keys: list[str]) -> dict[str, Any]:
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        with self._lock:
            rows = self._db.execute(
                f"SELECT key, etag, value FROM items WHERE key IN ({marks})", keys
            ).fetchall()
        return stored_values(rows)

    def _write(self, changes: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for key, change in changes.items():
                    value, expected = expected_etag(change)
                    row = self._db.execute(
                        "SELECT etag FROM items WHERE key = ?", (key,)
                    ).fetchone()
                    check_etag(key, expected, row[0] if row else None)
                    self._db.execute(
                        "INSERT INTO items (key, etag, value, expires) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET etag = excluded.etag, "
                        "value = excluded.value, expires = excluded.expires",
                        (key, uuid.uuid4().hex, codec.dumps(value), self._expiry(value)),
                    )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    async def create(self, key: str, value: dict[str, Any]) -> bool:
        """Write `value` only if `key` is absent; True when this call created it (atomic)."""
        self._forget_prefetched([key])
        return await asyncio.to_thread(self._create, key, value)

    def _create(self, key: str, value: dict[str, Any]) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO items (key, etag, value, expires) VALUES (?, ?, ?, ?)",
                (key, uuid.uuid4().hex, codec.dumps(value), self._expiry(value)),
            )
            return cursor.rowcount == 1

    def _expiry(self, value: Any) -> float:
        return expiry(value, self._clock(), self._unnamed_lifetime)

    async def delete_if(self, key: str, field: str, value: str) -> bool:
        """Delete `key` only if its stored `field` is `value` (atomic); True when it did."""
        self._forget_prefetched([key])
        return await asyncio.to_thread(self._delete_if, key, field, value)

    def _delete_if(self, key: str, field: str, value: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM items WHERE key = ? AND json_extract(value, ?) = ?",
                (key, f'$."{field}"', value),
            )
            return cursor.rowcount == 1

    async def keys(self, prefix: str, *, limit: int = 1000) -> list[str]:
        """Up to `limit` stored keys that start with `prefix`, in order."""
        return await asyncio.to_thread(self._keys, prefix, limit)

    def _keys(self, prefix: str, limit: int) -> list[str]:
        # A range on the primary key: an index scan, and no LIKE wildcards to escape.
        with self._lock:
            rows = self._db.execute(
                "SELECT key FROM items WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
                (*key_range(prefix), limit),
            ).fetchall()
        return [key for (key,) in rows]

    async def expired(self, prefix: str, now: float, *, limit: int = 1000) -> list[str]:
        """Up to `limit` keys starting with `prefix` whose expiry is `now` or earlier."""
        return await asyncio.to_thread(self._expired, prefix, now, limit)

    def _expired(self, prefix: str, now: float, limit: int) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key FROM items WHERE expires <= ? AND key >= ? AND key < ? "
                "ORDER BY expires, key LIMIT ?",
                (now, *key_range(prefix), limit),
            ).fetchall()
        return [key for (key,) in rows]

    async def purge(self, now: float, *, limit: int = PURGE_BATCH) -> int:
        """Delete up to `limit` records whose expiry is `now` or earlier; how many it deleted.

        Then give up to `limit` records an earlier version wrote their expiry: their own
        "expires" field if they have one, else EARLIER_VERSION_LIFETIME_SECONDS from `now`.
        Dated after deleting, so a record that is already past its expiry is deleted by the next
        pass, once the stores' own sweeps have seen it expire.
        """
        return await asyncio.to_thread(self._purge, now, limit)

    def _purge(self, now: float, limit: int) -> int:
        with self._lock:
            deleted: int = self._db.execute(
                "DELETE FROM items WHERE rowid IN "
                "(SELECT rowid FROM items WHERE expires <= ? ORDER BY expires LIMIT ?)",
                (now, limit),
            ).rowcount
            self._db.execute(
                # CASE stops at the first true branch: json_type never sees text that is not JSON.
                "UPDATE items SET expires = CASE "
                "WHEN NOT json_valid(value) THEN ? "
                "WHEN json_type(value, '$.expires') IN ('integer', 'real') "
                "THEN json_extract(value, '$.expires') "
                "ELSE ? END "
                "WHERE rowid IN (SELECT rowid FROM items WHERE expires IS NULL LIMIT ?)",
                (now + EARLIER_VERSION_LIFETIME_SECONDS,) * 2 + (limit,),
            )
        if deleted:
            log.info("deleted %d expired record(s)", deleted)
        return deleted

    def _delete(self, keys: list[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM items WHERE key = ?", [(k,) for k in keys])


def _switch_to_wal(db: sqlite3.Connection, *, within: float = 5.0) -> None:
    """Put the file in WAL mode, waiting up to `within` seconds for others opening it too.

    The switch takes the file whole. When several connections reach for it at once, SQLite
    answers some of them "locked" at once, without waiting (its busy handler could deadlock
    them), so the switch is tried again after a short random pause.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))
        else:
            return
