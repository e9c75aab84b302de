"""Where to answer later: the few ids of a conversation reference, as typed plain data.

Kept instead of a serialized ConversationReference, whose accounts and conversation carry the
sender's free-form `properties`: stored inbound data must be only what the bot needs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ConversationReference


@dataclass(frozen=True)
class ReplyAddress:
    """A conversation (a channel's thread, for channel messages) and who is in it."""

    service_url: str
    channel_id: str
    conversation_id: str
    conversation_type: str | None
    tenant_id: str | None
    is_group: bool | None
    bot_id: str
    bot_name: str | None
    user_id: str
    user_aad_object_id: str | None
    user_name: str | None
    activity_id: str | None
    locale: str | None

    @classmethod
    def of(cls, activity: Activity) -> ReplyAddress:
        """Where to answer `activity`: in a channel, the thread of the asking message."""
        reference = TurnContext.get_conversation_reference(activity)
        conversation: ConversationAccount = reference.conversation
        conversation_id = conversation.id
        if (
            conversation.conversation_type == "channel"
            and ";messageid=" not in conversation_id
            and activity.id
        ):
            conversation_id = f"{conversation_id};messageid={activity.id}"
        return cls(
            service_url=reference.service_url,
            channel_id=reference.channel_id or "",
            conversation_id=conversation_id,
            conversation_type=conversation.conversation_type,
            tenant_id=conversation.tenant_id,
            is_group=conversation.is_group,
            bot_id=reference.bot.id,
            bot_name=reference.bot.name,
            user_id=reference.user.id,
            user_aad_object_id=reference.user.aad_object_id,
            user_name=reference.user.name,
            activity_id=reference.activity_id,
            locale=reference.locale,
        )

    def reference(self) -> ConversationReference:
        return ConversationReference(
            activity_id=self.activity_id,
            user=ChannelAccount(
                id=self.user_id, name=self.user_name, aad_object_id=self.user_aad_object_id
            ),
            bot=ChannelAccount(id=self.bot_id, name=self.bot_name),
            conversation=ConversationAccount(
                id=self.conversation_id,
                conversation_type=self.conversation_type,
                tenant_id=self.tenant_id,
                is_group=self.is_group,
            ),
            channel_id=self.channel_id,
            service_url=self.service_url,
            locale=self.locale,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplyAddress:
        """The address `to_json` wrote; TypeError when a field is missing or of another type."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            value = data[field.name]
            allowed = bool if field.name == "is_group" else str
            nullable = field.name not in ("service_url", "channel_id", "conversation_id")
            nullable = nullable and field.name not in ("bot_id", "user_id")
            if not (isinstance(value, allowed) or (nullable and value is None)):
                raise TypeError(f"{field.name} has the wrong type")
            values[field.name] = value
        return cls(**values)
