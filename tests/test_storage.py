"""SqliteStorage: botbuilder's Storage contract, ETag conflicts, durability across instances."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from botbuilder.dialogs import DialogInstance, DialogState

from bot.state.storage import ETagConflict, SqliteStorage


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


async def test_delete_if_deletes_only_while_the_field_still_has_the_value(
    storage: SqliteStorage,
) -> None:
    await storage.write({"k": {"owner": "first"}})

    assert not await storage.delete_if("k", "owner", "second")
    assert (await storage.read(["k"]))["k"]["owner"] == "first"
    assert await storage.delete_if("k", "owner", "first")
    assert await storage.read(["k"]) == {}
