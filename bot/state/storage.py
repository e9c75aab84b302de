"""botbuilder's Storage interface on a SQLite file, with ETag optimistic concurrency."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

from botbuilder.core import Storage

from bot.state import codec

log = logging.getLogger(__name__)


class ETagConflict(KeyError):
    """A write carried an ETag that is no longer current: someone else wrote first."""


class SqliteStorage(Storage):  # type: ignore[misc]
    """Documents by key in one SQLite file; every write gets a fresh ETag.

    Values are plain typed JSON (bot.state.codec): dialog state round-trips through an allow-list of
    codecs, and a stored value the bot did not write is treated as absent, never run or built.

    A value written with `e_tag` other than None or "*" only replaces a stored value with that same
    ETag (otherwise ETagConflict), so two writers racing on one key never lose an update silently.
    SQLite calls run in a worker thread; one connection, serialised by a lock.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")  # several processes may share the file
        # In WAL mode, NORMAL syncs at checkpoints rather than at every commit: a commit survives
        # a crash of the process (kill -9) but may be lost with the machine's power.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, etag TEXT NOT NULL, "
            "value TEXT NOT NULL)"
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    async def read(self, keys: list[str]) -> dict[str, Any]:
        return await asyncio.to_thread(self._read, list(keys or ()))

    async def write(self, changes: dict[str, Any]) -> None:
        if changes is None:
            raise ValueError("changes are required when writing")
        await asyncio.to_thread(self._write, dict(changes))

    async def delete(self, keys: list[str]) -> None:
        await asyncio.to_thread(self._delete, list(keys or ()))

    def _read(self, keys: list[str]) -> dict[str, Any]:
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        with self._lock:
            rows = self._db.execute(
                f"SELECT key, etag, value FROM items WHERE key IN ({marks})", keys
            ).fetchall()
        found = {}
        for key, etag, text in rows:
            try:
                found[key] = _with_etag(codec.loads(text), etag)
            except codec.StoredValueError as exc:
                # Not ours (tampered with, corrupt, or another version's format): as if absent.
                log.warning("ignoring an unreadable stored value: %s", exc)
        return found

    def _write(self, changes: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for key, change in changes.items():
                    value = dict(change) if isinstance(change, dict) else change
                    expected = (
                        value.pop("e_tag", None)
                        if isinstance(value, dict)
                        else getattr(value, "e_tag", None)
                    )
                    row = self._db.execute(
                        "SELECT etag FROM items WHERE key = ?", (key,)
                    ).fetchone()
                    _check_etag(key, expected, row[0] if row else None)
                    self._db.execute(
                        "INSERT INTO items (key, etag, value) VALUES (?, ?, ?) ON CONFLICT(key) "
                        "DO UPDATE SET etag = excluded.etag, value = excluded.value",
                        (key, uuid.uuid4().hex, codec.dumps(value)),
                    )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    async def create(self, key: str, value: dict[str, Any]) -> bool:
        """Write `value` only if `key` is absent; True when this call created it (atomic)."""
        return await asyncio.to_thread(self._create, key, value)

    def _create(self, key: str, value: dict[str, Any]) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO items (key, etag, value) VALUES (?, ?, ?)",
                (key, uuid.uuid4().hex, codec.dumps(value)),
            )
            return cursor.rowcount == 1

    async def delete_if(self, key: str, field: str, value: str) -> bool:
        """Delete `key` only if its stored `field` is `value` (atomic); True when it did."""
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
                (prefix, prefix + "\U0010ffff", limit),
            ).fetchall()
        return [key for (key,) in rows]

    def _delete(self, keys: list[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM items WHERE key = ?", [(k,) for k in keys])


def _with_etag(value: Any, etag: str) -> Any:
    if isinstance(value, dict):
        return {**value, "e_tag": etag}
    value.e_tag = etag
    return value


def _check_etag(key: str, expected: str | None, current: str | None) -> None:
    if expected not in (None, "*") and current != expected:
        raise ETagConflict(key)
