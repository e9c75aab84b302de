"""Every quick answer is also a button on a card, for clients that don't show suggested actions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.cards import ADAPTIVE_CARD_VERSION
from sandbox.graph import SandboxGraph
from tests.conftest import BotClient, Connector, MakeBot, card_of, facts_of, say, sign_in

BERLIN = ZoneInfo("Europe/Berlin")


def buttons(reply: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The card's buttons that answer as if typed (Teams' imBack), by title."""
    return {
        action["title"]: action
        for action in card_of(reply)["actions"]
        if action.get("data", {}).get("msteams", {}).get("type") == "imBack"
    }


def suggestions(reply: dict[str, Any]) -> list[str]:
    return [action["title"] for action in reply["suggestedActions"]["actions"]]


@pytest.fixture
async def bot(make_bot: MakeBot, connector: Connector) -> BotClient:
    bot = await make_bot(PASSCODE_POLICY="ask")
    await sign_in(bot, connector)
    return bot


async def test_every_quick_answer_is_offered_both_ways(
    bot: BotClient, connector: Connector
) -> None:
    [when] = await say(bot, connector, "/meet Budget")
    [how_long] = await say(bot, connector, "tomorrow 10am")
    [passcode] = await say(bot, connector, "45 min")

    for question in (when, how_long, passcode):
        card = card_of(question)
        assert card["version"] == ADAPTIVE_CARD_VERSION
        assert list(buttons(question)) == suggestions(question)
        for title, button in buttons(question).items():
            assert button["data"]["msteams"]["value"] == title
    assert suggestions(how_long) == ["15 min", "30 min", "45 min", "1 h"]
    assert suggestions(passcode) == ["Yes", "No"]
    # On the date and time form, a quick answer doesn't send the form's fields along.
    assert all(b["associatedInputs"] == "none" for b in buttons(when).values())


async def test_buttons_pressed_in_a_client_that_submits_their_data_answer_each_question(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [when] = await say(bot, connector, "/meet Budget")
    press_now = buttons(when)["Now"]["data"]
    # Even if a client sends the form's fields along, the pressed answer is the answer.
    [how_long] = await say(
        bot, connector, "", value=press_now | {"date": "2030-01-01", "time": "09:00"}
    )
    [passcode] = await say(bot, connector, "", value=buttons(how_long)["1 h"]["data"])
    [confirmation] = await say(bot, connector, "", value=buttons(passcode)["No"]["data"])

    facts = facts_of(card_of(confirmation))
    assert facts["Length"] == "1 h"
    assert facts["Passcode"] == "none"
    await say(bot, connector, "", value={"meet": "create"})
    [meeting] = sandbox_graph.meetings()
    start = datetime.fromisoformat(meeting["startDateTime"])
    assert abs(start - datetime.now(BERLIN)) < timedelta(minutes=1)


async def test_questions_that_put_words_in_bold_are_sent_as_markdown(
    bot: BotClient, connector: Connector
) -> None:
    [when] = await say(bot, connector, "/meet Budget")
    assert when["text"].startswith("When should **Budget** start?")
    assert when["textFormat"] == "markdown"
    await say(bot, connector, "whenever")
    await say(bot, connector, "whenever")
    give_up = (await say(bot, connector, "whenever"))[-1]  # the third miss
    assert "**/meet**" in give_up["text"]
    assert give_up["textFormat"] == "markdown"
