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
TENANT_ID = "00000000-0000-0000-0000-0000000000001"  # the Playground's tenant


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
    """Press Create on a 1:1 confirmation; sign in if asked. Returns the meeting card message."""
    where = confirmation["shownIn"]
    answer = await chat.press(where, confirmation, card(confirmation), "Create")
    # The card becomes the meeting, or first a sign-in card that then becomes the meeting:
    # either way the chat keeps no stale buttons.
    if answer["body"][0]["text"] == "Sign in to Microsoft":
        page = await complete_sign_in(answer["actions"][0]["url"], username="alexw@example.com")
        assert page.status_code == 200
    while (meeting := await chat.next_update())["messageId"] != confirmation["messageId"] or (
        card(meeting)["body"][0]["text"] == "Sign in to Microsoft"
    ):
        pass
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
    shown = await chat.press(chat.personal_chat, confirmation, card(confirmation), "Create")
    assert shown["body"][0]["text"] == "Retro"  # signed in now: the card itself changes
    updated = await chat.next_update()
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


async def create_from_the_form(
    chat: PlaygroundChat, where: str, base: dict[str, Any], subject: str
) -> dict[str, Any]:
    """Open the form on the card everyone sees, fill it in, press Create, sign in if asked.

    The Playground does not refresh cards by themselves (Teams does, for the requester
    alone), so the requester presses Open. Returns the meeting card message."""
    form = await chat.press(where, base, card(base), "Open")
    assert [a["title"] for a in form["actions"]] == ["Create", "Cancel"]
    answer = await chat.press(where, base, form, "Create", inputs={"subject": subject})
    if answer["body"][0]["text"] == "Sign in to Microsoft":
        page = await complete_sign_in(answer["actions"][0]["url"], username="alexw@example.com")
        assert page.status_code == 200
    while (meeting := await chat.next_update())["messageId"] != base["messageId"] or (
        card(meeting)["body"][0]["text"] != subject
    ):
        pass  # the card everyone sees passes through "signing in" on its way
    return meeting


async def test_group_chat_meet_alone_is_one_form_then_the_meeting(chat: PlaygroundChat) -> None:
    await chat.send(chat.group_chat, "meet tomorrow 10am", mention_bot=True)
    base = await chat.next_bot_message()
    assert base["shownIn"] == chat.group_chat
    assert card(base)["body"][0]["text"].endswith("is setting up a meeting.")

    meeting = await create_from_the_form(chat, chat.group_chat, base, "Planning")

    assert meeting["shownIn"] == chat.group_chat
    assert organizer_oid(card(meeting)) == ALEX_OID
    assert [a["title"] for a in card(meeting)["actions"]] == ["Join meeting"]


async def test_channel_form_is_answered_in_the_posts_thread(chat: PlaygroundChat) -> None:
    post = await chat.send(chat.channel, "meet", mention_bot=True)
    thread = post["postConversationId"]
    base = await chat.next_bot_message()
    assert base["shownIn"] == thread

    meeting = await create_from_the_form(chat, thread, base, "Standup")

    assert meeting["shownIn"] == thread
    assert card(meeting)["body"][0]["text"] == "Standup"


async def test_group_chat_change_then_cancel_leaves_no_buttons(chat: PlaygroundChat) -> None:
    await chat.send(chat.group_chat, "meet Review tomorrow 3pm", mention_bot=True)
    base = await chat.next_bot_message()
    mine = await chat.press(chat.group_chat, base, card(base), "Open")
    assert [a["title"] for a in mine["actions"]] == ["Create", "Change", "Cancel"]
    form = await chat.press(chat.group_chat, base, mine, "Change")
    assert [a["title"] for a in form["actions"]] == ["Create", "Cancel"]

    cancelled = await chat.press(chat.group_chat, base, form, "Cancel")

    assert cancelled["actions"] == []
    update = await chat.next_update()
    assert update["messageId"] == base["messageId"]
    assert card(update)["actions"] == []


async def test_a_colleague_sees_no_buttons_of_someone_elses_request(chat: PlaygroundChat) -> None:
    post = await chat.send(chat.channel, "meet Offsite tomorrow 2pm", mention_bot=True)
    base = await chat.next_bot_message()

    theirs = await chat.press(
        post["postConversationId"], base, card(base), "Open", user_id="user-id-1"
    )

    assert theirs["body"][0]["text"].startswith("Only ")
    assert theirs["actions"] == []


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


async def test_a_german_user_is_answered_in_german_from_request_to_meeting(
    chat: PlaygroundChat,
) -> None:
    # The Playground's typed messages are always en-US; its Mock menu sends any activity, as a
    # German Teams client would: locale and clientInfo.
    german = {
        "from": {"id": "user-id-0", "name": "Alex Wilber", "aadObjectId": ALEX_OID},
        "channelData": {"tenant": {"id": TENANT_ID}},  # as Teams sends it; the Mock menu doesn't
        "locale": "de-DE",
        "entities": [
            {"type": "clientInfo", "locale": "de-DE", "timezone": "Europe/Berlin"},
        ],
    }
    await chat.custom_activity(
        chat.personal_chat, type="message", text="/meet Teamtermin morgen um 15 Uhr", **german
    )
    confirmation = await chat.next_bot_message()
    shown = card(confirmation)
    assert shown["lang"] == "de"
    assert shown["body"][0]["text"] == "Diese Besprechung erstellen?"
    assert shown["body"][1]["text"] == "Teamtermin"
    assert "15:00 – 15:30 (Europe/Berlin)" in facts_of(shown)["Wann"]

    # Typed, as German Teams sends it: the card changes in place into the meeting (after a
    # German sign-in card, unless an earlier test signed Alex in).
    await chat.custom_activity(chat.personal_chat, type="message", text="create", **german)
    update = await chat.next_update()
    assert update["messageId"] == confirmation["messageId"]
    if card(update)["body"][0]["text"] == "Bei Microsoft anmelden":
        url = card(update)["actions"][0]["url"]
        assert (await complete_sign_in(url, username="alexw@example.com")).status_code == 200
        update = await chat.next_update()
    meeting = card(update)
    assert meeting["lang"] == "de"
    assert meeting["body"][0]["text"] == "Teamtermin"
    assert facts_of(meeting)["Besprechungs-ID"].replace(" ", "").isdigit()
    assert meeting["actions"][0]["title"] == "An Besprechung teilnehmen"
