"""Group chats and channels: one card per request, the requester's own view, no stale buttons."""

from __future__ import annotations

import json
import time

import pytest

from bot.web.keys import ADAPTER, BOT, SANDBOX, STORAGE
from sandbox.graph import SandboxGraph
from tests.conftest import (
    ALEX,
    MEGAN,
    BotClient,
    Connector,
    MakeBot,
    card_of,
    complete_sign_in,
    post,
    press,
    sign_in,
    titles,
)
from tests.teams_messages import GROUP_CHAT, IN_GROUP, mentioned, showing


@pytest.fixture
async def bot(make_bot: MakeBot) -> BotClient:
    return await make_bot()


async def test_create_signs_in_privately_then_the_card_everyone_sees_becomes_the_meeting(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    [base] = await post(bot, connector, mentioned("meet Roadmap tomorrow 10am") | GROUP_CHAT)
    mine = await press(bot, connector, base, "", verb="refresh", **IN_GROUP)
    assert titles(mine) == ["Create", "Change", "Cancel"]

    sign_in_view = await press(bot, connector, showing(base, mine), "Create", **IN_GROUP)

    assert sign_in_view["body"][0]["text"] == "Sign in to Microsoft"
    [everyone] = connector.updates
    assert card_of(everyone)["body"][0]["text"] == "Test User is signing in to create this meeting."
    assert "/auth/" not in json.dumps([*connector.activities, *connector.updates])
    sent = len(connector.activities)

    page = await complete_sign_in(sign_in_view["actions"][0]["url"], username=ALEX.upn)
    assert page.status_code == 200

    meeting = connector.updates[-1]
    assert meeting["id"] == base["id"]
    assert card_of(meeting)["body"][0]["text"] == "Roadmap"
    # The sign-in card is still on Alex's screen: pressing it again, or Create on the old
    # confirmation, shows the meeting and adds nothing to the chat.
    again = await press(bot, connector, showing(base, mine), "Create", **IN_GROUP)
    assert again == card_of(meeting)
    assert len(connector.activities) == sent
    assert len(sandbox_graph.meetings()) == 1


async def test_typed_cancel_ends_the_card_and_a_new_meet_replaces_an_open_one(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    await sign_in(bot, connector)
    [first] = await post(bot, connector, mentioned("meet Roadmap") | GROUP_CHAT)
    [second] = await post(bot, connector, mentioned("meet Budget") | GROUP_CHAT)
    [replaced] = connector.updates
    assert replaced["id"] == first["id"]
    assert card_of(replaced)["actions"] == []
    assert "Replaced" in json.dumps(card_of(replaced))

    [said] = await post(bot, connector, mentioned("cancel") | GROUP_CHAT)

    assert said["text"] == "Cancelled. Nothing was created."
    cancelled = connector.updates[-1]
    assert cancelled["id"] == second["id"]
    assert card_of(cancelled)["actions"] == []
    mine = await press(bot, connector, second, "", verb="refresh", **IN_GROUP)
    assert mine["actions"] == []  # the old card's refresh finds nothing open
    assert sandbox_graph.meetings() == []


async def test_form_errors_show_inside_the_card_and_create_nothing(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    await sign_in(bot, connector)
    [base] = await post(bot, connector, mentioned("meet") | GROUP_CHAT)
    form = await press(bot, connector, base, "", verb="refresh", **IN_GROUP)
    sent = len(connector.activities)

    for inputs, error in (
        ({"subject": ""}, "Give the meeting a subject."),
        ({"subject": "Past", "date": "2020-01-01"}, "already passed"),
        ({"subject": "Odd", "date": "2026-02-30"}, "Pick a date"),
        ({"subject": "Long", "minutes": "100000"}, "Pick a date"),
        ({"subject": "Long", "minutes": "2000"}, "between"),
    ):
        shown = await press(
            bot, connector, showing(base, form), "Create", inputs=inputs, **IN_GROUP
        )
        assert error in shown["body"][1]["text"], shown["body"][1]
        assert titles(shown) == ["Create", "Cancel"]

    assert len(connector.activities) == sent
    assert connector.updates == []
    assert sandbox_graph.meetings() == []


async def test_in_a_group_chat_only_the_requester_sees_create_another(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(SKIP_CONFIRMATION="true", GRAPH_TIMEOUT_SECONDS="0.5")
    await sign_in(bot, connector)
    graph = bot.app[SANDBOX].graph
    graph.faults.act_then_fail(504)  # Graph made the meeting but its answer was lost

    [base] = await post(bot, connector, mentioned("meet Standup tomorrow 9am") | GROUP_CHAT)

    everyone = card_of(base)
    assert everyone["body"][0]["text"] == "Test User is still setting up this meeting."
    assert titles(everyone) == ["Open"]
    theirs = await press(bot, connector, base, "Open", user=MEGAN, **IN_GROUP)
    assert titles(theirs) == []
    mine = await press(bot, connector, base, "", verb="refresh", **IN_GROUP)
    assert "can't tell whether" in mine["body"][0]["text"]
    assert titles(mine) == ["Create another"]

    meeting = await press(bot, connector, showing(base, mine), "Create another", **IN_GROUP)

    assert meeting["body"][0]["text"] == "Standup"
    assert card_of(connector.updates[-1]) == meeting
    assert connector.updates[-1]["id"] == base["id"]
    assert len(graph.meetings()) == 2


async def test_a_request_left_open_for_a_day_ends_its_card(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)
    [base] = await post(bot, connector, mentioned("meet Roadmap") | GROUP_CHAT)
    storage = bot.app[STORAGE]
    [key] = await storage.keys("open/")
    item = (await storage.read([key]))[key]
    await storage.write({key: {**item, "expires": time.time() - 1}})  # a day has passed

    await bot.app[BOT].recover(bot.app[ADAPTER], overdue_after=3600)

    [ended] = connector.updates
    assert ended["id"] == base["id"]
    assert card_of(ended)["actions"] == []
    assert "has ended" in json.dumps(card_of(ended))
    assert await storage.keys("open/") == []
    mine = await press(bot, connector, base, "", verb="refresh", **IN_GROUP)
    assert titles(mine) == []
