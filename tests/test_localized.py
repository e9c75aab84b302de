"""Replies and cards in the sender's language, from their Teams locale, over /api/messages."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sandbox.graph import SandboxGraph
from tests.conftest import (
    ALEX,
    BotClient,
    Connector,
    card_of,
    facts_of,
    press,
    say,
    sign_in,
    titles,
)


@pytest.fixture(autouse=True)
async def signed_in(bot: BotClient, connector: Connector) -> None:
    await sign_in(bot, connector, ALEX)


def cards_sent(connector: Connector) -> list[dict[str, Any]]:
    return [
        attachment["content"]
        for activity in connector.activities + connector.updates
        for attachment in activity.get("attachments") or []
    ]


async def test_a_german_users_request_and_meeting_are_german_with_24_hour_times(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 3pm for 45m", locale="de-DE")

    card = card_of(confirmation)
    assert card["lang"] == "de"
    assert card["body"][0]["text"] == "Diese Besprechung erstellen?"
    facts = facts_of(card)
    assert "15:00 – 15:45 (Europe/Berlin)" in facts["Wann"]
    assert facts["Dauer"] == "45 Min."
    assert titles(card) == ["Erstellen", "Ändern", "Abbrechen"]

    meeting = await press(bot, connector, confirmation, "Erstellen", locale="de-DE")

    assert meeting["lang"] == "de"
    assert meeting["body"][0]["text"] == "Standup"
    assert "15:00 – 15:45 (Europe/Berlin)" in meeting["body"][1]["text"]
    assert {"Besprechungs-ID", "Kennung", "Einwahl"} <= set(facts_of(meeting))
    assert titles(meeting) == ["An Besprechung teilnehmen"]
    # Graph writes the meeting's join information in the same language.
    assert sandbox_graph.requests[-1].headers["Accept-Language"] == "de-DE"


async def test_an_american_users_meeting_reads_12_hour_times(
    bot: BotClient, connector: Connector
) -> None:
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 3pm for 45m", locale="en-US")
    assert "3:00 PM – 3:45 PM (Europe/Berlin)" in facts_of(card_of(confirmation))["When"]

    meeting = await press(bot, connector, confirmation, "Create", locale="en-US")

    assert meeting["lang"] == "en"
    assert "3:00 PM – 3:45 PM (Europe/Berlin)" in meeting["body"][1]["text"]
    assert titles(meeting) == ["Join meeting"]


async def test_a_language_the_bot_does_not_speak_gets_english(
    bot: BotClient, connector: Connector
) -> None:
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 3pm", locale="pt-BR")
    card = card_of(confirmation)
    assert card["lang"] == "en"
    assert card["body"][0]["text"] == "Create this meeting?"
    assert "3:00 PM – 3:30 PM" in facts_of(card)["When"]


async def test_a_request_error_is_explained_in_the_users_language(
    bot: BotClient, connector: Connector
) -> None:
    [german] = await say(bot, connector, "/meet Offsite Friday", locale="de-DE")
    [french] = await say(bot, connector, "/meet Offsite Friday", locale="fr-FR")
    [japanese] = await say(bot, connector, "/meet Sync 2026-02-30", locale="ja-JP")

    # The day is written as the locale writes it ("Fr., 4. Dez."), the examples in its words.
    assert german["text"].startswith("Um wie viel Uhr am Fr., ")
    assert german["text"].endswith("zum Beispiel „Freitag 14 Uhr“ oder „morgen 10:30“.")
    assert french["text"].startswith("À quelle heure le ven. ")
    assert japanese["text"] == "2026-02-30 は読み取れる日付ではありません。"


async def test_the_german_dialog_asks_in_german_and_reads_its_own_quick_answers(
    bot: BotClient, connector: Connector
) -> None:
    [subject_question] = await say(bot, connector, "/meet", locale="de-DE")
    assert subject_question["text"] == "Worum geht es in der Besprechung?"

    [start_question] = await say(bot, connector, "Standup", locale="de-DE")
    card = card_of(start_question)
    assert card["lang"] == "de"
    assert card["body"][0]["text"] == "Wann soll „Standup“ beginnen?"
    [quick] = [element for element in card["body"] if element["type"] == "ActionSet"]
    tomorrow = quick["actions"][2]
    assert tomorrow["title"] == "Morgen 9:00"
    # What the button answers is what the parser reads.
    assert tomorrow["data"] == {"answer": "Tomorrow 9:00", "shown": "Morgen 9:00"}

    [length_question] = await say(
        bot, connector, "", value=tomorrow["data"], reply_to_id=start_question["id"], locale="de-DE"
    )
    assert card_of(length_question)["body"][0]["text"] == "Wie lange?"
    closed = connector.updates[-1]
    assert card_of(closed)["body"][-1]["text"] == "✓ Morgen 9:00"

    [confirmation] = await say(bot, connector, "30", locale="de-DE")
    facts = facts_of(card_of(confirmation))
    assert "09:00 – 09:30 (Europe/Berlin)" in facts["Wann"]
    assert facts["Dauer"] == "30 Min."


async def test_every_card_names_its_language(bot: BotClient, connector: Connector) -> None:
    await say(bot, connector, "/help", locale="ja-JP")
    await say(bot, connector, "/meet", locale="es-ES")
    await say(bot, connector, "Standup", locale="es-ES")
    await say(bot, connector, "cancel", locale="es-ES")
    await say(bot, connector, "/meet Standup tomorrow 3pm", locale="fr-FR")

    cards = cards_sent(connector)
    assert len(cards) >= 4
    assert all(card["lang"] in ("ja", "es", "fr", "en") for card in cards)
    assert {card["lang"] for card in cards} >= {"ja", "es", "fr"}


async def test_timezone_answers_in_the_users_language_and_clock(
    bot: BotClient, connector: Connector
) -> None:
    [german] = await say(bot, connector, "/timezone Berlin", locale="de-DE")
    [american] = await say(bot, connector, "/timezone Berlin", locale="en-US")

    assert re.fullmatch(
        r"Ihre Zeitzone ist jetzt Europe/Berlin, dort ist es [0-9]{2}:[0-9]{2}\. "
        r"Ich lese und zeige Ihre Besprechungszeiten in dieser Zone\.",
        german["text"],
    )
    assert re.match(
        r"Your time zone is now Europe/Berlin, where it's [0-9]{1,2}:[0-9]{2} [AP]M\.",
        american["text"],
    )
