"""The create-meeting dialog over /api/messages: only what is missing is asked, then confirmed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.web.keys import SANDBOX
from sandbox.graph import SandboxGraph
from tests.conftest import (
    ALEX,
    MEGAN,
    BotClient,
    Connector,
    MakeBot,
    card_of,
    facts_of,
    form_inputs,
    press,
    say,
    sign_in,
    titles,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
async def signed_in(bot: BotClient, connector: Connector) -> None:
    for user in (ALEX, MEGAN):
        await sign_in(bot, connector, user)


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    day = datetime.now(BERLIN).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def text_of(reply: dict[str, Any]) -> str:
    return str(reply.get("text") or "")


def question_of(reply: dict[str, Any]) -> str:
    """The question a question card asks."""
    return str(card_of(reply)["body"][0]["text"])


def answers(reply: dict[str, Any]) -> list[str]:
    """A question card's quick answers: the buttons that answer as if typed."""
    card = card_of(reply)
    found = [*card["actions"]]
    for element in card["body"]:
        found.extend(element.get("actions", []))
    return [a["title"] for a in found if "answer" in a.get("data", {})]


def is_confirmation(reply: dict[str, Any]) -> bool:
    return bool(reply.get("attachments")) and card_of(reply)["body"][0]["text"] == (
        "Create this meeting?"
    )


async def test_meet_alone_asks_for_everything_then_confirms_and_creates(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [subject_question] = await say(bot, connector, "/meet")
    assert text_of(subject_question) == "What is the meeting about?"

    [start_question] = await say(bot, connector, "Design review")
    assert question_of(start_question) == "When should “Design review” start?"
    assert answers(start_question) == ["Now", "In 15 minutes", "Tomorrow 9:00"]
    inputs = form_inputs(card_of(start_question))
    assert [e["type"] for e in inputs] == ["Input.Date", "Input.Time"]
    assert titles(card_of(start_question)) == ["Use this time"]

    [length_question] = await say(bot, connector, "tomorrow 3pm")
    assert question_of(length_question) == "How long?"
    assert answers(length_question) == ["15 min", "30 min", "45 min", "60 min"]

    [confirmation] = await say(bot, connector, "45m")
    card = card_of(confirmation)
    assert card["body"][1]["text"] == "Design review"
    start = tomorrow_at(15)
    assert facts_of(card)["When"] == (
        f"{start:%a}, {start:%b} {start.day}, {start:%Y}, 3:00 PM – 3:45 PM (Europe/Berlin)"
    )
    assert [a["title"] for a in card["actions"]] == ["Create", "Change", "Cancel"]
    assert sandbox_graph.meetings() == []

    shown = await press(bot, connector, confirmation, "Create")

    assert shown["body"][0]["text"] == "Design review"
    # The confirmation card became the meeting: no new message, no buttons left but Join.
    assert card_of(connector.updates[-1]) == shown
    assert connector.updates[-1]["id"] == confirmation["id"]
    [meeting] = sandbox_graph.meetings()
    assert datetime.fromisoformat(meeting["startDateTime"]) == start
    assert datetime.fromisoformat(meeting["endDateTime"]) == start + timedelta(minutes=45)


async def test_a_complete_command_asks_nothing_and_goes_straight_to_confirmation(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 9am for 15m")
    assert is_confirmation(confirmation)
    assert facts_of(card_of(confirmation))["Length"] == "15 min"

    assert await say(bot, connector, "create") == []  # typed: the card itself changes
    assert card_of(connector.updates[-1])["body"][0]["text"] == "Standup"
    assert connector.updates[-1]["id"] == confirmation["id"]
    assert len(sandbox_graph.meetings()) == 1


async def test_subject_and_time_without_a_length_use_the_default(
    bot: BotClient, connector: Connector
) -> None:
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 9am")
    assert facts_of(card_of(confirmation))["Length"] == "30 min"


async def test_skip_confirmation_creates_a_complete_command_at_once(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(SKIP_CONFIRMATION="true")  # same data folder: Alex is signed in
    [reply] = await say(bot, connector, "/meet Standup tomorrow 9am for 15m")
    assert card_of(reply)["body"][0]["text"] == "Standup"


async def test_only_the_subject_is_asked_when_only_it_is_missing(
    bot: BotClient, connector: Connector
) -> None:
    [question] = await say(bot, connector, "/meet tomorrow 10am for 1h")
    assert text_of(question) == "What is the meeting about?"
    [confirmation] = await say(bot, connector, "Planning")
    assert is_confirmation(confirmation)
    assert card_of(confirmation)["body"][1]["text"] == "Planning"


async def test_quick_choice_now_then_a_suggested_length(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    await say(bot, connector, "/meet Standup")
    await say(bot, connector, "Now")
    [confirmation] = await say(bot, connector, "15 min")
    assert facts_of(card_of(confirmation))["Length"] == "15 min"
    await press(bot, connector, confirmation, "Create")
    [meeting] = sandbox_graph.meetings()
    start = datetime.fromisoformat(meeting["startDateTime"])
    assert abs(start - datetime.now(BERLIN)) < timedelta(minutes=1)


async def test_the_date_and_time_form_answers_the_start_question(
    bot: BotClient, connector: Connector
) -> None:
    await say(bot, connector, "/meet Standup")
    start = tomorrow_at(11, 30)
    [length_question] = await say(
        bot, connector, "", value={"date": f"{start:%Y-%m-%d}", "time": "11:30"}
    )
    assert question_of(length_question) == "How long?"
    [confirmation] = await say(bot, connector, "30")
    assert "11:30 AM – 12:00 PM" in facts_of(card_of(confirmation))["When"]


async def test_invalid_answers_are_asked_again_with_a_hint_three_times_at_most(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    await say(bot, connector, "/meet Standup")

    first = await say(bot, connector, "whenever suits")
    second = await say(bot, connector, "2020-01-01T10:00")
    third = await say(bot, connector, "soonish")
    after = await say(bot, connector, "tomorrow 10am")

    assert "couldn't read a start time" in text_of(first[-1])
    assert "already passed" in text_of(second[0])
    assert "nothing was created" in text_of(third[-1])
    assert text_of(after[0]).startswith("I don't know")  # the dialog is over
    assert sandbox_graph.meetings() == []


@pytest.mark.parametrize("word", ["cancel", "/cancel", "Cancel"])
async def test_cancel_works_at_any_step(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph, word: str
) -> None:
    await say(bot, connector, "/meet")
    await say(bot, connector, "Retro")
    [reply] = await say(bot, connector, word)
    assert text_of(reply) == "Cancelled. Nothing was created."
    [after] = await say(bot, connector, "tomorrow 3pm")
    assert text_of(after).startswith("I don't know")
    assert sandbox_graph.meetings() == []


async def test_cancel_on_the_confirmation_card(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 9am")
    shown = await press(bot, connector, confirmation, "Cancel")
    assert shown["body"][-1]["text"] == "Cancelled. Nothing was created."
    assert shown["actions"] == []
    assert card_of(connector.updates[-1]) == shown
    assert sandbox_graph.meetings() == []
    assert await say(bot, connector, "cancel") == [
        *connector.activities[-1:]
    ]  # typed afterwards: nothing to cancel
    assert text_of(connector.activities[-1]) == "There is nothing to cancel."


async def test_help_in_the_middle_answers_and_asks_the_question_again(
    bot: BotClient, connector: Connector
) -> None:
    await say(bot, connector, "/meet Standup")
    [first] = connector.activities[-1:]
    help_card, question = await say(bot, connector, "help")
    assert "I create Teams meetings" in card_of(help_card)["body"][0]["text"]
    assert question_of(question) == "When should “Standup” start?"
    [closed] = connector.updates  # the question asked before help has no buttons left
    assert closed["id"] == first["id"]
    assert card_of(closed)["actions"] == []


async def test_change_turns_the_confirmation_into_the_form(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 9am for 15m")
    form = await press(bot, connector, confirmation, "Change")
    inputs = {e["id"]: e.get("value") for e in form_inputs(form)}
    assert inputs["subject"] == "Standup"
    assert inputs["time"] == "09:00"
    assert inputs["minutes"] == "15"
    assert titles(form) == ["Create", "Cancel"]

    confirmation["attachments"][0]["content"] = form  # what the chat now shows
    wrong = await press(bot, connector, confirmation, "Create", inputs={"subject": " "})
    assert wrong["body"][1]["text"] == "Give the meeting a subject."
    assert sandbox_graph.meetings() == []

    shown = await press(
        bot, connector, confirmation, "Create", inputs={"time": "11:00", "minutes": "60"}
    )
    assert shown["body"][0]["text"] == "Standup"
    [meeting] = sandbox_graph.meetings()
    assert datetime.fromisoformat(meeting["startDateTime"]) == tomorrow_at(11)
    assert datetime.fromisoformat(meeting["endDateTime"]) == tomorrow_at(12)


async def test_a_new_meet_replaces_an_unfinished_one(bot: BotClient, connector: Connector) -> None:
    await say(bot, connector, "/meet")
    [confirmation] = await say(bot, connector, "/meet Sync tomorrow 4pm")
    assert card_of(confirmation)["body"][1]["text"] == "Sync"


async def test_pressing_create_again_shows_the_same_meeting_and_adds_no_message(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 9am")
    first = await press(bot, connector, confirmation, "Create")
    sent = len(connector.activities)
    again = [await press(bot, connector, confirmation, "Create") for _ in range(3)]
    assert again == [first] * 3
    assert len(connector.activities) == sent
    assert len(sandbox_graph.meetings()) == 1


async def test_a_client_without_universal_actions_submits_and_the_card_changes_in_place(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 9am")
    [create] = [a for a in card_of(confirmation)["actions"] if a["title"] == "Create"]
    submitted = create["fallback"]
    assert submitted["type"] == "Action.Submit"
    replies = await say(bot, connector, "", value=submitted["data"], reply_to_id=confirmation["id"])
    assert replies == []
    assert card_of(connector.updates[-1])["body"][0]["text"] == "Standup"
    assert len(sandbox_graph.meetings()) == 1


async def test_passcode_is_asked_when_the_policy_says_ask(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(PASSCODE_POLICY="ask")  # same data folder: Alex is signed in
    await say(bot, connector, "/meet Standup")
    await say(bot, connector, "tomorrow 9am")
    [question] = await say(bot, connector, "30m")
    assert question_of(question) == "Should people need a passcode to join?"
    assert answers(question) == ["Yes", "No"]
    [confirmation] = await say(bot, connector, "No")
    assert facts_of(card_of(confirmation))["Passcode"] == "none"
    shown = await press(bot, connector, confirmation, "Create")
    assert "Passcode" not in facts_of(shown)


async def test_two_people_in_one_conversation_have_their_own_dialogs(
    bot: BotClient, connector: Connector
) -> None:
    chat = "19:group-chat@thread.v2"
    await say(bot, connector, "/meet", user=ALEX, conversation_id=chat)
    await say(bot, connector, "/meet", user=MEGAN, conversation_id=chat)

    [to_alex] = await say(bot, connector, "Alex's sync", user=ALEX, conversation_id=chat)
    [to_megan] = await say(bot, connector, "Megan's review", user=MEGAN, conversation_id=chat)

    assert "Alex's sync" in question_of(to_alex)
    assert "Megan's review" in question_of(to_megan)


async def test_a_restart_in_the_middle_continues_where_it_was(
    make_bot: MakeBot, connector: Connector
) -> None:
    first = await make_bot()
    await say(first, connector, "/meet")
    [start_question] = await say(first, connector, "Restart-proof sync")
    await first.close()

    second = await make_bot()
    [length_question] = await say(second, connector, "tomorrow 2pm")
    assert question_of(length_question) == "How long?"
    [closed] = connector.updates  # the open question card is remembered across the restart
    assert closed["id"] == start_question["id"]
    [confirmation] = await say(second, connector, "45m")
    assert card_of(confirmation)["body"][1]["text"] == "Restart-proof sync"


async def test_pressing_quick_answers_answers_the_questions(
    bot: BotClient, connector: Connector
) -> None:
    [start_question] = await say(bot, connector, "/meet Standup")
    [length_question] = await say(
        bot, connector, "", value={"answer": "Tomorrow 9:00"}, reply_to_id=start_question["id"]
    )
    assert question_of(length_question) == "How long?"
    # A second press on the start card, closed with its answer already: nothing changes and
    # the length question stays open.
    closed = connector.updates[-1]
    assert closed["id"] == start_question["id"]
    assert card_of(closed)["actions"] == []
    stale = await say(bot, connector, "", value={"answer": "Now"}, reply_to_id=start_question["id"])
    assert stale == []
    assert connector.updates[-1] == closed
    [confirmation] = await say(
        bot, connector, "", value={"answer": "30 min"}, reply_to_id=length_question["id"]
    )
    assert is_confirmation(confirmation)
    assert "9:00 AM – 9:30 AM" in facts_of(card_of(confirmation))["When"]


async def test_a_quick_answer_on_the_start_card_wins_over_its_date_and_time(
    bot: BotClient, connector: Connector
) -> None:
    await say(bot, connector, "/meet Standup")
    # A client that sends the card's inputs with every button.
    later = tomorrow_at(16)
    await say(
        bot,
        connector,
        "",
        value={"answer": "Tomorrow 9:00", "date": f"{later:%Y-%m-%d}", "time": "16:00"},
    )
    [confirmation] = await say(bot, connector, "15m")
    assert "9:00 AM – 9:15 AM" in facts_of(card_of(confirmation))["When"]


async def test_an_answered_question_card_is_closed_in_place_without_buttons(
    bot: BotClient, connector: Connector
) -> None:
    [start_question] = await say(bot, connector, "/meet Standup")
    [length_question] = await say(bot, connector, "tomorrow 3pm")

    [closed_start] = connector.updates
    assert closed_start["id"] == start_question["id"]
    assert [b["text"] for b in card_of(closed_start)["body"]] == [
        "When should “Standup” start?",
        "✓ tomorrow 3pm",
    ]
    assert card_of(closed_start)["actions"] == []

    await say(bot, connector, "", value={"answer": "45 min"}, reply_to_id=length_question["id"])

    closed_length = connector.updates[1]
    assert closed_length["id"] == length_question["id"]
    assert [b["text"] for b in card_of(closed_length)["body"]] == ["How long?", "✓ 45 min"]
    assert card_of(closed_length)["actions"] == []


async def test_a_picked_date_and_time_closes_the_start_card_with_them(
    bot: BotClient, connector: Connector
) -> None:
    await say(bot, connector, "/meet Standup")
    start = tomorrow_at(11, 30)
    await say(bot, connector, "", value={"date": f"{start:%Y-%m-%d}", "time": "11:30"})
    [closed] = connector.updates
    assert card_of(closed)["body"][-1]["text"] == f"✓ {start:%a}, {start:%b} {start.day}, 11:30 AM"


async def test_a_wrong_answer_leaves_the_question_card_open(
    bot: BotClient, connector: Connector
) -> None:
    await say(bot, connector, "/meet Standup")
    await say(bot, connector, "whenever suits")
    assert connector.updates == []


async def test_typed_cancel_closes_the_open_question_card(
    bot: BotClient, connector: Connector
) -> None:
    [start_question] = await say(bot, connector, "/meet Standup")
    await say(bot, connector, "cancel")
    [closed] = connector.updates
    assert closed["id"] == start_question["id"]
    assert card_of(closed)["body"][-1]["text"] == "Cancelled."
    assert card_of(closed)["actions"] == []


async def test_a_new_meet_closes_the_open_question_card(
    bot: BotClient, connector: Connector
) -> None:
    [start_question] = await say(bot, connector, "/meet Standup")
    await say(bot, connector, "/meet Sync tomorrow 4pm")
    [closed] = connector.updates
    assert closed["id"] == start_question["id"]
    assert card_of(closed)["body"][-1]["text"] == "Replaced by a newer request."


async def test_giving_up_closes_the_question_card(bot: BotClient, connector: Connector) -> None:
    await say(bot, connector, "/meet Standup")
    for _ in range(3):
        await say(bot, connector, "soonish")
    [closed] = connector.updates
    assert card_of(closed)["body"][-1]["text"] == "Not answered."


async def test_an_old_question_cards_yes_does_not_create_the_meeting(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(PASSCODE_POLICY="ask")  # same data folder: Alex is signed in
    await say(bot, connector, "/meet Sync")
    [passcode_question] = await say(bot, connector, "tomorrow 10am for 30m")
    yes = {"value": {"answer": "Yes"}, "reply_to_id": passcode_question["id"]}
    [confirmation] = await say(bot, connector, "", **yes)
    assert is_confirmation(confirmation)

    closed = connector.updates[-1]  # the question card, with its answer and no buttons
    assert closed["id"] == passcode_question["id"]

    assert await say(bot, connector, "", **yes) == []  # pressed again, on a client showing it

    assert bot.app[SANDBOX].graph.meetings() == []
    assert connector.updates[-1] == closed  # unchanged: it keeps the answer it got


async def test_no_plain_text_message_shows_markdown(bot: BotClient, connector: Connector) -> None:
    await say(bot, connector, "/meet")
    await say(bot, connector, "Standup")
    await say(bot, connector, "help")
    await say(bot, connector, "whenever")
    await say(bot, connector, "cancel")
    await say(bot, connector, "cancel")
    await say(bot, connector, "/lunch")
    await say(bot, connector, "/meet Standup")
    for word in ("soonish", "later", "whenever"):
        await say(bot, connector, word)

    texts = [a["text"] for a in connector.activities if a.get("text")]
    assert len(texts) >= 8
    assert not [text for text in texts if "**" in text]


async def test_a_command_is_read_in_the_users_language(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(SKIP_CONFIRMATION="true")  # same data folder: Alex is signed in
    await say(bot, connector, "/meet Abstimmung morgen um 15 Uhr für 45 Minuten", locale="de-DE")
    [meeting] = bot.app[SANDBOX].graph.meetings()
    assert meeting["subject"] == "Abstimmung"
    assert datetime.fromisoformat(meeting["startDateTime"]) == tomorrow_at(15)
    assert datetime.fromisoformat(meeting["endDateTime"]) == tomorrow_at(15, 45)


async def test_the_dialog_reads_answers_in_the_users_language(
    bot: BotClient, connector: Connector
) -> None:
    await say(bot, connector, "/meet Point hebdo", locale="fr-FR")
    [length_question] = await say(bot, connector, "demain à 15h", locale="fr-FR")
    assert length_question.get("attachments")  # the next question, not a retry's hint
    [confirmation] = await say(bot, connector, "trois quarts d'heure", locale="fr-FR")
    shown = str(card_of(confirmation))
    assert "15:00" in shown
    assert "15:45" in shown
