"""Each storage backend behind one interface, for the storage contract tests: open instances on
one store (one SQLite file, one PostgreSQL database) and read its expiries as it holds them."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path

import asyncpg
import pytest

from bot.state.postgres import PostgresStorage
from bot.state.storage import SqliteStorage
from bot.state.store import Store

BACKENDS = ["sqlite", "postgres"]


class Backend:
    """Instances of one backend on one store; each is closed when the test ends."""

    def __init__(self, kind: str, path: Path, url: str | None) -> None:
        self.kind = kind
        self.path = path
        self.url = url
        self._sqlite: list[SqliteStorage] = []
        self._postgres: list[PostgresStorage] = []

    async def open(self, *, clock: Callable[[], float] = time.time) -> Store:
        """Another instance on the same store, as a second process would have."""
        if self.url is None:
            sqlite = SqliteStorage(self.path, clock=clock)
            self._sqlite.append(sqlite)
            return sqlite
        postgres = await PostgresStorage.open(self.url, pool_size=4, clock=clock)
        self._postgres.append(postgres)
        return postgres

    async def expiries(self) -> dict[str, float | None]:
        """Each stored key's expiry, as the store holds it."""
        if self.url is None:
            with closing(sqlite3.connect(self.path)) as db:
                return dict(db.execute("SELECT key, expires FROM items").fetchall())
        db = await asyncpg.connect(self.url)
        try:
            return {
                key: expires
                for key, expires in await db.fetch("SELECT key, expires FROM bot_items")
            }
        finally:
            await db.close()

    async def close(self) -> None:
        for sqlite in self._sqlite:
            sqlite.close()
        for postgres in self._postgres:
            await postgres.close()


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite; a fresh database's URL for PostgreSQL (its server starts on first use)."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return None


@pytest.fixture
async def backend(backend_url: str | None, tmp_path: Path) -> AsyncIterator[Backend]:
    opened = Backend(
        "sqlite" if backend_url is None else "postgres", tmp_path / "state.sqlite3", backend_url
    )
    yield opened
    await opened.close()
