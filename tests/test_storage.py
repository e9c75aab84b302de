"""The storage contract, run against every backend (SQLite, PostgreSQL): botbuilder's Storage,
ETag conflicts, durability across instances, create-if-absent, and every record's expiry."""

from __future__ import annotations

import asyncio

import pytest
from botbuilder.dialogs import DialogInstance, DialogState

from bot.state.store import UNNAMED_LIFETIME_SECONDS, ETagConflict, Store
from tests.storages import Backend

NOW = 1_800_000_000.0
DAY = 86400.0


@pytest.fixture
async def storage(backend: Backend) -> Store:
    return await backend.open()


@pytest.fixture
async def clocked(backend: Backend) -> Store:
    return await backend.open(clock=lambda: NOW)


async def test_write_read_delete_round_trip(storage: Store) -> None:
    await storage.write({"a": {"n": 1}, "b": {"n": 2}})

    read = await storage.read(["a", "b", "missing"])

    assert read["a"]["n"] == 1
    assert read["b"]["n"] == 2
    assert "missing" not in read
    assert read["a"]["e_tag"] != read["b"]["e_tag"]
    await storage.delete(["a"])
    assert await storage.read(["a"]) == {}


async def test_write_with_a_stale_etag_fails_and_keeps_the_newer_value(storage: Store) -> None:
    await storage.write({"k": {"v": "first"}})
    [first] = (await storage.read(["k"])).values()
    await storage.write({"k": {**first, "v": "second"}})

    with pytest.raises(ETagConflict):
        await storage.write({"k": {**first, "v": "stale"}})

    assert (await storage.read(["k"]))["k"]["v"] == "second"


async def test_a_write_with_a_conflict_writes_none_of_its_keys(storage: Store) -> None:
    await storage.write({"a": {"v": 1}, "b": {"v": 1}})
    read = await storage.read(["a", "b"])

    with pytest.raises(ETagConflict):
        await storage.write({"a": {**read["a"], "v": 2}, "b": {**read["b"], "e_tag": "stale"}})

    after = await storage.read(["a", "b"])
    assert (after["a"]["v"], after["b"]["v"]) == (1, 1)


async def test_an_etag_for_a_key_no_longer_stored_is_a_conflict(storage: Store) -> None:
    await storage.write({"k": {"v": 1}})
    [first] = (await storage.read(["k"])).values()
    await storage.delete(["k"])

    with pytest.raises(ETagConflict):
        await storage.write({"k": {**first, "v": 2}})

    assert await storage.read(["k"]) == {}


async def test_racing_read_modify_write_loses_no_update(backend: Backend) -> None:
    # Two instances, as two processes would be.
    instances = [await backend.open(), await backend.open()]
    await instances[0].write({"counter": {"n": 0}})

    async def increment(storage: Store) -> None:
        while True:
            current = (await storage.read(["counter"]))["counter"]
            try:
                await storage.write({"counter": {**current, "n": current["n"] + 1}})
            except ETagConflict:
                continue
            return

    await asyncio.gather(*(increment(instances[n % 2]) for n in range(20)))

    assert (await instances[0].read(["counter"]))["counter"]["n"] == 20


async def test_star_etag_overwrites_unconditionally(storage: Store) -> None:
    await storage.write({"k": {"v": 1}})
    await storage.write({"k": {"v": 2, "e_tag": "*"}})
    assert (await storage.read(["k"]))["k"]["v"] == 2


async def test_values_survive_a_new_storage_on_the_same_store(backend: Backend) -> None:
    first = await backend.open()
    await first.write({"k": {"v": "kept"}})

    second = await backend.open()
    assert (await second.read(["k"]))["k"]["v"] == "kept"


async def test_plain_values_and_dialog_state_both_round_trip(storage: Store) -> None:
    plain = {
        "subject": 'Design "py/object" review \u0000 \u00e9 \U0001f600',
        "n": 1,
        "x": 2.5,
        "big": 10**20,
        "ok": None,
        "l": [True],
        "$type": "not a tag",
        "z": 1.0,
        "a": 0.1,
    }
    dialog = {"DialogState": DialogState([DialogInstance(id="meet", state={"step": 2})])}
    await storage.write({"plain": plain, "dialog": dialog})

    read = await storage.read(["plain", "dialog"])

    assert {k: v for k, v in read["plain"].items() if k != "e_tag"} == plain
    assert list(read["plain"]) == [*plain, "e_tag"]  # the order as written
    assert type(read["plain"]["z"]) is float
    [instance] = read["dialog"]["DialogState"].dialog_stack
    assert (instance.id, instance.state) == ("meet", {"step": 2})


async def test_a_value_of_a_type_the_bot_does_not_store_is_refused(storage: Store) -> None:
    with pytest.raises(TypeError):
        await storage.write({"k": {"when": object()}})
    assert await storage.read(["k"]) == {}


async def test_create_writes_only_when_the_key_is_absent(backend: Backend) -> None:
    instances = [await backend.open(), await backend.open()]

    created = await asyncio.gather(
        *(instances[n % 2].create("claim", {"by": str(n)}) for n in range(10))
    )

    assert created.count(True) == 1
    winner = str(created.index(True))
    assert (await instances[1].read(["claim"]))["claim"]["by"] == winner


async def test_a_prefetched_read_is_answered_once_and_never_after_a_write(
    backend: Backend,
) -> None:
    storage = await backend.open()
    await storage.write({"a": {"n": 1}, "b": {"n": 2}, "c": {"n": 3}})
    other = await backend.open()  # another instance, on the same store

    async with storage.prefetch(["a", "b", "c", "missing"]):
        await other.write({"a": {"n": 10}, "b": {"n": 20}})  # after the prefetch
        await storage.write({"b": {"n": 21}})  # through this storage: b is read again

        first = await storage.read(["a", "missing"])
        await other.write({"missing": {"n": 4}})
        still_missing = await storage.read(["missing"])  # an absence is handed out until written
        again = await storage.read(["a"])
        b = await storage.read(["b"])

        async def later() -> dict[str, object]:
            await asyncio.sleep(0.05)
            return await storage.read(["c"])

        outliving = asyncio.create_task(later())
    await other.write({"c": {"n": 30}})

    assert (first["a"]["n"], "missing" in first) == (1, False)  # as read at the prefetch
    assert still_missing == {}
    assert again["a"]["n"] == 10  # handed out once: a second read is a read
    assert b["b"]["n"] == 21
    assert (await outliving)["c"] == {"n": 30, "e_tag": (await other.read(["c"]))["c"]["e_tag"]}


async def test_delete_if_deletes_only_while_the_field_still_has_the_value(storage: Store) -> None:
    await storage.write({"k": {"owner": "first"}})

    assert not await storage.delete_if("k", "owner", "second")
    assert (await storage.read(["k"]))["k"]["owner"] == "first"
    assert await storage.delete_if("k", "owner", "first")
    assert await storage.read(["k"]) == {}
    assert not await storage.delete_if("k", "owner", "first")


async def test_keys_under_a_prefix_come_in_order(storage: Store) -> None:
    await storage.write({key: {} for key in ["b/2", "a/1", "b/10", "b/é", "b/_", "b%", "c"]})

    assert await storage.keys("b/") == ["b/10", "b/2", "b/_", "b/é"]
    assert await storage.keys("b/", limit=2) == ["b/10", "b/2"]
    assert await storage.keys("b%") == ["b%"]  # no wildcards


async def test_the_store_answers_a_check(storage: Store) -> None:
    await storage.check()


# -- every record has an expiry, and a purge pass deletes those past it --------------------------


async def test_a_record_expires_when_its_value_says_else_a_day_after_its_write(
    backend: Backend, clocked: Store
) -> None:
    dialog = {"DialogState": DialogState([DialogInstance(id="meet", state={})])}
    await clocked.write({"named": {"expires": NOW + 60}, "dialog": dialog})
    await clocked.create("created", {"expires": NOW + 120})
    await clocked.write({"odd": {"expires": "tomorrow"}})  # not a time: as if unnamed

    assert await backend.expiries() == {
        "named": NOW + 60,
        "dialog": NOW + UNNAMED_LIFETIME_SECONDS,
        "created": NOW + 120,
        "odd": NOW + UNNAMED_LIFETIME_SECONDS,
    }
    assert (await clocked.read(["named"]))["named"]["expires"] == NOW + 60


async def test_a_purge_deletes_records_past_their_expiry_and_keeps_the_rest(
    clocked: Store,
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


async def test_a_purge_pass_does_a_bounded_amount_of_work(clocked: Store) -> None:
    await clocked.write({f"k{n:02}": {"expires": NOW - 100 + n} for n in range(25)})

    assert await clocked.purge(NOW, limit=10) == 10
    # The longest expired go first.
    assert (await clocked.keys(""))[0] == "k10"
    assert await clocked.purge(NOW, limit=10) == 10
    assert await clocked.purge(NOW, limit=10) == 5
    assert await clocked.purge(NOW, limit=10) == 0


async def test_expired_keys_under_a_prefix_come_from_the_expiry_index(clocked: Store) -> None:
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
