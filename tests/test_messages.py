"""One-shot /meet end to end: HTTP into /api/messages, CloudAdapter, sandbox Graph, connector."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.web.keys import STORAGE
from sandbox.graph import SandboxGraph
from tests.conftest import (
    ALEX,
    NO_AUDIO,
    UNLICENSED,
    BotClient,
    Connector,
    MakeBot,
    activity,
    card_of,
    facts_of,
    say,
    sign_in,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def bot(make_bot: MakeBot) -> BotClient:
    """Complete commands create at once, and Graph's first answer is final, here: the
    confirmation step and retries have their own tests."""
    return await make_bot(SKIP_CONFIRMATION="true", GRAPH_RETRY_BUDGET_SECONDS="0")


@pytest.fixture(autouse=True)
async def signed_in(bot: BotClient, connector: Connector) -> None:
    """These tests are about meetings, so their users have signed in already (for real)."""
    for user in (ALEX, NO_AUDIO, UNLICENSED):
        await sign_in(bot, connector, user)


async def test_meet_replies_with_the_meeting_card(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [reply] = await say(bot, connector, "/meet Standup now")

    [meeting] = sandbox_graph.meetings()
    card = card_of(reply)
    assert float(card["version"]) <= 1.5
    assert card["body"][0]["text"] == "Standup"
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Join meeting", "url": meeting["joinWebUrl"]}
    ]
    facts = facts_of(card)
    settings = meeting["joinMeetingIdSettings"]
    assert facts["Meeting ID"].replace(" ", "") == settings["joinMeetingId"]
    assert facts["Meeting ID"].count(" ") == 4  # 13 digits read in threes
    assert facts["Passcode"] == settings["passcode"]  # the default policy asks for one
    assert facts["Dial in"] == meeting["audioConferencing"]["tollNumber"]
    assert (
        facts["Phone conference ID"].replace(" ", "")
        == meeting["audioConferencing"]["conferenceId"] + "#"
    )
    assert reply["summary"].startswith("Standup, ")
    assert card["fallbackText"] == reply["summary"]
    assert reply["conversation"]["id"] == "a:personal-chat"


async def test_meeting_starts_now_for_the_default_length_with_the_requester_as_organizer(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    before = datetime.now(UTC)
    await say(bot, connector, "/meet Standup now")

    [meeting] = sandbox_graph.meetings()
    start = datetime.fromisoformat(meeting["startDateTime"])
    end = datetime.fromisoformat(meeting["endDateTime"])
    assert before - timedelta(seconds=1) <= start <= datetime.now(UTC)
    assert end - start == timedelta(minutes=30)
    assert meeting["participants"]["organizer"]["identity"]["user"]["id"] == ALEX.oid
    assert sandbox_graph.requests[-1].path.endswith("/v1.0/me/onlineMeetings")


@pytest.mark.parametrize(
    "text",
    ["meet Standup now", "MEET Standup now", "/Meet   Standup  NOW", "  /meet Standup now  "],
)
async def test_command_works_with_or_without_slash_in_any_case(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph, text: str
) -> None:
    [reply] = await say(bot, connector, text)
    assert card_of(reply)["body"][0]["text"] == "Standup"
    assert len(sandbox_graph.meetings()) == 1


async def test_iso_time_and_length_are_read_in_the_users_time_zone(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    day = (datetime.now(BERLIN) + timedelta(days=3)).date()
    [reply] = await say(bot, connector, f"/meet Sync {day.isoformat()}T10:00 45m")

    [meeting] = sandbox_graph.meetings()
    start = datetime(day.year, day.month, day.day, 10, 0, tzinfo=BERLIN)
    assert datetime.fromisoformat(meeting["startDateTime"]) == start
    assert datetime.fromisoformat(meeting["endDateTime"]) == start + timedelta(minutes=45)
    assert meeting["subject"] == "Sync"
    when = card_of(reply)["body"][1]["text"]
    assert (
        when == f"{start:%a}, {start:%b} {day.day}, {start:%Y}, 10:00 AM – 10:45 AM (Europe/Berlin)"
    )


async def test_users_locale_is_sent_to_graph_as_accept_language(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    await say(bot, connector, "/meet Standup now", locale="fr-FR")
    assert sandbox_graph.requests[-1].headers["Accept-Language"] == "fr-FR"


async def test_client_without_a_time_zone_falls_back_to_the_configured_default(
    bot: BotClient, connector: Connector
) -> None:
    [reply] = await say(bot, connector, "/meet Standup now", timezone=None)
    assert card_of(reply)["body"][1]["text"].endswith("(UTC)")


async def test_organizer_without_audio_conferencing_gets_a_note_instead_of_dial_in(
    bot: BotClient, connector: Connector
) -> None:
    [reply] = await say(bot, connector, "/meet Standup now", user=NO_AUDIO)

    card = card_of(reply)
    assert "Dial in" not in facts_of(card)
    assert any("No dial-in" in e.get("text", "") for e in card["body"])


# -- errors reach the user as one line, with the request-id, and nothing is created ------------


def assert_one_friendly_line(reply: dict[str, Any]) -> str:
    text: str = reply["text"]
    assert "attachments" not in reply or not reply["attachments"]
    assert "\n" not in text
    assert "Traceback" not in text
    assert "{" not in text
    assert "eyJ" not in text  # no JWT
    return text


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "rejected the meeting details"),
        (403, "don't have permission"),
        (404, "couldn't find"),
        (409, "conflict"),
    ],
)
async def test_graph_errors_become_one_line_with_the_request_id(
    bot: BotClient,
    connector: Connector,
    sandbox_graph: SandboxGraph,
    status: int,
    expected: str,
) -> None:
    sandbox_graph.faults.fail_next(status)

    [reply] = await say(bot, connector, "/meet Standup now")

    text = assert_one_friendly_line(reply)
    assert expected in text
    assert f"request-id {sandbox_graph.requests[-1].request_id}" in text
    assert sandbox_graph.meetings() == []


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (429, "7", "busy right now. No meeting was created. Please try again in 7 seconds."),
        (429, None, "busy right now. No meeting was created. Please try again shortly."),
    ],
)
async def test_a_busy_graph_gets_one_line_and_a_retry_button_that_keeps_the_request(
    bot: BotClient,
    connector: Connector,
    sandbox_graph: SandboxGraph,
    status: int,
    retry_after: str | None,
    expected: str,
) -> None:
    sandbox_graph.faults.fail_next(status, retry_after=retry_after)

    [reply] = await say(bot, connector, "/meet Standup tomorrow 9am")

    card = card_of(reply)
    problem = card["body"][0]["text"]
    assert expected in problem
    assert f"request-id {sandbox_graph.requests[-1].request_id}" in problem
    assert "\n" not in problem
    [retry] = card["actions"]
    assert retry["title"] == "Retry"
    assert sandbox_graph.meetings() == []

    replies = await say(bot, connector, "", value=retry["data"], reply_to_id="retry-card")

    assert replies == []  # the Retry card itself becomes the meeting card
    [update] = connector.updates
    assert card_of(update)["body"][0]["text"] == "Standup"
    assert len(sandbox_graph.meetings()) == 1


async def test_missing_access_policy_is_explained_for_the_admin(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    sandbox_graph.faults.fail_next(
        403, code="Forbidden", message="No application access policy found for this app."
    )
    [reply] = await say(bot, connector, "/meet Standup now")
    assert "application access policy" in assert_one_friendly_line(reply)


async def test_unlicensed_user_is_told_why(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [reply] = await say(bot, connector, "/meet Standup now", user=UNLICENSED)

    text = assert_one_friendly_line(reply)
    assert "work or school account with a Teams licence" in text
    assert f"request-id {sandbox_graph.requests[-1].request_id}" in text


async def test_chat_account_without_an_entra_identity_is_told_why(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [reply] = await say(bot, connector, "/meet Standup now", user=None)

    assert "work or school accounts" in assert_one_friendly_line(reply)
    assert sandbox_graph.requests == []


async def test_start_in_the_past_is_refused_before_graph_is_called(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [reply] = await say(bot, connector, "/meet Retro 2020-01-01T10:00 30m")

    assert "already passed" in assert_one_friendly_line(reply)
    assert sandbox_graph.requests == []


async def test_meet_without_a_subject_asks_for_one(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [reply] = await say(bot, connector, "/meet")
    assert "What is the meeting about?" in reply["text"]
    assert sandbox_graph.requests == []


async def test_unknown_command_gets_a_hint(bot: BotClient, connector: Connector) -> None:
    [reply] = await say(bot, connector, "/schedule lunch")
    assert reply["text"].startswith("I don't know 'schedule'.")
    assert "/help" in reply["text"]


async def test_help_lists_the_meet_command(bot: BotClient, connector: Connector) -> None:
    [reply] = await say(bot, connector, "/help")
    commands = facts_of(card_of(reply))
    assert "/meet Design review tomorrow 3pm for 45m" in commands
    assert {"/meet", "cancel", "/signin", "/signout", "/help"} <= set(commands)


# -- the HTTP edge ------------------------------------------------------------------------------


async def test_healthz_reports_sandbox_mode_and_version(bot: BotClient) -> None:
    response = await bot.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["mode"] == "sandbox"
    assert body["status"] == "ok"
    assert body["version"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'["a list"]', "application/json", 400),
        (b'{"text": "no type"}', "application/json", 400),
        (b'{"type": "message"}', "text/plain", 415),
        (b"", "application/json", 400),
    ],
)
async def test_broken_requests_get_a_clean_4xx(
    bot: BotClient, body: bytes, content_type: str, status: int
) -> None:
    response = await bot.post("/api/messages", data=body, headers={"Content-Type": content_type})
    assert response.status == status
    assert "error" in await response.json()


async def test_oversized_activity_is_refused(bot: BotClient, connector: Connector) -> None:
    payload = activity("/meet " + "x" * 300_000, service_url=connector.url)
    before = len(connector.activities)
    response = await bot.post("/api/messages", json=payload)
    assert response.status == 413
    assert len(connector.activities) == before


async def test_a_meet_takes_four_storage_round_trips(
    bot: BotClient, connector: Connector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One read for what most turns need, the sender's tokens, and the request's claim and
    # outcome: every round trip is one more wait on the database (several, on a shared one).
    # Even a chat's first turn: one that leaves no dialog running stores no dialog state.
    storage = bot.app[STORAGE]
    trips: list[str] = []

    def counted(name: str) -> Callable[..., Any]:
        call = getattr(storage, name)

        def run(*args: Any) -> Any:
            trips.append(name)
            return call(*args)

        return run

    for name in ("_read", "_write", "_create", "_delete", "_delete_if", "_keys", "_expired"):
        monkeypatch.setattr(storage, name, counted(name))

    [reply] = await say(bot, connector, "/meet Standup tomorrow 9am")

    assert card_of(reply)["body"][0]["text"] == "Standup"
    assert sorted(trips) == ["_create", "_read", "_read", "_write"]
