"""The product's promise, checked in Microsoft's own client (the M365 Agents Playground)."""

from __future__ import annotations

from typing import Any

from tests.conftest import complete_sign_in, facts_of
from tests.e2e.conftest import PlaygroundChat


def card(message: dict[str, Any]) -> dict[str, Any]:
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content: dict[str, Any] = attachment["content"]
    return content


async def test_first_meet_signs_in_once_then_every_meet_shows_the_meeting_card(
    chat: PlaygroundChat,
) -> None:
    await chat.send(chat.personal_chat, "/meet Standup")
    sign_in = card(await chat.next_bot_message())
    assert sign_in["body"][0]["text"] == "Sign in to Microsoft"

    page = await complete_sign_in(sign_in["actions"][0]["url"], username="alexw@example.com")
    assert page.status_code == 200

    meeting = card(await chat.next_bot_message())
    assert meeting["body"][0]["text"] == "Standup"
    [join] = meeting["actions"]
    assert join["type"] == "Action.OpenUrl"
    assert join["url"].startswith("https://teams.microsoft.com/l/meetup-join/")
    assert facts_of(meeting)["Passcode"]
    assert facts_of(meeting)["Meeting ID"].replace(" ", "").isdigit()

    await chat.send(chat.personal_chat, "/meet Retro")
    assert card(await chat.next_bot_message())["body"][0]["text"] == "Retro"


async def test_unknown_command_gets_a_hint_in_the_playground(chat: PlaygroundChat) -> None:
    await chat.send(chat.personal_chat, "/lunch")
    message = await chat.next_bot_message()
    assert message["text"].startswith("I don't know 'lunch'.")
