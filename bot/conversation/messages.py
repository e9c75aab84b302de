"""Putting answers in the chat: a card in place of another or new, and what a press shows."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity

from bot.conversation.cards import others_card
from bot.framework.address import ReplyAddress
from bot.meetings.request import MeetingRequest
from dialogs.language import Language

log = logging.getLogger(__name__)

# Teams delivers group chat and channel messages only when they mention the bot: no questions
# in words there, and what is personal goes to the requester's own view of a card.
SHARED_SCOPES = ("groupChat", "channel")


@dataclass(frozen=True)
class Shown:
    """The card a press leads to, for the presser, and whether the chat already shows it."""

    card: dict[str, Any]
    card_id: str | None = None  # the message that shows it
    posted: bool = False  # already put in the chat (sent, or in place of the card)
    private: bool = False  # for the presser's eyes only: never put in a shared chat


async def reply(turn_context: TurnContext, answer: Activity, replaces: str | None) -> str | None:
    """Send `answer`, or put it in place of the card message `replaces`; the message's id."""
    if replaces:
        answer.id = replaces
        try:
            await turn_context.update_activity(answer)
        except Exception:  # noqa: BLE001 - a client that can't update still gets the answer
            log.info("could not update the card in place; sending a new message")
        else:
            return replaces
        answer.id = None
    sent = await turn_context.send_activity(answer)
    return sent.id if sent is not None else None


async def update(turn_context: TurnContext, activity: Activity) -> None:
    await turn_context.update_activity(activity)


def say(text: str) -> Callable[[TurnContext], Awaitable[None]]:
    async def send(turn_context: TurnContext) -> None:
        await turn_context.send_activity(text)

    return send


def card_message(card: dict[str, Any]) -> Activity:
    return MessageFactory.attachment(CardFactory.adaptive_card(card))


def others_card_for(ask: MeetingRequest, doing: str, lang: Language) -> dict[str, Any]:
    """What everyone but the requester sees of `ask`'s card in a shared chat, in the
    requester's language; `doing` is a message with a `{name}` field."""
    return others_card(
        name=ask.user.name or "",
        subject=ask.subject or None,
        doing=doing,
        owner_id=ask.user.id,
        request=ask.key,
        lang=lang,
    )


def in_shared_chat(activity: Activity) -> bool:
    conversation = activity.conversation
    return conversation is not None and conversation.conversation_type in SHARED_SCOPES


def conversation_of(turn_context: TurnContext) -> str:
    """The conversation requests are kept under (a channel post's thread, in channels)."""
    return ReplyAddress.of(turn_context.activity).conversation_id
