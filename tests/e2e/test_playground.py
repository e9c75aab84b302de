"""The product's promise, checked in Microsoft's own client (the M365 Agents Playground).

The Playground sends every typed message as its current user (Alex Wilber); button presses can
come from anyone, which is how a colleague pressing Alex's card is checked.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from tests.conftest import complete_sign_in, facts_of
from tests.e2e.conftest import PlaygroundChat

ALEX_OID = "00000000-0000-0000-0000-0000000000020"


def card(message: dict[str, Any]) -> dict[str, Any]:
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content: dict[str, Any] = attachment["content"]
    return content


def organizer_oid(meeting: dict[str, Any]) -> str:
    """The organizer, as Teams encodes it in the join link's context."""
    [join] = meeting["actions"]
    context = json.loads(unquote(join["url"].split("context=", 1)[1]))
    return str(context["Oid"])


async def press_create(chat: PlaygroundChat, confirmation: dict[str, Any]) -> dict[str, Any]:
    """Press Create; sign in if asked. Returns the meeting card message."""
    data = card(confirmation)["actions"][0]["data"]
    await chat.submit(confirmation["shownIn"], confirmation, data)
    # The card becomes the meeting, or first a sign-in card that then becomes the meeting:
    # either way the chat keeps no stale buttons.
    answer = await chat.next_update()
    assert answer["messageId"] == confirmation["messageId"]
    if card(answer)["body"][0]["text"] != "Sign in to Microsoft":
        return answer  # signed in already
    page = await complete_sign_in(card(answer)["actions"][0]["url"], username="alexw@example.com")
    assert page.status_code == 200
    meeting = await chat.next_update()
    assert meeting["messageId"] == confirmation["messageId"]
    return meeting


async def test_personal_chat_sign_in_once_then_cards_update_in_place(chat: PlaygroundChat) -> None:
    await chat.send(chat.personal_chat, "/meet Standup tomorrow 9am for 15m")
    confirmation = await chat.next_bot_message()
    assert card(confirmation)["body"][1]["text"] == "Standup"

    meeting = card(await press_create(chat, confirmation))

    assert meeting["body"][0]["text"] == "Standup"
    assert meeting["actions"][0]["url"].startswith("https://teams.microsoft.com/l/meetup-join/")
    assert facts_of(meeting)["Passcode"]
    assert facts_of(meeting)["Meeting ID"].replace(" ", "").isdigit()
    assert organizer_oid(meeting) == ALEX_OID

    await chat.send(chat.personal_chat, "/meet Retro tomorrow 4pm")
    confirmation = await chat.next_bot_message()
    await chat.submit(chat.personal_chat, confirmation, card(confirmation)["actions"][0]["data"])
    updated = await chat.next_update()  # signed in now: no new message, the card changes
    assert updated["messageId"] == confirmation["messageId"]
    assert card(updated)["body"][0]["text"] == "Retro"


async def test_meet_alone_is_a_short_conversation(chat: PlaygroundChat) -> None:
    await chat.send(chat.personal_chat, "/meet")
    assert (await chat.next_bot_message())["text"] == "What is the meeting about?"
    await chat.send(chat.personal_chat, "Budget")
    start_question = await chat.next_bot_message()
    # One card: the question, its quick answers, and a date and time to pick.
    body = card(start_question)["body"]
    assert body[0]["text"] == "When should “Budget” start?"
    assert [a["title"] for a in body[2]["actions"]] == ["Now", "In 15 minutes", "Tomorrow 9:00"]
    assert [e["type"] for e in body[3:]] == ["Input.Date", "Input.Time"]

    await chat.submit(chat.personal_chat, start_question, {"answer": "Tomorrow 9:00"})
    answered = await chat.next_update()  # the card keeps the answer and loses its buttons
    assert answered["messageId"] == start_question["messageId"]
    assert card(answered)["body"][-1]["text"] == "✓ Tomorrow 9:00"
    assert card(answered)["actions"] == []
    length_question = await chat.next_bot_message()
    assert card(length_question)["body"][0]["text"] == "How long?"

    await chat.send(chat.personal_chat, "cancel")
    closed = await chat.next_update()
    assert closed["messageId"] == length_question["messageId"]
    assert card(closed)["body"][-1]["text"] == "Cancelled."
    assert (await chat.next_bot_message())["text"] == "Cancelled. Nothing was created."


async def test_group_chat_with_a_mention(chat: PlaygroundChat) -> None:
    await chat.send(chat.group_chat, "meet Planning tomorrow 10am", mention_bot=True)
    confirmation = await chat.next_bot_message()
    assert confirmation["shownIn"] == chat.group_chat

    meeting = await press_create(chat, confirmation)

    assert meeting["shownIn"] == chat.group_chat
    assert card(meeting)["body"][0]["text"] == "Planning"
    assert organizer_oid(card(meeting)) == ALEX_OID


async def test_channel_mention_is_answered_in_the_posts_thread(chat: PlaygroundChat) -> None:
    post = await chat.send(chat.channel, "meet Standup tomorrow 9am", mention_bot=True)
    thread = post["postConversationId"]
    confirmation = await chat.next_bot_message()
    assert confirmation["shownIn"] == thread

    meeting = await press_create(chat, confirmation)

    assert meeting["shownIn"] == thread
    assert card(meeting)["body"][0]["text"] == "Standup"


async def test_a_colleague_cannot_press_someone_elses_card(chat: PlaygroundChat) -> None:
    post = await chat.send(chat.channel, "meet Offsite tomorrow 2pm", mention_bot=True)
    confirmation = await chat.next_bot_message()
    data = card(confirmation)["actions"][0]["data"]

    await chat.submit(post["postConversationId"], confirmation, data, user_id="user-id-1")

    refusal = await chat.next_bot_message()
    assert refusal["text"].startswith("Only the person who asked")


async def test_install_welcomes_once(chat: PlaygroundChat) -> None:
    await chat.custom_activity(chat.group_chat, type="installationUpdate", action="remove")
    await chat.custom_activity(chat.group_chat, type="installationUpdate", action="add")
    await chat.custom_activity(
        chat.group_chat,
        type="conversationUpdate",
        membersAdded=[{"id": chat.config["config"]["bot"]["id"]}],
    )
    await chat.send(chat.group_chat, "help", mention_bot=True)

    welcome = card(await chat.next_bot_message())
    after = card(await chat.next_bot_message())

    assert welcome["body"][0]["text"] == "Hi! I'm Meet."
    assert "I create Teams meetings" in after["body"][0]["text"]  # help, not a second welcome


async def test_unknown_command_gets_a_hint_in_the_playground(chat: PlaygroundChat) -> None:
    await chat.send(chat.personal_chat, "/lunch")
    message = await chat.next_bot_message()
    assert message["text"].startswith("I don't know 'lunch'.")
