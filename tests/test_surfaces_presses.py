"""Presses out of turn: pressed twice, typed after the fact, aimed at someone else's card.

Each answer is the card as it is now; no press changes a card that is not the presser's own."""

from __future__ import annotations

from bot.web.keys import SANDBOX
from tests.conftest import (
    MEGAN,
    BotClient,
    Connector,
    MakeBot,
    card_of,
    post,
    press,
    say,
    sign_in,
    titles,
)
from tests.teams_messages import GROUP_CHAT, IN_GROUP, mentioned, showing


async def test_typed_ok_after_create_another_keeps_the_meeting_card(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(GRAPH_TIMEOUT_SECONDS="0.5")
    await sign_in(bot, connector)
    graph = bot.app[SANDBOX].graph
    [confirm] = await say(bot, connector, "/meet Standup tomorrow 9am")
    graph.faults.act_then_fail(504)
    unknown = await press(bot, connector, confirm, "Create")
    assert titles(unknown) == ["Create another"], unknown
    meeting = await press(bot, connector, showing(confirm, unknown), "Create another")
    assert meeting["body"][0]["text"] == "Standup"
    assert len(graph.meetings()) == 2
    assert card_of(connector.updates[-1])["body"][0]["text"] == "Standup"

    await say(bot, connector, "ok")  # a natural acknowledgement

    last = card_of(connector.updates[-1])
    assert last["body"][0]["text"] == "Standup", "the meeting card was overwritten"


async def test_a_second_create_another_press_shows_the_meeting(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot(SKIP_CONFIRMATION="true", GRAPH_TIMEOUT_SECONDS="0.5")
    await sign_in(bot, connector)
    graph = bot.app[SANDBOX].graph
    graph.faults.act_then_fail(504)
    [base] = await post(bot, connector, mentioned("meet Standup tomorrow 9am") | GROUP_CHAT)
    mine = await press(bot, connector, base, "", verb="refresh", **IN_GROUP)
    first = await press(bot, connector, showing(base, mine), "Create another", **IN_GROUP)
    assert first["body"][0]["text"] == "Standup"
    # a second press (another device, or a client that re-sent the invoke)
    second = await press(bot, connector, showing(base, mine), "Create another", **IN_GROUP)
    assert second["body"][0]["text"] == "Standup", "pressing again should show the meeting"


async def test_typed_change_in_a_group_chat_points_to_the_card(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)
    await post(bot, connector, mentioned("meet Roadmap tomorrow 10am") | GROUP_CHAT)
    before = (len(connector.activities), len(connector.updates))
    replies = await post(bot, connector, mentioned("change") | GROUP_CHAT)
    [reply] = replies
    assert reply["text"] == "Use the buttons on your card: only you see them."
    assert connector.updates[before[1] :] == []


async def test_someone_elses_submit_aimed_at_my_card_changes_nothing(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)
    [base] = await post(bot, connector, mentioned("meet Roadmap tomorrow 10am") | GROUP_CHAT)
    for value in ({"meet": "edit"}, {"anything": 1}):
        before = len(connector.updates)
        await say(bot, connector, "", value=value, user=MEGAN, reply_to_id=base["id"], **IN_GROUP)
        changed = connector.updates[before:]
        assert not [u for u in changed if u["id"] == base["id"]], f"{value} overwrote Alex's card"


async def test_a_second_press_on_an_answered_question_card_changes_nothing(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)
    [start_q] = await say(bot, connector, "/meet Standup")
    tomorrow = {"answer": "Tomorrow 9:00"}
    [length_q] = await say(bot, connector, "", value=tomorrow, reply_to_id=start_q["id"])
    await say(bot, connector, "", value={"answer": "30 min"}, reply_to_id=length_q["id"])
    before = len(connector.updates)
    await say(bot, connector, "", value={"answer": "45 min"}, reply_to_id=length_q["id"])
    after = connector.updates[before:]
    assert not after, "an answered question card was changed"


async def test_a_colleague_cannot_put_their_meeting_in_place_of_mine(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)
    await sign_in(bot, connector, MEGAN)
    [alex_card] = await post(bot, connector, mentioned("meet Roadmap tomorrow 10am") | GROUP_CHAT)
    mine = await press(bot, connector, alex_card, "", verb="refresh", **IN_GROUP)
    alex_meeting = await press(bot, connector, showing(alex_card, mine), "Create", **IN_GROUP)
    [megan_card] = await post(
        bot, connector, mentioned("meet Roadmap tomorrow 10am") | GROUP_CHAT, user=MEGAN
    )
    hers = await press(bot, connector, megan_card, "", verb="refresh", user=MEGAN, **IN_GROUP)
    await press(bot, connector, showing(megan_card, hers), "Create", user=MEGAN, **IN_GROUP)
    key = hers["actions"][0]["data"]["request"]
    before = len(connector.updates)
    # Megan's own request key, as an Action.Submit, aimed (replyToId) at Alex's meeting card
    await say(
        bot,
        connector,
        "",
        value={"meet": "edit", "request": key},
        user=MEGAN,
        reply_to_id=alex_card["id"],
        **IN_GROUP,
    )
    hit = [u for u in connector.updates[before:] if u["id"] == alex_card["id"]]
    assert alex_meeting["body"][0]["text"] == "Roadmap"
    assert not hit, "Megan's press replaced Alex's meeting card"
