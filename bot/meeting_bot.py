"""The bot's message handling: commands in; a meeting card, a sign-in card or one line out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from botbuilder.core import ActivityHandler, CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo

from bot.cards import meeting_card, meeting_summary, sign_in_card
from bot.commands import CommandName, parse_command
from bot.identity import SignInRequired, TeamsUser
from bot.meetings import MeetingScheduler
from bot.replies import explain
from bot.signin import PendingMeeting, PendingRequests, SignInFlows
from bot.teams import teams_user, user_locale, user_timezone, zone_from_text, zone_to_text
from bot.tokens import DelegatedTokenProvider, NoWorkAccount, SignInFailed
from dialogs.request import RequestError, parse_request
from graph import GraphError, GraphUnauthorized

log = logging.getLogger(__name__)

HELP_TEXT = (
    "I create Teams meetings with you as the organizer. Try **/meet Standup** (starts now, "
    "{minutes} minutes) or **/meet Sync 2026-12-01T10:00 45m**. **/signin** and **/signout** "
    "manage your sign-in."
)


@dataclass(frozen=True)
class SignIn:
    """What delegated mode needs to ask people to sign in; absent in application mode."""

    flows: SignInFlows
    tokens: DelegatedTokenProvider
    pending: PendingRequests


class MeetingBot(ActivityHandler):
    """Routes message commands; the meeting work itself lives in MeetingScheduler."""

    def __init__(
        self,
        scheduler: MeetingScheduler,
        *,
        sign_in: SignIn | None,
        default_minutes: int,
        default_timezone: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self._scheduler = scheduler
        self._sign_in = sign_in
        self._default_length = timedelta(minutes=default_minutes)
        self._default_timezone = default_timezone
        self._clock = clock

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        command = parse_command(turn_context.activity.text or "")
        if command.name is CommandName.MEET:
            await self._meet(turn_context, command.argument)
        elif command.name is CommandName.SIGNIN:
            await self._signin(turn_context)
        elif command.name is CommandName.SIGNOUT:
            await self._signout(turn_context)
        elif command.name is CommandName.HELP or not command.word:
            await turn_context.send_activity(self._help())
        else:
            await turn_context.send_activity(
                f"I don't know '{command.word[:40]}'. Type **/meet** followed by a subject, "
                "or **/help** to see what I can do."
            )

    async def resume_after_sign_in(self, turn_context: TurnContext, user: TeamsUser) -> None:
        """Proactively, in the conversation where the user asked: finish what was waiting."""
        pending = await self._sign_in.pending.take(user) if self._sign_in else None
        if pending is None:
            await turn_context.send_activity(
                "You're signed in. Type **/meet** followed by a subject to create a meeting."
            )
            return
        await self._create(
            turn_context,
            user,
            subject=pending.subject,
            start=datetime.fromisoformat(pending.start),
            end=datetime.fromisoformat(pending.end),
            tz=zone_from_text(pending.timezone),
            locale=pending.locale,
        )

    async def _meet(self, turn_context: TurnContext, text: str) -> None:
        activity = turn_context.activity
        tz = user_timezone(activity, self._default_timezone)
        now = self._clock()
        try:
            draft = parse_request(text, now=now, tz=tz, default_length=self._default_length)
        except RequestError as error:
            await turn_context.send_activity(explain(error))
            return
        if draft.subject is None:
            await turn_context.send_activity(
                "What is the meeting about? Type **/meet** followed by a subject, "
                "for example **/meet Standup**."
            )
            return
        start = draft.start or now.astimezone(tz)
        await self._create(
            turn_context,
            teams_user(activity),
            subject=draft.subject,
            start=start,
            end=draft.end or start + self._default_length,
            tz=tz,
            locale=user_locale(activity),
        )

    async def _create(
        self,
        turn_context: TurnContext,
        user: TeamsUser,
        *,
        subject: str,
        start: datetime,
        end: datetime,
        tz: tzinfo,
        locale: str,
    ) -> None:
        try:
            meeting = await self._scheduler.create(
                user, subject=subject, start=start, end=end, locale=locale
            )
        except (SignInRequired, GraphUnauthorized) as error:
            if self._sign_in is None:
                await turn_context.send_activity(explain(error))
                return
            # Keep the request; it is created the moment the user is back from signing in.
            reference = TurnContext.get_conversation_reference(turn_context.activity)
            await self._sign_in.pending.keep(
                user,
                PendingMeeting(
                    subject=subject,
                    start=start.isoformat(),
                    end=end.isoformat(),
                    timezone=zone_to_text(tz),
                    locale=locale,
                    reference=reference.serialize(),
                ),
            )
            await self._send_sign_in_card(turn_context, user, pending_subject=subject)
            return
        except (NoWorkAccount, SignInFailed, GraphError) as error:
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

    async def _signin(self, turn_context: TurnContext) -> None:
        if self._sign_in is None:
            await turn_context.send_activity(
                "No sign-in needed: this bot creates meetings with its own permission."
            )
            return
        user = teams_user(turn_context.activity)
        try:
            await self._sign_in.tokens.token_for(user)
        except SignInRequired:
            await self._send_sign_in_card(turn_context, user, pending_subject=None)
        except NoWorkAccount as error:
            await turn_context.send_activity(explain(error))
        else:
            await turn_context.send_activity("You're already signed in.")

    async def _signout(self, turn_context: TurnContext) -> None:
        if self._sign_in is None:
            await turn_context.send_activity("Nothing to sign out of: you never signed in here.")
            return
        try:
            await self._sign_in.tokens.sign_out(teams_user(turn_context.activity))
        except NoWorkAccount as error:
            await turn_context.send_activity(explain(error))
            return
        await turn_context.send_activity(
            "You're signed out: I removed your saved sign-in. "
            "Meetings you created stay as they are."
        )

    async def _send_sign_in_card(
        self, turn_context: TurnContext, user: TeamsUser, *, pending_subject: str | None
    ) -> None:
        assert self._sign_in is not None
        reference = TurnContext.get_conversation_reference(turn_context.activity).serialize()
        url = await self._sign_in.flows.begin(user, reference, await _login_hint(turn_context))
        card = sign_in_card(url, pending_subject=pending_subject)
        await turn_context.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))

    def _help(self) -> str:
        return HELP_TEXT.format(minutes=int(self._default_length.total_seconds() // 60))


async def _login_hint(turn_context: TurnContext) -> str:
    """The user's UPN from Teams' roster, so the sign-in page can skip the account picker."""
    if turn_context.activity.channel_id != "msteams":
        return ""
    try:
        member: Any = await TeamsInfo.get_member(
            turn_context, turn_context.activity.from_property.id
        )
    except Exception:
        log.debug("no roster entry for the sign-in hint", exc_info=True)
        return ""
    return str(getattr(member, "user_principal_name", "") or "")
