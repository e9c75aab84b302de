"""botbuilder's Storage interface on a SQLite file, with ETag optimistic concurrency."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import jsonpickle
from botbuilder.core import Storage


class ETagConflict(KeyError):
    """A write carried an ETag that is no longer current: someone else wrote first."""


class SqliteStorage(Storage):  # type: ignore[misc]
    """Documents by key in one SQLite file; every write gets a fresh ETag.

    Values are encoded with jsonpickle, as botbuilder's own state code does, so dialog state
    (DialogState and prompt objects) round-trips as well as plain dicts.

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
        return {key: _with_etag(_decode(value), etag) for key, etag, value in rows}

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
                        (key, uuid.uuid4().hex, _encode(value)),
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
                (key, uuid.uuid4().hex, _encode(value)),
            )
            return cursor.rowcount == 1

    def _delete(self, keys: list[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM items WHERE key = ?", [(k,) for k in keys])


def _encode(value: Any) -> str:
    # Plain JSON (ledger records, token caches, flags) is what jsonpickle would write anyway;
    # the json module writes it several times faster. Objects (dialog state) need jsonpickle.
    return json.dumps(value) if _is_plain(value) else str(jsonpickle.encode(value))


def _decode(text: str) -> Any:
    return jsonpickle.decode(text) if '"py/' in text else json.loads(text)


def _is_plain(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _is_plain(v) for k, v in value.items())
    if kind is list:
        return all(_is_plain(v) for v in value)
    return value is None or kind in (str, int, float, bool)


def _with_etag(value: Any, etag: str) -> Any:
    if isinstance(value, dict):
        return {**value, "e_tag": etag}
    value.e_tag = etag
    return value


def _check_etag(key: str, expected: str | None, current: str | None) -> None:
    if expected not in (None, "*") and current != expected:
        raise ETagConflict(key)
