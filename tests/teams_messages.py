"""Pieces of Teams activities for group chats and channels: where a message is, whom it
@mentions, and a message as the requester's client shows it after a card press."""

from __future__ import annotations

from typing import Any

from sandbox.identity import SANDBOX_TENANT_ID

BOT_NAME = "Meet (Dev)"  # a name with regex characters, as people do name bots
CHANNEL = "19:general@thread.tacv2"
CHAT = "19:group@thread.v2"

# A group chat, as fields of an activity (`mentioned(...) | GROUP_CHAT`) and as the keyword
# arguments of `activity`, `say` and `press` (`**IN_GROUP`).
GROUP_CHAT = {"conversation": {"id": CHAT, "conversationType": "groupChat"}}
IN_GROUP: dict[str, Any] = {"conversation_id": CHAT, "conversation_type": "groupChat"}


def mentioned(text: str, **kwargs: Any) -> dict[str, Any]:
    """A channel or group-chat message that @mentions the bot, as Teams sends it."""
    return {
        "text": f"<at>{BOT_NAME}</at> {text}",
        "entities": [
            {
                "type": "mention",
                "text": f"<at>{BOT_NAME}</at>",
                "mentioned": {"id": "28:bot", "name": BOT_NAME},
            },
        ],
        **kwargs,
    }


def in_channel(body: dict[str, Any], message_id: str) -> dict[str, Any]:
    """`body` as a new post `message_id` in a team's channel."""
    return body | {
        "id": message_id,
        "conversation": {
            "id": CHANNEL,
            "conversationType": "channel",
            "tenantId": SANDBOX_TENANT_ID,
        },
        "channelData": {
            "tenant": {"id": SANDBOX_TENANT_ID},
            "channel": {"id": CHANNEL},
            "team": {"id": "19:team@thread.tacv2"},
        },
    }


def showing(message: dict[str, Any], card: dict[str, Any]) -> dict[str, Any]:
    """`message` as the requester's client shows it after an invoke answered with `card`."""
    return message | {"attachments": [{**message["attachments"][0], "content": card}]}
