"""@mentions in group chats and channels: removed from every message, not only from commands."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botbuilder.schema import Activity

from bot.teams import MAX_MENTIONS, text_without_mentions
from tests.conftest import BotClient, Connector, MakeBot, card_of, facts_of, sign_in
from tests.test_teams_surfaces import BOT_NAME, mentioned, post

GROUP_CHAT = {
    "conversation": {"id": "19:group@thread.v2", "conversationType": "groupChat"},
}


def mentioning(person: str, text: str) -> dict[str, Any]:
    """A message that @mentions the bot and also names a colleague, as Teams sends it."""
    message = mentioned(text.replace(person, f"<at>{person}</at>"))
    message["entities"].append(
        {"type": "mention", "text": f"<at>{person}</at>", "mentioned": {"id": "29:megan"}}
    )
    return message


@pytest.fixture
async def bot(make_bot: MakeBot) -> BotClient:
    return await make_bot()


async def test_a_mentioned_answer_to_the_subject_question_is_the_subject_alone(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)
    [question] = await post(bot, connector, mentioned("/meet tomorrow 10am for 1h") | GROUP_CHAT)
    assert question["text"] == "What is the meeting about?"

    [confirmation] = await post(bot, connector, mentioned("Roadmap") | GROUP_CHAT)

    assert card_of(confirmation)["body"][1]["text"] == "Roadmap"


async def test_every_dialog_answer_may_mention_the_bot(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(PASSCODE_POLICY="ask")
    await sign_in(bot, connector)
    await post(bot, connector, mentioned("/meet") | GROUP_CHAT)
    [when] = await post(bot, connector, mentioned("Roadmap") | GROUP_CHAT)
    assert when["text"].startswith("When should **Roadmap** start?")
    [how_long] = await post(bot, connector, mentioned("tomorrow 10am") | GROUP_CHAT)
    assert how_long["text"].startswith("How long?")
    [passcode] = await post(bot, connector, mentioned("45m") | GROUP_CHAT)
    assert passcode["text"] == "Should people need a passcode to join?"

    [confirmation] = await post(bot, connector, mentioned("no") | GROUP_CHAT)

    facts = facts_of(card_of(confirmation))
    assert facts["Length"] == "45 min"
    assert facts["Passcode"] == "none"


async def test_a_colleagues_mention_keeps_their_name_without_the_tags(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)
    [confirmation] = await post(
        bot,
        connector,
        mentioning("Megan Bowen", "/meet Sync with Megan Bowen tomorrow 10am") | GROUP_CHAT,
    )
    assert card_of(confirmation)["body"][1]["text"] == "Sync with Megan Bowen"


async def test_the_bot_mentioned_mid_sentence_leaves_one_space(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)
    await post(bot, connector, mentioned("/meet tomorrow 10am for 1h") | GROUP_CHAT)
    message = mentioned("") | GROUP_CHAT
    message["text"] = f"Ask <at>{BOT_NAME}</at>  about it"

    [confirmation] = await post(bot, connector, message)

    assert card_of(confirmation)["body"][1]["text"] == "Ask about it"


def test_many_mentions_in_a_long_message_take_bounded_time() -> None:
    tags = [f"<at>Person {i}</at>" for i in range(1000)]
    text = " ".join(tags) * 4  # about 90 KB
    incoming = Activity().deserialize(
        {
            "type": "message",
            "text": text,
            "recipient": {"id": "28:bot"},
            "entities": [
                {"type": "mention", "text": tag, "mentioned": {"id": f"29:{i}"}}
                for i, tag in enumerate(tags)
            ],
        }
    )

    started = time.perf_counter()
    cleaned = text_without_mentions(incoming) or ""
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    assert cleaned.count("<at>") == len(tags[MAX_MENTIONS:]) * 4  # only the first 20 are read
    assert cleaned.startswith("Person 0 Person 1 ")
