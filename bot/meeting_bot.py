"""The bot's message handling: command in, meeting card (or one friendly line) out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from botbuilder.core import ActivityHandler, CardFactory, MessageFactory, TurnContext

from bot.cards import meeting_card, meeting_summary
from bot.commands import CommandName, parse_command
from bot.identity import SignInRequired
from bot.meetings import MeetingScheduler
from bot.replies import explain
from bot.teams import teams_user, user_locale, user_timezone
from dialogs.request import RequestError, parse_request
from graph import GraphError

log = logging.getLogger(__name__)

HELP_TEXT = (
    "I create Teams meetings for you. Try **/meet Standup** (starts now, "
    "{minutes} minutes) or **/meet Sync 2026-12-01T10:00 45m**."
)


class MeetingBot(ActivityHandler):
    """Routes message commands; the meeting work itself lives in MeetingScheduler."""

    def __init__(
        self,
        scheduler: MeetingScheduler,
        *,
        default_minutes: int,
        default_timezone: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self._scheduler = scheduler
        self._default_length = timedelta(minutes=default_minutes)
        self._default_timezone = default_timezone
        self._clock = clock

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        command = parse_command(turn_context.activity.text or "")
        if command.name is CommandName.MEET:
            await self._meet(turn_context, command.argument)
        elif command.name is CommandName.HELP or not command.word:
            await turn_context.send_activity(self._help())
        else:
            await turn_context.send_activity(
                f"I don't know '{command.word[:40]}'. Type **/meet** followed by a subject, "
                "or **/help** to see what I can do."
            )

    async def _meet(self, turn_context: TurnContext, text: str) -> None:
        activity = turn_context.activity
        tz = user_timezone(activity, self._default_timezone)
        now = self._clock()
        try:
            draft = parse_request(text, now=now, tz=tz, default_length=self._default_length)
            if draft.subject is None:
                await turn_context.send_activity(
                    "What is the meeting about? Type **/meet** followed by a subject, "
                    "for example **/meet Standup**."
                )
                return
            start = draft.start or now.astimezone(tz)
            end = draft.end or start + self._default_length
            meeting = await self._scheduler.create(
                teams_user(activity),
                subject=draft.subject,
                start=start,
                end=end,
                locale=user_locale(activity),
            )
        except (RequestError, SignInRequired, GraphError) as error:
            log.info(
                "meet request not fulfilled: %s %s (request-id %s)",
                type(error).__name__,
                getattr(error, "code", ""),
                getattr(error, "request_id", None),
            )
            await turn_context.send_activity(explain(error))
            return
        reply = MessageFactory.attachment(CardFactory.adaptive_card(meeting_card(meeting, tz)))
        reply.summary = meeting_summary(meeting, tz)
        await turn_context.send_activity(reply)

    def _help(self) -> str:
        return HELP_TEXT.format(minutes=int(self._default_length.total_seconds() // 60))
