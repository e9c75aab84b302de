"""A create whose outcome is unknown: one meeting at most, a true sentence, a deliberate choice.

Each scenario ends with exactly one meeting (or none, when none was made) and a message that
says only what is known.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from cryptography.fernet import Fernet

from bot.framework.transport import open_client
from bot.meetings import ledger
from bot.meetings.ledger import OutcomeUnknown, RequestInProgress, RequestLedger
from bot.meetings.outbox import Outbox
from bot.meetings.waiting import WaitingRequests
from bot.state.storage import SqliteStorage
from bot.web.keys import ADAPTER, BOT, SANDBOX, SETTINGS, STORAGE
from graph import GraphClient, GraphOutcomeUnknown, OnlineMeeting, OnlineMeetingRequest
from tests.conftest import BotClient, Connector, MakeBot, activity, card_of, post, say, sign_in
from tests.meeting_requests import an_ask

NOTHING_CREATED = "No meeting was created"


def texts(replies: list[dict[str, Any]]) -> str:
    return " ".join(str(reply) for reply in replies)


async def signed_in_bot(make_bot: MakeBot, connector: Connector, **env: str) -> BotClient:
    bot = await make_bot(SKIP_CONFIRMATION="true", GRAPH_TIMEOUT_SECONDS="0.5", **env)
    await sign_in(bot, connector)
    return bot


@pytest.mark.parametrize("lost", ["read timeout", "504 after acting"])
async def test_a_lost_answer_is_told_as_unknown_and_never_created_again(
    make_bot: MakeBot, connector: Connector, lost: str
) -> None:
    bot = await signed_in_bot(make_bot, connector)
    graph = bot.app[SANDBOX].graph
    if lost == "read timeout":
        graph.faults.act_then_fail(504, hang=1.5)  # past the bot's 0.5 s read timeout
    else:
        graph.faults.act_then_fail(504)
    same = activity("/meet Standup tomorrow 9am", service_url=connector.url)

    before = len(connector.activities)
    await bot.post("/api/messages", json=same)
    [reply] = connector.activities[before:]

    card = card_of(reply)
    assert "can't tell whether Microsoft Teams created this meeting" in card["body"][0]["text"]
    assert NOTHING_CREATED not in str(card)
    assert [action["title"] for action in card["actions"]] == ["Create another"]
    assert len(graph.meetings()) == 1

    # Teams delivers the same message again: its state is reported, nothing is created.
    before = len(connector.activities)
    await bot.post("/api/messages", json=same)
    [again] = connector.activities[before:]
    assert "can't tell whether" in card_of(again)["body"][0]["text"]
    assert len(graph.meetings()) == 1

    # Only the requester's deliberate choice makes another meeting, in place of the card.
    another = card["actions"][0]["data"]
    await say(bot, connector, "", value=another, reply_to_id="unknown-card")
    [update] = connector.updates
    assert card_of(update)["body"][0]["text"] == "Standup"
    assert len(graph.meetings()) == 2
    await say(bot, connector, "", value=another, reply_to_id="unknown-card")
    assert len(graph.meetings()) == 2  # pressed twice: still one more


async def test_when_the_tenant_decides_a_lost_answer_resolves_itself(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await signed_in_bot(make_bot, connector, PASSCODE_POLICY="tenant")
    graph = bot.app[SANDBOX].graph
    graph.faults.act_then_fail(504)

    [reply] = await say(bot, connector, "/meet Standup tomorrow 9am")

    assert card_of(reply)["body"][0]["text"] == "Standup"  # createOrGet, asked again
    assert len(graph.meetings()) == 1
    assert [r.status for r in graph.requests] == [504, 200]


async def test_a_meeting_that_cannot_be_recorded_still_reaches_the_requester(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await signed_in_bot(make_bot, connector)
    graph = bot.app[SANDBOX].graph
    storage = bot.app[STORAGE]
    assert isinstance(storage, SqliteStorage)  # a full disk, as SQLite sees it
    same = activity("/meet Standup tomorrow 9am", service_url=connector.url)
    graph.faults.latency = 0.3

    async def fill_the_disk() -> None:
        while not await storage.keys("request/"):  # noqa: ASYNC110 - polling another writer
            await asyncio.sleep(0.01)
        # From here on every write fails, as on a full disk.
        storage._db.execute("PRAGMA query_only=1")

    before = len(connector.activities)
    await asyncio.gather(bot.post("/api/messages", json=same), fill_the_disk())

    replies = connector.activities[before:]
    assert [card_of(r)["body"][0]["text"] for r in replies] == ["Standup"]
    assert NOTHING_CREATED not in texts(replies)
    assert len(graph.meetings()) == 1


@pytest.mark.parametrize("status", [500, 403])
async def test_a_refused_card_never_turns_into_a_false_no_meeting(
    make_bot: MakeBot, connector: Connector, status: int
) -> None:
    bot = await signed_in_bot(make_bot, connector)
    connector.refuse = [status]  # the meeting card is refused; what follows is accepted

    before = len(connector.activities)
    await bot.post(
        "/api/messages", json=activity("/meet Standup tomorrow 9am", service_url=connector.url)
    )

    assert NOTHING_CREATED not in texts(connector.activities[before:])
    assert len(bot.app[SANDBOX].graph.meetings()) == 1


# -- the ledger on its own: claims are never freed by a clock -----------------------------------


WEEK = 7 * 86400
ENDS = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)  # the requested meeting's end


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


# A recorded meeting's fields, as the ledger keeps them.
MEETING_FIELDS: dict[str, Any] = {
    "id": "m1",
    "subject": "Standup",
    "start": None,
    "end": None,
    "join_web_url": "https://teams.example/join",
    "join_meeting_id": None,
    "passcode": None,
    "passcode_required": False,
    "toll_number": None,
    "toll_free_number": None,
    "conference_id": None,
}


def a_meeting() -> OnlineMeeting:
    return OnlineMeeting.from_fields(MEETING_FIELDS)


async def test_a_clock_jump_never_frees_a_claim_that_is_still_creating(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    fernet = Fernet(Fernet.generate_key())
    first_clock, second_clock = Clock(), Clock()
    first = RequestLedger(
        storage, fernet, busy_after_seconds=60, keep_after_end_seconds=WEEK, clock=first_clock
    )
    second = RequestLedger(
        storage,
        fernet,
        busy_after_seconds=60,
        keep_after_end_seconds=WEEK,
        wait_seconds=0.3,
        clock=second_clock,
    )
    creating = asyncio.Event()
    finish = asyncio.Event()
    calls = 0

    async def create() -> OnlineMeeting:
        nonlocal calls
        calls += 1
        creating.set()
        await finish.wait()
        return a_meeting()

    slow = asyncio.create_task(first.once("k", create, repeatable=False, ends=ENDS))
    await creating.wait()
    with pytest.raises(RequestInProgress):
        await second.once("k", create, repeatable=False, ends=ENDS)
    second_clock.now += 3600  # this process's wall clock jumps an hour ahead
    with pytest.raises(OutcomeUnknown):
        await second.once("k", create, repeatable=False, ends=ENDS)
    finish.set()
    assert (await slow).id == "m1"
    assert calls == 1
    assert (await second.once("k", create, repeatable=False, ends=ENDS)).id == "m1"
    storage.close()


async def test_a_crash_before_recording_leaves_the_request_unknown(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    fernet = Fernet(Fernet.generate_key())
    clock = Clock()
    ledger = RequestLedger(
        storage, fernet, busy_after_seconds=60, keep_after_end_seconds=WEEK, clock=clock
    )

    async def crash() -> OnlineMeeting:
        raise RuntimeError("the process fell over mid-create")

    with pytest.raises(OutcomeUnknown):  # a bug mid-create: it may have reached Graph
        await ledger.once("k", crash, repeatable=False, ends=ENDS)

    assert (await storage.read(["request/k"]))["request/k"]["state"] == "unknown"
    with pytest.raises(OutcomeUnknown):
        await ledger.once("k", crash, repeatable=False, ends=ENDS)
    storage.close()


async def test_a_meeting_sealed_under_a_dropped_key_is_reported_unknown_not_made_again(
    tmp_path: Path,
) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    before = RequestLedger(
        storage, Fernet(Fernet.generate_key()), busy_after_seconds=60, keep_after_end_seconds=WEEK
    )
    after = RequestLedger(
        storage, Fernet(Fernet.generate_key()), busy_after_seconds=60, keep_after_end_seconds=WEEK
    )
    calls = 0

    async def create() -> OnlineMeeting:
        nonlocal calls
        calls += 1
        return a_meeting()

    await before.once("k", create, repeatable=False, ends=ENDS)
    with pytest.raises(OutcomeUnknown):
        await after.once("k", create, repeatable=False, ends=ENDS)

    assert calls == 1
    storage.close()


def test_stored_ledger_text_is_plain_json(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    ledger = RequestLedger(
        storage, Fernet(Fernet.generate_key()), busy_after_seconds=60, keep_after_end_seconds=WEEK
    )

    async def create() -> OnlineMeeting:
        return a_meeting()

    asyncio.run(ledger.once("k", create, repeatable=False, ends=ENDS))
    storage.close()
    [(text,)] = sqlite3.connect(tmp_path / "bot.sqlite3").execute("SELECT value FROM items")
    assert "py/" not in text


async def test_a_setting_changed_since_never_repeats_a_plain_create(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    ledger = RequestLedger(
        storage, Fernet(Fernet.generate_key()), busy_after_seconds=60, keep_after_end_seconds=WEEK
    )
    calls: list[str] = []

    async def lost() -> OnlineMeeting:
        calls.append("POST")
        raise GraphOutcomeUnknown("read timeout")

    async def create_or_get() -> OnlineMeeting:
        calls.append("createOrGet")
        return a_meeting()

    with pytest.raises(OutcomeUnknown):
        await ledger.once("k", lost, repeatable=False, ends=ENDS)
    # PASSCODE_POLICY=tenant now: createOrGet would not find what the plain POST made.
    with pytest.raises(OutcomeUnknown):
        await ledger.once("k", create_or_get, repeatable=True, ends=ENDS)
    assert calls == ["POST"]
    storage.close()


async def test_a_redelivery_never_strikes_the_answer_the_first_delivery_owes(
    tmp_path: Path,
) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    clock = Clock()
    outbox = Outbox(storage, Fernet(Fernet.generate_key()), clock=clock)
    ask = an_ask()

    first = await outbox.record(ask, None)
    second = await outbox.record(ask, None)  # Teams delivers the same message again
    assert first is not None
    assert second is None
    await outbox.done(ask, "someone else")

    clock.now += 3600  # the first process died; a later pass takes the entry over
    [owed] = await outbox.overdue(60)
    assert owed.ask == ask
    await outbox.done(ask, owed.owner)
    assert await outbox.overdue(0) == []
    storage.close()


async def test_an_answer_owed_after_a_sign_in_is_still_known_as_such_when_taken_over(
    tmp_path: Path,
) -> None:
    # A recovery then treats Graph refusing the fresh token as configuration, not a new sign-in.
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    clock = Clock()
    outbox = Outbox(storage, Fernet(Fernet.generate_key()), clock=clock)
    signed_in = an_ask()
    plain = dataclasses.replace(signed_in, subject="Retro", request_id="a:chat|activity-2")
    await outbox.record(signed_in, None, after_sign_in=True)
    await outbox.record(plain, None)

    clock.now += 3600  # the process that owed them died
    owed = {entry.ask.subject: entry.after_sign_in for entry in await outbox.overdue(60)}

    assert owed == {signed_in.subject: True, "Retro": False}
    storage.close()


async def test_a_success_whose_body_cannot_be_read_is_an_unknown_outcome(
    aiohttp_server: Any,
) -> None:
    async def created_but_garbled(request: web.Request) -> web.Response:
        return web.Response(status=201, text="<html>gateway</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/me/onlineMeetings", created_but_garbled)
    server = await aiohttp_server(app)
    async with open_client(timeout=httpx.Timeout(5.0), max_connections=2) as http:
        client = GraphClient(http, str(server.make_url("")).rstrip("/"))
        with pytest.raises(GraphOutcomeUnknown):
            await client.create_meeting(
                "token",
                OnlineMeetingRequest(
                    subject="Standup",
                    start=datetime(2026, 12, 1, 9, tzinfo=UTC),
                    end=datetime(2026, 12, 1, 10, tzinfo=UTC),
                    passcode_required=True,
                ),
            )


async def test_the_recovery_pass_forgets_requests_that_waited_too_long(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    clock = Clock()
    waiting = WaitingRequests(storage, Fernet(Fernet.generate_key()), clock=clock)
    await waiting.keep(an_ask(), for_sign_in=True)

    await waiting.sweep()
    assert len(await storage.keys("waiting/")) == 1
    clock.now += 24 * 3600 + 1
    await waiting.sweep()
    assert await storage.keys("waiting/") == []
    storage.close()


def test_a_meeting_an_earlier_version_recorded_with_more_fields_still_reads() -> None:
    earlier = {
        **MEETING_FIELDS,
        "chat_thread_id": "19:meeting_x",  # kept by an earlier version, no longer read
        "organizer_upn": "alex@example.com",
    }
    assert OnlineMeeting.from_fields(earlier) == a_meeting()


async def test_a_redelivery_after_its_creator_died_is_answered_later_as_promised(
    make_bot: MakeBot, connector: Connector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger, "CLAIM_WAIT_SECONDS", 0.2)
    clock = Clock()
    clock.now = time.time()
    bot = await make_bot(SKIP_CONFIRMATION="true", clock=clock)
    await sign_in(bot, connector)
    graph = bot.app[SANDBOX].graph
    same = activity("/meet Standup tomorrow 9am", service_url=connector.url)
    await post(bot, connector, same)
    # Rewind its record to the claim a process that died right after calling Graph leaves.
    storage = bot.app[STORAGE]
    [key] = await storage.keys("request/")
    record = (await storage.read([key]))[key]
    del record["e_tag"]
    await storage.write({key: {**record, "state": "creating", "since": clock.now}})

    [note] = await post(bot, connector, same)  # Teams delivers it again
    assert "I'll post what happened here" in note["text"]
    clock.now += bot.app[SETTINGS].create_deadline_seconds + 1
    await bot.app[BOT].recover(bot.app[ADAPTER], bot.app[SETTINGS].create_deadline_seconds)

    [answer] = connector.updates
    assert answer["id"] == note["id"]  # in place of the promise
    assert "can't tell whether" in texts([answer])
    assert len(graph.meetings()) == 1  # never created again
    assert await storage.keys("outbox/") == []
