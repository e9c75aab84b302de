"""One meeting per request: retried deliveries, double presses, two processes, a crash."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.web.keys import SANDBOX
from tests.conftest import (
    ALEX,
    BotClient,
    Connector,
    MakeBot,
    activity,
    card_of,
    complete_sign_in,
    database_at_rest,
    say,
    sign_in,
    sign_in_url,
)
from tests.processes import RunningApp, start
from tests.sink import Sink


def join_urls(replies: list[dict[str, Any]]) -> list[str]:
    return [card_of(r)["actions"][0]["url"] for r in replies if r.get("attachments")]


@pytest.fixture
async def bot(make_bot: MakeBot, connector: Connector) -> BotClient:
    client = await make_bot(SKIP_CONFIRMATION="true")
    await sign_in(client, connector)
    return client


async def post(bot: BotClient, body: dict[str, Any]) -> None:
    response = await bot.post("/api/messages", json=body)
    assert response.status in (200, 201)


async def test_a_retried_delivery_creates_one_meeting_and_gets_the_same_card(
    bot: BotClient, connector: Connector
) -> None:
    sandbox = bot.app[SANDBOX]
    same = activity("/meet Standup tomorrow 9am", service_url=connector.url)
    before = len(connector.activities)

    await post(bot, same)
    await post(bot, same)  # Teams resends when a bot is slow

    urls = join_urls(connector.activities[before:])
    assert len(urls) == 2
    assert urls[0] == urls[1]
    assert len(sandbox.graph.meetings()) == 1


async def test_the_kept_meeting_is_encrypted_at_rest(bot: BotClient, connector: Connector) -> None:
    same = activity("/meet Standup tomorrow 9am", service_url=connector.url)
    await post(bot, same)
    await post(bot, same)  # answered from the ledger, so the ledger holds the meeting

    [meeting] = bot.app[SANDBOX].graph.meetings()
    _, raw = await database_at_rest(bot)
    assert meeting["joinWebUrl"].encode() not in raw
    assert meeting["joinMeetingIdSettings"]["passcode"].encode() not in raw
    assert meeting["joinMeetingIdSettings"]["joinMeetingId"].encode() not in raw


async def test_deliveries_at_the_same_moment_create_one_meeting(
    bot: BotClient, connector: Connector
) -> None:
    sandbox = bot.app[SANDBOX]
    same = activity("/meet Standup tomorrow 9am", service_url=connector.url)
    before = len(connector.activities)

    await asyncio.gather(*(post(bot, same) for _ in range(5)))

    assert len(sandbox.graph.meetings()) == 1
    assert len(set(join_urls(connector.activities[before:]))) == 1


async def test_pressing_create_twice_at_once_creates_one_meeting(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot()
    await sign_in(bot, connector)
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 9am")
    press = card_of(confirmation)["actions"][0]["data"]

    await asyncio.gather(
        *(say(bot, connector, "", value=press, reply_to_id="card-1") for _ in range(3))
    )

    assert len(bot.app[SANDBOX].graph.meetings()) == 1


async def test_when_the_tenant_decides_the_passcode_create_or_get_makes_the_call_idempotent(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(SKIP_CONFIRMATION="true", PASSCODE_POLICY="tenant")
    await sign_in(bot, connector)
    same = activity("/meet Standup tomorrow 9am", service_url=connector.url)
    await post(bot, same)
    await post(bot, same)
    graph = bot.app[SANDBOX].graph
    assert [r.path.rsplit("/", 1)[-1] for r in graph.requests] == ["createOrGet"]
    assert "joinMeetingIdSettings" not in graph.requests[0].body
    assert len(graph.meetings()) == 1


async def test_no_passcode_is_asked_of_graph_explicitly(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(SKIP_CONFIRMATION="true", PASSCODE_POLICY="none")
    await sign_in(bot, connector)

    [reply] = await say(bot, connector, "/meet Standup tomorrow 9am")

    [create] = bot.app[SANDBOX].graph.requests
    assert create.path.endswith("/me/onlineMeetings")
    assert create.body["joinMeetingIdSettings"] == {"isPasscodeRequired": False}
    assert "Passcode" not in str(card_of(reply))


# -- separate processes sharing one storage ----------------------------------------------------


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


def signed_in_app(tmp_path: Path, sink: Sink, **env: str) -> RunningApp:
    """A bot process over `tmp_path`'s data folder, with Alex signed in for real."""
    app = start({"SKIP_CONFIRMATION": "true", **env}, tmp_path)
    httpx.post(
        f"{app.base}/api/messages", json=activity("/signin", service_url=sink.url), timeout=10
    )
    card = sink.activities[-1]
    page = asyncio.run(complete_sign_in(sign_in_url(card), username=ALEX.upn))
    assert page.status_code == 200
    return app


def graph_posts(*apps: RunningApp) -> int:
    return sum(app.output().count("graph POST") for app in apps)


def test_two_processes_sharing_the_storage_create_one_meeting(tmp_path: Path, sink: Sink) -> None:
    first = signed_in_app(tmp_path, sink)
    (tmp_path / "second").mkdir()
    second = start(
        {"SKIP_CONFIRMATION": "true", "DATA_DIR": str(tmp_path / "data")}, tmp_path / "second"
    )
    try:
        same = activity("/meet Standup tomorrow 9am", service_url=sink.url)
        before = len(sink.activities)

        async def deliver(app: RunningApp) -> None:
            async with httpx.AsyncClient() as http:
                await http.post(f"{app.base}/api/messages", json=same, timeout=30)

        async def both() -> None:
            await asyncio.gather(deliver(first), deliver(second))

        asyncio.run(both())

        urls = join_urls(sink.activities[before:])
        assert len(urls) == 2
        assert urls[0] == urls[1]
        assert graph_posts(first, second) == 1
    finally:
        first.stop()
        second.stop()


def test_a_crash_after_graph_answered_does_not_make_a_second_meeting(tmp_path: Path) -> None:
    slow = Sink(delay=30)  # the reply hangs, so the process dies before answering
    fast = Sink()
    first = signed_in_app(tmp_path, fast)
    second = None
    try:
        same = activity("/meet Standup tomorrow 9am", service_url=slow.url)
        with contextlib.suppress(httpx.ReadTimeout):
            httpx.post(f"{first.base}/api/messages", json=same, timeout=2)
        deadline = time.monotonic() + 10
        while "graph POST" not in first.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "graph POST /me/onlineMeetings -> 201" in first.output()
        os.kill(first.process.pid, signal.SIGKILL)  # between Graph's answer and our reply
        first.process.wait()

        second = start({"SKIP_CONFIRMATION": "true"}, tmp_path)
        same["serviceUrl"] = fast.url  # Teams delivers the same activity again
        before = len(fast.activities)
        httpx.post(f"{second.base}/api/messages", json=same, timeout=10)
        [reply] = fast.activities[before:]
        assert card_of(reply)["body"][0]["text"] == "Standup"
        assert "graph POST" not in second.output()  # the first meeting, from the ledger
    finally:
        for app in (first, second):
            if app is not None and app.process.poll() is None:
                app.process.kill()
                app.process.wait()
        slow.close()
        fast.close()


def test_a_crash_while_creating_is_answered_after_a_restart_and_never_created_twice(
    tmp_path: Path,
) -> None:
    sink = Sink()
    # Graph takes 3 s; the bot answers "Creating the meeting…" after 0.3 s and is killed then.
    slow = {
        "SANDBOX_GRAPH_LATENCY_SECONDS": "3",
        "ANSWER_WITHIN_SECONDS": "0.3",
        "GRAPH_TIMEOUT_SECONDS": "0.5",
        "GRAPH_RETRY_BUDGET_SECONDS": "0",
    }
    first = signed_in_app(tmp_path, sink, **slow)
    second = None
    try:
        same = activity("/meet Standup tomorrow 9am", service_url=sink.url)
        before = len(sink.activities)
        httpx.post(f"{first.base}/api/messages", json=same, timeout=10)
        [note] = sink.activities[before:]
        assert note["text"].startswith("Creating the meeting")
        os.kill(first.process.pid, signal.SIGKILL)  # Graph has the request; no answer yet
        first.process.wait()

        second = start({"SKIP_CONFIRMATION": "true", **slow}, tmp_path)
        # Teams delivers the message again; the earlier process's claim stands.
        httpx.post(f"{second.base}/api/messages", json=same, timeout=10)
        deadline = time.monotonic() + 30
        while not any(p.startswith("PUT ") for p in sink.paths[before:]):
            assert time.monotonic() < deadline, second.output()
            time.sleep(0.2)

        answered = zip(sink.activities[before:], sink.paths[before:], strict=True)
        updates = [a for a, p in answered if p[:3] == "PUT"]
        assert updates, second.output()  # the "Creating…" note was answered in place
        told = " ".join(str(a) for a in sink.activities[before + 1 :])
        assert "can't tell whether Microsoft Teams created this meeting" in told
        assert "No meeting was created" not in told
        assert "graph POST" not in second.output()  # never sent again
    finally:
        for app in (first, second):
            if app is not None and app.process.poll() is None:
                app.process.kill()
                app.process.wait()
        sink.close()
