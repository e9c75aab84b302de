"""Answering quickly: a typing indicator when Graph is slow, and a slow Graph never holds the
turn."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.conversation.delivery import TYPING_AFTER_SECONDS
from bot.web.keys import SANDBOX
from tests.conftest import BotClient, Connector, MakeBot, card_of, say, sign_in


async def eventually(condition: Callable[[], object], seconds: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "it never happened"
        await asyncio.sleep(0.05)


async def slow_bot(make_bot: MakeBot, connector: Connector) -> BotClient:
    bot = await make_bot(SKIP_CONFIRMATION="true", ANSWER_WITHIN_SECONDS="0.2")
    await sign_in(bot, connector)
    bot.app[SANDBOX].graph.faults.latency = 1.0
    return bot


async def test_a_quick_meeting_is_the_first_thing_the_user_sees(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(SKIP_CONFIRMATION="true")
    await sign_in(bot, connector)
    before = connector.typing
    [reply] = await say(bot, connector, "/meet Standup tomorrow 9am")
    assert connector.typing == before  # no typing indicator flashing before the card
    assert card_of(reply)["body"][0]["text"] == "Standup"


async def test_the_user_sees_typing_while_graph_takes_its_time(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(SKIP_CONFIRMATION="true")
    await sign_in(bot, connector)
    bot.app[SANDBOX].graph.faults.latency = TYPING_AFTER_SECONDS + 0.3
    before = connector.typing
    [reply] = await say(bot, connector, "/meet Standup tomorrow 9am")
    assert connector.typing == before + 1
    assert card_of(reply)["body"][0]["text"] == "Standup"


async def test_a_slow_graph_gets_a_note_at_once_then_the_meeting_in_its_place(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await slow_bot(make_bot, connector)
    graph = bot.app[SANDBOX].graph

    [note] = await say(bot, connector, "/meet Standup tomorrow 9am")

    assert note["text"].startswith("Creating the meeting")
    assert graph.meetings() == []  # the turn ended while Graph was still working
    await eventually(lambda: connector.updates)
    [update] = connector.updates
    assert update["id"] == f"reply-{len(connector.activities)}"  # the note itself
    assert card_of(update)["body"][0]["text"] == "Standup"
    assert len(graph.meetings()) == 1


async def test_a_slow_failure_is_still_explained(make_bot: MakeBot, connector: Connector) -> None:
    bot = await slow_bot(make_bot, connector)
    bot.app[SANDBOX].graph.faults.fail_next(400)

    await say(bot, connector, "/meet Standup tomorrow 9am")

    await eventually(lambda: connector.updates)
    [update] = connector.updates  # in place of the "Creating the meeting…" note
    assert "rejected the meeting details" in update["text"]


async def test_shutting_down_lets_a_slow_meeting_finish(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await slow_bot(make_bot, connector)
    graph = bot.app[SANDBOX].graph
    await say(bot, connector, "/meet Standup tomorrow 9am")

    await bot.close()  # cleanup waits for the meeting still being created

    assert len(graph.meetings()) == 1
    [update] = connector.updates
    assert card_of(update)["body"][0]["text"] == "Standup"
