"""@mentions in group chats and channels: removed from every message, not only from commands."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botbuilder.schema import Activity

from bot.conversation.teams import MAX_MENTIONS, text_without_mentions
from sandbox.graph import SandboxGraph
from tests.conftest import (
    ALEX,
    BotClient,
    Connector,
    MakeBot,
    card_of,
    facts_of,
    form_inputs,
    post,
    press,
    sign_in,
    titles,
)
from tests.teams_messages import BOT_NAME, GROUP_CHAT, IN_GROUP, mentioned, showing


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


async def test_in_a_group_chat_meet_alone_answers_with_one_form_for_the_asker(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    await sign_in(bot, connector)
    [base] = await post(bot, connector, mentioned("/meet tomorrow 10am for 1h") | GROUP_CHAT)
    everyone = card_of(base)
    assert everyone["body"][0]["text"] == "Test User is setting up a meeting."
    assert everyone["refresh"]["userIds"] == [f"29:{ALEX.oid}"]
    assert titles(everyone) == ["Open"]

    form = await press(bot, connector, base, "", verb="refresh", **IN_GROUP)
    fields = {e["id"]: e.get("value") for e in form_inputs(form)}
    assert fields["subject"] == ""
    assert fields["time"] == "10:00"
    assert fields["minutes"] == "60"
    assert titles(form) == ["Create", "Cancel"]

    meeting = await press(
        bot, connector, showing(base, form), "Create", inputs={"subject": "Roadmap"}, **IN_GROUP
    )

    assert meeting["body"][0]["text"] == "Roadmap"
    [update] = connector.updates  # the card everyone sees is now the meeting
    assert update["id"] == base["id"]
    assert card_of(update) == meeting
    assert len(sandbox_graph.meetings()) == 1


async def test_every_dialog_answer_may_mention_the_bot(
    make_bot: MakeBot, connector: Connector
) -> None:
    # Teams lets people @mention the bot in the 1:1 chat too.
    bot = await make_bot(PASSCODE_POLICY="ask")
    await sign_in(bot, connector)
    await post(bot, connector, mentioned("/meet"))
    [when] = await post(bot, connector, mentioned("Roadmap"))
    assert "Roadmap" in card_of(when)["body"][0]["text"]
    [how_long] = await post(bot, connector, mentioned("tomorrow 10am"))
    assert card_of(how_long)["body"][0]["text"] == "How long?"
    [passcode] = await post(bot, connector, mentioned("45m"))
    assert card_of(passcode)["body"][0]["text"] == "Should people need a passcode to join?"

    [confirmation] = await post(bot, connector, mentioned("no"))

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
    await post(bot, connector, mentioned("/meet tomorrow 10am for 1h"))
    message = mentioned("")
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
