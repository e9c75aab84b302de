"""A `MeetingRequest` as the bot builds one, for tests of the stores that keep requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.framework.address import ReplyAddress
from bot.identity.users import TeamsUser
from bot.meetings.request import MeetingRequest

ALEX = TeamsUser("29:alex", "alex-oid", "tenant", "Alex")
ADDRESS = ReplyAddress(
    service_url="https://smba.example/",
    channel_id="msteams",
    conversation_id="a:chat",
    conversation_type="personal",
    tenant_id="tenant",
    is_group=None,
    bot_id="28:bot",
    bot_name="Meet",
    user_id="29:alex",
    user_aad_object_id="alex-oid",
    user_name="Alex",
    activity_id="activity-1",
    locale="en-US",
)


def an_ask() -> MeetingRequest:
    """Alex's 30-minute Standup on 1 December 2026, 09:00 UTC, asked in a 1:1 chat."""
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    return MeetingRequest(
        user=ALEX,
        subject="Standup",
        start=start,
        end=start + timedelta(minutes=30),
        timezone="UTC",
        zone_guessed=False,
        locale="en-US",
        passcode_required=None,
        request_id="a:chat|activity-1",
        address=ADDRESS,
    )
