"""Teams behaviour: mentions, channel threads, card ownership and updates, welcome, help."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import pytest

from bot.web.keys import SANDBOX
from sandbox.graph import SandboxGraph
from sandbox.identity import SANDBOX_TENANT_ID
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
    say,
    sign_in,
    titles,
)
from tests.teams_messages import CHANNEL, IN_GROUP, in_channel, mentioned, showing


@pytest.fixture
async def bot(make_bot: MakeBot) -> BotClient:
    return await make_bot(SKIP_CONFIRMATION="true")


async def test_a_mention_with_or_without_slash_is_understood_in_a_group_chat(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    await sign_in(bot, connector)
    chat = {
        "conversation": {
            "id": "19:group@thread.v2",
            "conversationType": "groupChat",
            "tenantId": SANDBOX_TENANT_ID,
        }
    }
    [first] = await post(bot, connector, mentioned("meet Standup tomorrow 9am") | chat)
    [second] = await post(bot, connector, mentioned("/meet Retro tomorrow 4pm") | chat)
    assert card_of(first)["body"][0]["text"] == "Standup"
    assert card_of(second)["body"][0]["text"] == "Retro"
    assert len(sandbox_graph.meetings()) == 2


async def test_channel_replies_go_into_the_thread_of_the_asking_message(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)
    [reply] = await post(
        bot, connector, in_channel(mentioned("meet Standup tomorrow 9am"), "1700000000001")
    )
    assert reply["replyToId"] == "1700000000001"
    assert connector.paths[-1].endswith("/activities/1700000000001")  # a threaded reply


async def test_in_a_channel_two_people_get_two_meetings_each_their_own(
    bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    for user in (ALEX, MEGAN):
        await sign_in(bot, connector, user)

    for user, message_id in ((ALEX, "1700000000010"), (MEGAN, "1700000000020")):
        [reply] = await post(
            bot,
            connector,
            in_channel(mentioned("meet Standup tomorrow 9am"), message_id),
            user=user,
        )
        assert reply["replyToId"] == message_id
        assert card_of(reply)["body"][0]["text"] == "Standup"

    organizers = sorted(
        m["participants"]["organizer"]["identity"]["user"]["id"] for m in sandbox_graph.meetings()
    )
    assert organizers == sorted([ALEX.oid, MEGAN.oid])


async def test_after_sign_in_the_meeting_is_posted_in_the_same_channel_thread(
    bot: BotClient, connector: Connector
) -> None:
    [card] = await post(
        bot, connector, in_channel(mentioned("meet Standup tomorrow 9am"), "1700000000030")
    )
    # The sign-in link is personal: the channel sees who is signing in, never the link.
    assert card_of(card)["body"][0]["text"] == "Test User is signing in to create this meeting."
    assert card_of(card)["refresh"]["userIds"] == [f"29:{ALEX.oid}"]
    assert "/auth/" not in json.dumps(connector.activities + connector.updates)
    thread: dict[str, Any] = {
        "conversation_id": f"{CHANNEL};messageid=1700000000030",
        "conversation_type": "channel",
    }
    mine = await press(bot, connector, card, "", verb="refresh", **thread)
    assert mine["body"][0]["text"] == "Sign in to Microsoft"

    await complete_sign_in(mine["actions"][0]["url"], username=ALEX.upn)

    [meeting] = connector.updates  # in place of the card everyone sees
    assert meeting["id"] == card["id"]
    assert card_of(meeting)["body"][0]["text"] == "Standup"
    assert unquote(connector.paths[-1]).startswith(
        f"/v3/conversations/{CHANNEL};messageid=1700000000030/activities"
    )


# -- card ownership and in-place updates (with confirmation on) --------------------------------


@pytest.fixture
async def confirming_bot(make_bot: MakeBot) -> BotClient:
    return await make_bot()


async def test_pressing_create_replaces_the_confirmation_card_with_the_meeting(
    confirming_bot: BotClient, connector: Connector, sandbox_graph: SandboxGraph
) -> None:
    bot = confirming_bot
    await sign_in(bot, connector)
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 9am")
    data = card_of(confirmation)["actions"][0]["fallback"]["data"]  # Create, as Action.Submit

    replies = await say(bot, connector, "", value=data, reply_to_id=confirmation["id"])
    again = await say(bot, connector, "", value=data, reply_to_id=confirmation["id"])

    assert replies == again == []  # nothing new in the chat: the card itself changes
    assert {update["id"] for update in connector.updates} == {confirmation["id"]}
    assert all(card_of(u)["body"][0]["text"] == "Standup" for u in connector.updates)
    assert len(bot.app[SANDBOX].graph.meetings()) == 1


async def test_someone_else_cannot_confirm_or_cancel_my_request(
    confirming_bot: BotClient, connector: Connector
) -> None:
    bot = confirming_bot
    [base] = await say(bot, connector, "/meet Standup tomorrow 9am", **IN_GROUP)
    alexs = await press(bot, connector, base, "", verb="refresh", **IN_GROUP)
    assert titles(alexs) == ["Create", "Change", "Cancel"]

    # Megan sees Alex's card as it is, with no buttons of Alex's: also when she sends the
    # data of Alex's Cancel button herself.
    megans = await press(bot, connector, base, "Open", user=MEGAN, **IN_GROUP)
    forged = await press(bot, connector, showing(base, alexs), "Cancel", user=MEGAN, **IN_GROUP)

    for view in (megans, forged):
        assert view["body"][0]["text"].startswith("Only ")
        assert titles(view) == []
    assert connector.updates == []
    alexs_again = await press(bot, connector, base, "", verb="refresh", **IN_GROUP)
    assert titles(alexs_again) == titles(alexs)


# -- welcome and help -----------------------------------------------------------------------------


def install_event(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "text": None, **extra}


async def test_install_posts_one_welcome_and_other_members_joining_post_nothing(
    bot: BotClient, connector: Connector
) -> None:
    installed = await post(bot, connector, install_event("installationUpdate", action="add"))
    bot_added = await post(
        bot,
        connector,
        install_event("conversationUpdate", membersAdded=[{"id": "28:bot"}]),
    )
    person_added = await post(
        bot,
        connector,
        install_event("conversationUpdate", membersAdded=[{"id": "29:someone-else"}]),
    )

    [welcome] = installed
    assert card_of(welcome)["body"][0]["text"] == "Hi! I'm Meet."
    assert bot_added == []
    assert person_added == []


async def test_reinstalling_welcomes_again(bot: BotClient, connector: Connector) -> None:
    await post(bot, connector, install_event("installationUpdate", action="add"))
    await post(bot, connector, install_event("installationUpdate", action="remove"))
    [welcome] = await post(bot, connector, install_event("installationUpdate", action="add"))
    assert card_of(welcome)["body"][0]["text"] == "Hi! I'm Meet."
