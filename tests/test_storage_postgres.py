"""What only PostgreSQL storage does: versioned migrations that instances may run at once, a
typed outage when the server goes away, and a URL whose password never shows."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg
import pytest

from bot.state import postgres
from bot.state.postgres import MIGRATIONS, PostgresStorage, redacted
from bot.state.store import StorageUnavailable
from tests.postgres_server import INSTALL_HINT, PostgresServer, find_binaries
from tests.processes import free_port


async def test_instances_starting_at_once_migrate_the_schema_once(postgres_url: str) -> None:
    storages = await asyncio.gather(
        *(PostgresStorage.open(postgres_url, pool_size=2) for _ in range(4))
    )

    db = await asyncpg.connect(postgres_url)
    try:
        versions = [row[0] for row in await db.fetch("SELECT version FROM bot_migrations")]
    finally:
        await db.close()
    assert versions == [version for version, _ in MIGRATIONS]
    await storages[0].write({"k": {"v": 1}})
    assert (await storages[3].read(["k"]))["k"]["v"] == 1
    for storage in storages:
        await storage.close()


async def test_a_stored_value_the_bot_did_not_write_reads_as_absent(postgres_url: str) -> None:
    storage = await PostgresStorage.open(postgres_url, pool_size=1)
    db = await asyncpg.connect(postgres_url)
    try:
        await db.executemany(
            "INSERT INTO bot_items (key, etag, value, expires) VALUES ($1, 'e', $2, 0)",
            [
                ("pickled", '{"py/reduce": [{"py/function": "os.system"}, ["id"]]}'),
                ("tagged", '{"$type": "Popen", "args": ["id"]}'),
                ("damaged", "{not json"),
            ],
        )
    finally:
        await db.close()

    assert await storage.read(["pickled", "tagged", "damaged"]) == {}
    await storage.close()


async def test_a_stopped_server_is_a_storage_outage_until_it_is_back(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    storage = await PostgresStorage.open(postgres_url, pool_size=2)
    await storage.write({"k": {"v": 1}})

    postgres_server.stop()
    try:
        with pytest.raises(StorageUnavailable):
            await storage.check()
        with pytest.raises(StorageUnavailable):
            await storage.write({"k": {"v": 2}})
        with pytest.raises(StorageUnavailable):
            await storage.read(["k"])
    finally:
        postgres_server.start()

    assert (await storage.read(["k"]))["k"]["v"] == 1  # nothing half-written
    await storage.close()


async def test_an_unreachable_database_at_start_names_it_without_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"postgresql://bot:s3cret-pw@127.0.0.1:{free_port()}/bot"  # nothing listens

    with pytest.raises(StorageUnavailable) as raised:
        await PostgresStorage.open(url, pool_size=1)

    assert "127.0.0.1" in str(raised.value)
    assert "s3cret-pw" not in str(raised.value)
    assert "s3cret-pw" not in caplog.text


def test_a_url_is_named_without_its_password() -> None:
    assert redacted("postgresql://bot:pw@db:5432/bot?sslmode=require") == (
        "postgresql://bot:***@db:5432/bot?sslmode=require"
    )
    assert redacted("postgresql://bot@db/bot") == "postgresql://bot@db/bot"


def test_the_newest_installed_postgresql_is_found_when_path_has_none(tmp_path: Path) -> None:
    for version in ("9.6", "15", "13"):
        folder = tmp_path / version / "bin"
        folder.mkdir(parents=True)
        for name in ("initdb", "pg_ctl"):
            (folder / name).touch(mode=0o755)

    assert find_binaries(path="", installs=tmp_path) == tmp_path / "15" / "bin"
    assert find_binaries(path="", installs=tmp_path / "none") is None


def test_missing_binaries_are_explained_with_how_to_install_them() -> None:
    assert "apt-get install postgresql" in INSTALL_HINT
    assert "initdb" in INSTALL_HINT


async def test_a_turn_lock_holds_across_instances_and_only_its_own_key(postgres_url: str) -> None:
    first = await PostgresStorage.open(postgres_url, pool_size=2)
    second = await PostgresStorage.open(postgres_url, pool_size=2)
    order: list[str] = []

    async def second_turn(key: str) -> None:
        async with second.turn(key, []):
            order.append(f"second {key}")

    async with first.turn("conversation|alex", []):
        waiting = asyncio.create_task(second_turn("conversation|alex"))
        await second_turn("conversation|megan")  # another person's turn does not wait
        await asyncio.sleep(0.3)
        order.append("first done")
    await waiting

    assert order == ["second conversation|megan", "first done", "second conversation|alex"]
    for storage in (first, second):
        await storage.close()


@pytest.mark.parametrize("isolation", ["read committed", "repeatable read"])
async def test_a_turn_reads_what_the_turn_before_it_wrote(
    postgres_url: str, isolation: str
) -> None:
    admin = await asyncpg.connect(postgres_url)
    database = await admin.fetchval("SELECT current_database()")
    await admin.execute(  # whatever the database's default
        f"ALTER DATABASE \"{database}\" SET default_transaction_isolation = '{isolation}'"
    )
    await admin.close()
    first = await PostgresStorage.open(postgres_url, pool_size=2)
    second = await PostgresStorage.open(postgres_url, pool_size=2)
    await first.write({"state": {"step": 1}})
    read: list[int] = []

    async def second_turn() -> None:
        async with second.turn("conversation|alex", ["state"]):
            read.append((await second.read(["state"]))["state"]["step"])

    async with first.turn("conversation|alex", ["state"]):
        waiting = asyncio.create_task(second_turn())  # asks while the first turn runs
        await asyncio.sleep(0.3)
        state = (await first.read(["state"]))["state"]
        await first.write({"state": {**state, "step": 2}})
    await waiting

    # Its lock and read are one statement, yet the read comes after the lock: never step 1.
    assert read == [2]
    for storage in (first, second):
        await storage.close()


async def test_a_turn_that_waits_too_long_for_its_lock_is_told_so(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "TURN_LOCK_TIMEOUT_SECONDS", 0.5)
    first = await PostgresStorage.open(postgres_url, pool_size=1)
    second = await PostgresStorage.open(postgres_url, pool_size=1)

    async with first.turn("conversation|alex", []):
        with pytest.raises(StorageUnavailable, match="held this turn's lock too long"):
            async with asyncio.timeout(5), second.turn("conversation|alex", []):
                pass

    async with asyncio.timeout(5), second.turn("conversation|alex", []):
        pass  # its connection went back to the pool clean: no transaction, no lock
    for storage in (first, second):
        await storage.close()


async def test_what_a_locked_turn_raises_passes_through_and_releases_the_lock(
    postgres_url: str,
) -> None:
    storage = await PostgresStorage.open(postgres_url, pool_size=1)

    with pytest.raises(ConnectionResetError):  # say, the Bot Connector hung up: not storage's
        async with storage.turn("k", []):
            raise ConnectionResetError

    async with asyncio.timeout(5), storage.turn("k", []):
        pass
    await storage.close()
