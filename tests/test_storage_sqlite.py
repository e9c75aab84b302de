"""What only the SQLite file does: its format on disk, and files earlier versions left."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

from bot.state.storage import EARLIER_VERSION_LIFETIME_SECONDS, SqliteStorage

NOW = 1_800_000_000.0


def expiries(path: Path) -> dict[str, float | None]:
    """Each stored key's expiry, as the file holds it."""
    with closing(sqlite3.connect(path)) as db:
        return dict(db.execute("SELECT key, expires FROM items").fetchall())


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    SqliteStorage(tmp_path / "bot.sqlite3").close()

    with closing(sqlite3.connect(tmp_path / "bot.sqlite3")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def earlier_version_file(path: Path) -> None:
    """A database as versions before expiries left it: no expires column."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "CREATE TABLE items (key TEXT PRIMARY KEY, etag TEXT NOT NULL, value TEXT NOT NULL)"
        )
        db.executemany(
            "INSERT INTO items VALUES (?, 'e', ?)",
            [
                ("waiting/old", f'{{"expires": {NOW - 5}, "sealed": "x"}}'),
                ("open/new", f'{{"expires": {NOW + 5}, "sealed": "x"}}'),
                ("zone/t/alex", '{"zone": "Europe/Berlin"}'),
                ("damaged", "{not json"),
            ],
        )


async def test_records_an_earlier_version_wrote_get_an_expiry_and_none_is_kept_forever(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.sqlite3"
    earlier_version_file(path)
    storage = SqliteStorage(path, clock=lambda: NOW)
    # Written by an earlier version still running beside this one: no expiry either.
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO items (key, etag, value) VALUES ('msal-cache/t/a', 'e', '{}')")

    assert await storage.purge(NOW) == 0  # dated first; deleted by the next pass

    assert expiries(path) == {
        "waiting/old": NOW - 5,
        "open/new": NOW + 5,
        "zone/t/alex": NOW + EARLIER_VERSION_LIFETIME_SECONDS,
        "damaged": NOW + EARLIER_VERSION_LIFETIME_SECONDS,
        "msal-cache/t/a": NOW + EARLIER_VERSION_LIFETIME_SECONDS,
    }
    assert await storage.purge(NOW) == 1
    assert await storage.purge(NOW + 5) == 1
    assert await storage.purge(NOW + EARLIER_VERSION_LIFETIME_SECONDS) == 3
    assert expiries(path) == {}
    storage.close()


async def test_two_instances_opening_an_earlier_version_file_at_once_both_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.sqlite3"
    earlier_version_file(path)

    both = await asyncio.gather(*(asyncio.to_thread(SqliteStorage, path) for _ in range(4)))

    for storage in both:
        storage.close()
    assert set(expiries(path)) == {"waiting/old", "open/new", "zone/t/alex", "damaged"}
