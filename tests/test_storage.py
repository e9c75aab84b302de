"""SqliteStorage: botbuilder's Storage contract, ETag conflicts, durability across instances,
and every record's expiry."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from botbuilder.dialogs import DialogInstance, DialogState

from bot.state.storage import EARLIER_VERSION_LIFETIME_SECONDS, SqliteStorage
from bot.state.store import UNNAMED_LIFETIME_SECONDS, ETagConflict

NOW = 1_800_000_000.0
DAY = 86400.0


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "state.sqlite3")
    yield store
    store.close()


async def test_write_read_delete_round_trip(storage: SqliteStorage) -> None:
    await storage.write({"a": {"n": 1}, "b": {"n": 2}})

    read = await storage.read(["a", "b", "missing"])

    assert read["a"]["n"] == 1
    assert read["b"]["n"] == 2
    assert "missing" not in read
    assert read["a"]["e_tag"] != read["b"]["e_tag"]
    await storage.delete(["a"])
    assert await storage.read(["a"]) == {}


async def test_write_with_a_stale_etag_fails_and_keeps_the_newer_value(
    storage: SqliteStorage,
) -> None:
    await storage.write({"k": {"v": "first"}})
    [first] = (await storage.read(["k"])).values()
    await storage.write({"k": {**first, "v": "second"}})

    with pytest.raises(ETagConflict):
        await storage.write({"k": {**first, "v": "stale"}})

    assert (await storage.read(["k"]))["k"]["v"] == "second"


async def test_racing_read_modify_write_loses_no_update(storage: SqliteStorage) -> None:
    await storage.write({"counter": {"n": 0}})

    async def increment() -> None:
        while True:
            current = (await storage.read(["counter"]))["counter"]
            try:
                await storage.write({"counter": {**current, "n": current["n"] + 1}})
            except ETagConflict:
                continue
            return

    await asyncio.gather(*(increment() for _ in range(20)))

    assert (await storage.read(["counter"]))["counter"]["n"] == 20


async def test_star_etag_overwrites_unconditionally(storage: SqliteStorage) -> None:
    await storage.write({"k": {"v": 1}})
    await storage.write({"k": {"v": 2, "e_tag": "*"}})
    assert (await storage.read(["k"]))["k"]["v"] == 2


async def test_values_survive_a_new_storage_on_the_same_file(tmp_path: Path) -> None:
    first = SqliteStorage(tmp_path / "state.sqlite3")
    await first.write({"k": {"v": "kept"}})
    first.close()

    second = SqliteStorage(tmp_path / "state.sqlite3")
    assert (await second.read(["k"]))["k"]["v"] == "kept"
    second.close()


async def test_plain_values_and_dialog_state_both_round_trip(storage: SqliteStorage) -> None:
    plain = {"subject": 'Design "py/object" review', "n": 1, "x": 2.5, "ok": None, "l": [True]}
    dialog = {"DialogState": DialogState([DialogInstance(id="meet", state={"step": 2})])}
    await storage.write({"plain": plain, "dialog": dialog})

    read = await storage.read(["plain", "dialog"])

    assert {k: v for k, v in read["plain"].items() if k != "e_tag"} == plain
    [instance] = read["dialog"]["DialogState"].dialog_stack
    assert (instance.id, instance.state) == ("meet", {"step": 2})


async def test_a_prefetched_read_is_answered_once_and_never_after_a_write(
    tmp_path: Path,
) -> None:
    storage = SqliteStorage(tmp_path / "state.sqlite3")
    await storage.write({"a": {"n": 1}, "b": {"n": 2}, "c": {"n": 3}})
    other = SqliteStorage(tmp_path / "state.sqlite3")  # another instance, on the same file

    async with storage.prefetch(["a", "b", "c", "missing"]):
        await other.write({"a": {"n": 10}, "b": {"n": 20}})  # after the prefetch
        await storage.write({"b": {"n": 21}})  # through this storage: b is read again

        first = await storage.read(["a", "missing"])
        again = await storage.read(["a"])
        b = await storage.read(["b"])

        async def later() -> dict[str, object]:
            await asyncio.sleep(0.05)
            return await storage.read(["c"])

        outliving = asyncio.create_task(later())
    await other.write({"c": {"n": 30}})

    assert (first["a"]["n"], "missing" in first) == (1, False)  # as read at the prefetch
    assert again["a"]["n"] == 10  # handed out once: a second read is a read
    assert b["b"]["n"] == 21
    assert (await outliving)["c"] == {"n": 30, "e_tag": (await other.read(["c"]))["c"]["e_tag"]}
    storage.close()
    other.close()


async def test_delete_if_deletes_only_while_the_field_still_has_the_value(
    storage: SqliteStorage,
) -> None:
    await storage.write({"k": {"owner": "first"}})

    assert not await storage.delete_if("k", "owner", "second")
    assert (await storage.read(["k"]))["k"]["owner"] == "first"
    assert await storage.delete_if("k", "owner", "first")
    assert await storage.read(["k"]) == {}


# -- every record has an expiry, and a purge pass deletes those past it --------------------------


def expiries(path: Path) -> dict[str, float | None]:
    """Each stored key's expiry, as the file holds it."""
    with closing(sqlite3.connect(path)) as db:
        return dict(db.execute("SELECT key, expires FROM items").fetchall())


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "state.sqlite3", clock=lambda: NOW)
    yield store
    store.close()


async def test_a_record_expires_when_its_value_says_else_a_day_after_its_write(
    clocked: SqliteStorage, tmp_path: Path
) -> None:
    dialog = {"DialogState": DialogState([DialogInstance(id="meet", state={})])}
    await clocked.write({"named": {"expires": NOW + 60}, "dialog": dialog})
    await clocked.create("created", {"expires": NOW + 120})
    await clocked.write({"odd": {"expires": "tomorrow"}})  # not a time: as if unnamed

    assert expiries(tmp_path / "state.sqlite3") == {
        "named": NOW + 60,
        "dialog": NOW + UNNAMED_LIFETIME_SECONDS,
        "created": NOW + 120,
        "odd": NOW + UNNAMED_LIFETIME_SECONDS,
    }
    assert (await clocked.read(["named"]))["named"]["expires"] == NOW + 60


async def test_a_purge_deletes_records_past_their_expiry_and_keeps_the_rest(
    clocked: SqliteStorage,
) -> None:
    await clocked.write(
        {
            "past": {"expires": NOW - 1},
            "now": {"expires": NOW},
            "later": {"expires": NOW + 1},
            "unnamed": {"n": 1},
        }
    )

    assert await clocked.purge(NOW) == 2

    assert set(await clocked.read(["past", "now", "later", "unnamed"])) == {"later", "unnamed"}
    assert await clocked.purge(NOW + UNNAMED_LIFETIME_SECONDS) == 2
    assert await clocked.keys("") == []


async def test_a_purge_pass_does_a_bounded_amount_of_work(clocked: SqliteStorage) -> None:
    await clocked.write({f"k{n:02}": {"expires": NOW - 100 + n} for n in range(25)})

    assert await clocked.purge(NOW, limit=10) == 10
    # The longest expired go first.
    assert (await clocked.keys(""))[0] == "k10"
    assert await clocked.purge(NOW, limit=10) == 10
    assert await clocked.purge(NOW, limit=10) == 5
    assert await clocked.purge(NOW, limit=10) == 0


async def test_expired_keys_under_a_prefix_come_from_the_expiry_index(
    clocked: SqliteStorage,
) -> None:
    await clocked.write(
        {
            "waiting/a": {"expires": NOW - 5},
            "waiting/b": {"expires": NOW - 10},
            "waiting/c": {"expires": NOW + 1},
            "open/a": {"expires": NOW - 5},
        }
    )

    assert await clocked.expired("waiting/", NOW) == ["waiting/b", "waiting/a"]
    assert await clocked.expired("waiting/", NOW, limit=1) == ["waiting/b"]


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
