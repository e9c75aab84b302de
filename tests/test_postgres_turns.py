"""The bot over HTTP with all its state in PostgreSQL (DATABASE_URL): a /meet turn with
sign-in, exactly-once creates, state that outlives an instance, and a database outage."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiohttp import web

from bot.settings import Settings
from bot.state.postgres import PostgresStorage
from bot.web.keys import SANDBOX, SETTINGS, STORAGE
from bot.web.server import DatabaseUnavailable, create_app
from tests.conftest import (
    ALEX,
    BotClient,
    Connector,
    MakeBot,
    activity,
    card_of,
    complete_sign_in,
    say,
    sign_in,
    sign_in_url,
)
from tests.postgres_server import PostgresServer
from tests.processes import free_port


def join_urls(replies: list[dict[str, Any]]) -> list[str]:
    return [card_of(r)["actions"][0]["url"] for r in replies if r.get("attachments")]


@pytest.fixture
async def bot(postgres_url: str, make_bot: MakeBot) -> BotClient:
    # postgres_url first: its database is dropped only after the app has closed.
    return await make_bot(SKIP_CONFIRMATION="true", DATABASE_URL=postgres_url)


async def post(bot: BotClient, body: dict[str, Any]) -> int:
    response = await bot.post("/api/messages", json=body)
    return response.status


async def test_the_bot_keeps_its_state_in_postgresql_not_in_a_file(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)

    [reply] = await say(bot, connector, "/meet Retro now")

    assert card_of(reply)["body"][0]["text"] == "Retro"
    assert isinstance(bot.app[STORAGE], PostgresStorage)
    assert await bot.app[STORAGE].keys("msal-cache/")
    assert not list(bot.app[SETTINGS].data_dir.glob("bot.sqlite3*"))


async def test_first_meet_asks_to_sign_in_then_the_meeting_appears(
    bot: BotClient, connector: Connector
) -> None:
    graph = bot.app[SANDBOX].graph
    [card] = await say(bot, connector, "/meet Standup now")
    assert graph.requests == []

    page = await complete_sign_in(sign_in_url(card), username=ALEX.upn)

    assert page.status_code == 200
    assert [card_of(u)["body"][0]["text"] for u in connector.updates] == ["Standup"]
    assert len(graph.meetings()) == 1


async def test_deliveries_at_the_same_moment_create_one_meeting(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)
    same = activity("/meet Standup tomorrow 9am", service_url=connector.url)
    before = len(connector.activities)

    statuses = await asyncio.gather(*(post(bot, same) for _ in range(5)))

    assert set(statuses) <= {200, 201}
    assert len(bot.app[SANDBOX].graph.meetings()) == 1
    assert len(set(join_urls(connector.activities[before:]))) == 1


async def test_a_redelivery_to_the_next_instance_gets_the_same_meeting(
    postgres_url: str, make_bot: MakeBot, connector: Connector
) -> None:
    first = await make_bot(SKIP_CONFIRMATION="true", DATABASE_URL=postgres_url)
    await sign_in(first, connector)
    same = activity("/meet Standup tomorrow 9am", service_url=connector.url)
    assert await post(first, same) in (200, 201)
    [created] = join_urls(connector.activities[-1:])
    await first.close()

    second = await make_bot(SKIP_CONFIRMATION="true", DATABASE_URL=postgres_url)
    assert await post(second, same) in (200, 201)  # Teams resends to whichever instance

    assert join_urls(connector.activities[-1:]) == [created]
    assert second.app[SANDBOX].graph.created == 0  # answered from the ledger
    [reply] = await say(second, connector, "/meet After restart now")  # still signed in
    assert card_of(reply)["body"][0]["text"] == "After restart"


async def test_while_postgresql_is_down_healthz_and_turns_answer_503_and_nothing_is_lost(
    bot: BotClient, connector: Connector, postgres_server: PostgresServer
) -> None:
    await sign_in(bot, connector)
    graph = bot.app[SANDBOX].graph
    same = activity("/meet Standup tomorrow 9am", service_url=connector.url)
    before = len(connector.activities)

    postgres_server.stop()
    try:
        health = await bot.get("/healthz")
        assert health.status == 503
        assert (await health.json())["storage"] == "unreachable"
        response = await bot.post("/api/messages", json=same)
        assert response.status == 503
        assert response.headers["Retry-After"]
        assert connector.activities[before:] == []  # no half answer
        assert graph.requests == []
    finally:
        postgres_server.start()

    assert (await bot.get("/healthz")).status == 200
    assert await post(bot, same) in (200, 201)  # Teams delivers it again
    assert [card_of(r)["body"][0]["text"] for r in connector.activities[before:]] == ["Standup"]
    assert len(graph.meetings()) == 1


async def test_a_sign_in_link_opened_while_postgresql_is_down_says_to_try_again(
    bot: BotClient, connector: Connector, postgres_server: PostgresServer
) -> None:
    [card] = await say(bot, connector, "/meet Standup now")
    link = urlsplit(sign_in_url(card))

    postgres_server.stop()
    try:
        page = await bot.get(f"{link.path}?{link.query}", allow_redirects=False)
        assert page.status == 503
        assert "Try again in a minute" in await page.text()
    finally:
        postgres_server.start()

    # The link still works once the database is back.
    answer = await complete_sign_in(sign_in_url(card), username=ALEX.upn)
    assert answer.status_code == 200
    assert [card_of(u)["body"][0]["text"] for u in connector.updates] == ["Standup"]


async def test_an_unreachable_database_stops_start_up_without_showing_its_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"postgresql://bot:pw-in-url@127.0.0.1:{free_port()}/bot"  # nothing listens there
    settings = Settings.from_env(
        {"SANDBOX_PORT": "0", "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": url}
    )
    runner = web.AppRunner(create_app(settings))

    with pytest.raises(DatabaseUnavailable) as refused:
        await runner.setup()  # opens the bot's services, as `serve` does

    await runner.cleanup()
    assert "postgresql://bot:***@127.0.0.1" in str(refused.value)
    assert "pw-in-url" not in str(refused.value)
    assert "pw-in-url" not in caplog.text


async def test_a_meet_takes_four_storage_calls_and_six_statements(
    bot: BotClient, connector: Connector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The turn's lock with its first read, the sender's tokens, the request's claim and its
    # outcome; on the wire, the turn's BEGIN and ROLLBACK besides: nothing else waits on the
    # database (no reset query when a connection goes back to its pool).
    await sign_in(bot, connector)
    calls: list[str] = []
    statements: list[str] = []
    storage = type(bot.app[STORAGE])
    monkeypatch.setattr(storage, "turn", _counted_turn(storage.turn, calls))
    for name in ("_read_stored", "write", "create", "delete", "delete_if", "keys"):
        monkeypatch.setattr(storage, name, _recorded(getattr(storage, name), name, calls))
    for name in ("execute", "fetch", "fetchval", "fetchrow"):
        call = getattr(asyncpg.Connection, name)
        monkeypatch.setattr(asyncpg.Connection, name, _recorded(call, name, statements, query=True))

    # In a chat of its own: its first turn, which leaves no dialog running, stores no state.
    [reply] = await say(bot, connector, "/meet Standup tomorrow 9am", conversation_id="a:new")

    assert card_of(reply)["body"][0]["text"] == "Standup"
    assert sorted(calls) == ["_read_stored", "create", "turn", "write"]
    assert len(statements) == 6, statements


def _counted_turn(turn: Any, calls: list[str]) -> Any:
    @contextlib.asynccontextmanager
    async def counted(self: Any, key: str, keys: list[str]) -> AsyncIterator[None]:
        calls.append("turn")
        async with turn(self, key, keys):
            yield

    return counted


def _recorded(call: Any, name: str, into: list[str], *, query: bool = False) -> Any:
    async def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
        into.append(str(args[0])[:40] if query else name)
        return await call(self, *args, **kwargs)

    return recorded
