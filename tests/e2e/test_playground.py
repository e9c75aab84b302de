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
    await chat.send(chat.personal_chat, "/meet Standup tomorrow 9am for 15m")
    confirmation_message = await chat.next_bot_message()
    confirmation = card(confirmation_message)
    assert confirmation["body"][1]["text"] == "Standup"
    await chat.submit(chat.personal_chat, confirmation_message, confirmation["actions"][0]["data"])
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

    await chat.send(chat.personal_chat, "/meet Retro tomorrow 4pm")
    confirmation_message = await chat.next_bot_message()
    owner = card(confirmation_message)["actions"][0]["data"]["owner"]
    await chat.submit(chat.personal_chat, confirmation_message, {"meet": "create", "owner": owner})
    # Signed in now, so the confirmation card itself turns into the meeting card.
    updated = await chat.next_update()
    assert updated["messageId"] == confirmation_message["messageId"]
    assert card(updated)["body"][0]["text"] == "Retro"


async def test_meet_alone_is_a_short_conversation(chat: PlaygroundChat) -> None:
    await chat.send(chat.personal_chat, "/meet")
    first = await chat.next_bot_message()
    assert first.get("text") == "What is the meeting about?", first
    await chat.send(chat.personal_chat, "Budget")
    assert (await chat.next_bot_message())["text"].startswith("When should **Budget** start?")
    # The Playground shows the question's date-and-time form as a message of its own.
    picker = card(await chat.next_bot_message())
    assert [e["type"] for e in picker["body"]] == ["Input.Date", "Input.Time"]
    await chat.send(chat.personal_chat, "cancel")
    assert (await chat.next_bot_message())["text"] == "Cancelled. Nothing was created."


async def test_unknown_command_gets_a_hint_in_the_playground(chat: PlaygroundChat) -> None:
    await chat.send(chat.personal_chat, "/lunch")
    message = await chat.next_bot_message()
    assert message["text"].startswith("I don't know 'lunch'.")
