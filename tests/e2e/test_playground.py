"""The foundation's promise, checked in Microsoft's own client: /meet Standup gives the card."""

from __future__ import annotations

from tests.conftest import facts_of
from tests.e2e.conftest import PlaygroundChat


async def test_meet_in_personal_chat_shows_the_meeting_card(chat: PlaygroundChat) -> None:
    await chat.send(chat.personal_chat, "/meet Standup")

    message = await chat.next_bot_message()

    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["body"][0]["text"] == "Standup"
    [join] = card["actions"]
    assert join["type"] == "Action.OpenUrl"
    assert join["url"].startswith("https://teams.microsoft.com/l/meetup-join/")
    facts = facts_of(card)
    assert facts["Passcode"]
    assert facts["Meeting ID"].replace(" ", "").isdigit()


async def test_unknown_command_gets_a_hint_in_the_playground(chat: PlaygroundChat) -> None:
    await chat.send(chat.personal_chat, "/lunch")
    message = await chat.next_bot_message()
    assert message["text"].startswith("I don't know 'lunch'.")
