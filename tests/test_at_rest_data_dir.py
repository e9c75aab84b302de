"""DATA_DIR at rest: a private folder with owner-only files, checked by the app at start-up."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from aiohttp import web

from bot.settings import Settings
from bot.state.data_dir import UnsafeDataDir, secure_data_dir
from bot.web.keys import SETTINGS
from bot.web.server import create_app
from tests.conftest import BotClient, Connector, MakeBot, say, sign_in
from tests.processes import run_until_it_stops, start

NOBODY = 65534
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="only root can give a folder to another user"
)


def modes(folder: Path) -> dict[str, int]:
    """The permission bits of `folder` ('.') and of everything under it, by relative path."""
    found = {".": folder.stat().st_mode & 0o7777}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = path.lstat().st_mode & 0o7777
    return found


def assert_private(folder: Path) -> None:
    found = modes(folder)
    expected = {name: 0o700 if (folder / name).is_dir() else 0o600 for name in found}
    assert {n: oct(m) for n, m in found.items()} == {n: oct(m) for n, m in expected.items()}


def loose_data_dir(tmp_path: Path) -> Path:
    """A data folder as an older version (or a default umask) left it: 0755 and 0644."""
    data = tmp_path / "data"
    (data / "sandbox").mkdir(parents=True)
    with sqlite3.connect(data / "bot.sqlite3") as database:
        database.execute("CREATE TABLE old (x)")
    (data / "sandbox" / "refresh-tokens.json").write_text("{}")
    for path in (data, data / "sandbox"):
        path.chmod(0o755)
    for path in (data / "bot.sqlite3", data / "sandbox" / "refresh-tokens.json"):
        path.chmod(0o644)
    return data


async def test_a_new_data_folder_and_everything_the_bot_writes_there_are_owner_only(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot: BotClient = await make_bot(SKIP_CONFIRMATION="true")
    await sign_in(bot, connector)
    await say(bot, connector, "/meet Standup now")
    data = bot.app[SETTINGS].data_dir

    written = set(modes(data))
    assert_private(data)
    await bot.close()

    assert {
        "bot.sqlite3",
        "bot.sqlite3-wal",  # SQLite made these with the database file's mode
        "bot.sqlite3-shm",
        "token-cache.key",
        "sandbox",
        "sandbox/signing-key.pem",
        "sandbox/refresh-tokens.json",
    } <= written
    assert_private(data)


async def test_a_loose_existing_folder_and_database_are_tightened_at_start_up(
    make_bot: MakeBot, connector: Connector, tmp_path: Path
) -> None:
    data = loose_data_dir(tmp_path)

    bot = await make_bot(SKIP_CONFIRMATION="true")

    assert_private(data)
    [reply] = await say(bot, connector, "/signin")  # the old database still works
    assert reply["attachments"]


async def test_start_up_creates_the_database_file_owner_only_before_sqlite_opens_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "a" / "data"

    await secure_data_dir(data, private_files=["bot.sqlite3"])

    assert modes(data) == {".": 0o700, "bot.sqlite3": 0o600}
    assert (data / "bot.sqlite3").read_bytes() == b""  # SQLite takes an empty file as a new one


async def test_files_the_owner_made_stricter_keep_their_mode(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "token-cache.key").write_text("k")
    (data / "token-cache.key").chmod(0o400)

    await secure_data_dir(data)

    assert modes(data) == {".": 0o700, "token-cache.key": 0o400}


async def test_a_file_where_the_data_folder_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder")
    with pytest.raises(UnsafeDataDir, match="is not a folder"):
        await secure_data_dir(tmp_path / "data")


async def test_a_shared_sticky_folder_like_tmp_is_refused_and_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)

    with pytest.raises(UnsafeDataDir, match="shared folder"):
        await secure_data_dir(shared, private_files=["bot.sqlite3"])

    assert modes(shared) == {".": 0o1777}


@needs_root
async def test_a_data_folder_of_another_user_is_refused_and_left_untouched(
    tmp_path: Path,
) -> None:
    data = loose_data_dir(tmp_path)
    os.chown(data, NOBODY, NOBODY)
    before = modes(data)
    runner = web.AppRunner(
        create_app(Settings.from_env({"DATA_DIR": str(data), "SANDBOX_PORT": "0"}))
    )

    try:
        with pytest.raises(UnsafeDataDir, match=f"belongs to user id {NOBODY}"):
            await runner.setup()  # the app's start-up: its cleanup_ctx
    finally:
        await runner.cleanup()

    assert modes(data) == before
    assert not (data / "token-cache.key").exists()


# -- the real process ---------------------------------------------------------------------------


def test_app_py_tightens_a_loose_data_folder_before_serving(tmp_path: Path) -> None:
    data = loose_data_dir(tmp_path)

    app = start({}, tmp_path)
    try:
        assert_private(data)
    finally:
        output = app.stop()

    assert "DATA_DIR" in output  # the operator is told the folder was open
    assert_private(data)


@needs_root
def test_app_py_refuses_a_data_folder_of_another_user_with_one_clear_line(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, NOBODY, NOBODY)

    result = run_until_it_stops({"DATA_DIR": str(data)}, tmp_path)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    [refusal] = [line for line in output.splitlines() if "ERROR" in line]
    assert f"DATA_DIR {data} belongs to user id {NOBODY}" in refusal
    assert "chown" in refusal
    assert "Traceback" not in output
    assert list(data.iterdir()) == []
