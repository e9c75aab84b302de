"""The bot's message handling: commands in; a meeting card, a sign-in card or one line out."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botbuilder.core import (
    ActivityHandler,
    CardFactory,
    MessageFactory,
    PrivateConversationState,
    TurnContext,
)
from botbuilder.core.teams import TeamsInfo
from botbuilder.dialogs import DialogContext, DialogSet, DialogTurnResult, DialogTurnStatus
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount

from bot.address import ReplyAddress
from bot.asks import MeetingAsk, person_key
from bot.cards import (
    help_card,
    meeting_card,
    meeting_summary,
    retry_card,
    sign_in_card,
    unknown_card,
    welcome_card,
)
from bot.commands import CommandName, parse_command
from bot.identity import SignInRequired, TeamsUser
from bot.ledger import OutcomeUnknown, RequestInProgress
from bot.meetings import MeetingScheduler
from bot.outbox import Outbox
from bot.replies import explain
from bot.signin import SignInFlows
from bot.storage import ETagConflict, SqliteStorage
from bot.teams import command_text, teams_user, text_without_mentions, user_locale, user_timezone
from bot.tokens import DelegatedTokenProvider, NoWorkAccount, SignInFailed
from bot.waiting import WaitingRequests
from dialogs.meeting_dialog import MeetingDialog, MeetingRequestDraft
from dialogs.request import RequestError, parse_request
from dialogs.zones import zone_to_text
from graph import (
    GraphError,
    GraphOutcomeUnknown,
    GraphThrottled,
    GraphUnauthorized,
    GraphUnavailable,
    GraphUnreachable,
    OnlineMeeting,
)

log = logging.getLogger(__name__)

# How long a creation may take before the user is shown a typing indicator.
TYPING_AFTER_SECONDS = 0.5

HELP_TEXT = (
    "I create Teams meetings with you as the organizer. Try **/meet Design review tomorrow 3pm "
    "for 45m**, or just **/meet** and I'll ask. Without a length a meeting lasts {minutes} "
    "minutes. Type **cancel** to stop a request; **/signin** and **/signout** manage your sign-in."
)


@dataclass(frozen=True)
class SignIn:
    """What delegated mode needs to ask people to sign in; absent in application mode."""

    flows: SignInFlows
    tokens: DelegatedTokenProvider


class MeetingBot(ActivityHandler):
    """Routes commands and dialog turns; the meeting work itself lives in MeetingScheduler."""

    def __init__(
        self,
        scheduler: MeetingScheduler,
        storage: SqliteStorage,
        *,
        waiting: WaitingRequests,
        outbox: Outbox,
        sign_in: SignIn | None,
        default_minutes: int,
        default_timezone: str,
        ask_passcode: bool = False,
        skip_confirmation: bool = False,
        answer_within_seconds: float = 5.0,
        app_id: str = "",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self._scheduler = scheduler
        self._sign_in = sign_in
        self._default_length = timedelta(minutes=default_minutes)
        self._default_timezone = default_timezone
        self._ask_passcode = ask_passcode
        self._clock = clock
        # Dialog state per user *and* conversation: two people using the bot in one channel
        # never see or disturb each other's questions.
        self._state = PrivateConversationState(storage)
        self._dialogs = DialogSet(self._state.create_property("DialogState"))
        self._dialogs.add(
            MeetingDialog(
                default_length=self._default_length,
                ask_passcode=ask_passcode,
                skip_confirmation=skip_confirmation,
                clock=clock,
            )
        )
        self._skip_confirmation = skip_confirmation
        self._turns = KeyedLocks()
        self._answer_within = answer_within_seconds
        self._app_id = app_id
        self._background: set[asyncio.Task[None]] = set()
        self._storage = storage
        # Requests waiting for a sign-in, or for a Retry or Create another press.
        self._waiting = waiting
        self._outbox = outbox

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        conversation = activity.conversation.id if activity.conversation else ""
        sender = activity.from_property.id if activity.from_property else ""
        # Per user and conversation. Teams' two install announcements come from the same
        # installer, so this also keeps them from both posting a welcome.
        key = f"{conversation}|{sender}"
        # One turn at a time per user and conversation in this process; across processes the
        # storage's ETags catch a race instead of losing an update.
        async with self._turns.hold(key):
            await super().on_turn(turn_context)
            try:
                await self._state.save_changes(turn_context)
            except ETagConflict:
                await turn_context.send_activity(
                    "Two of your messages arrived at once and I kept the first. "
                    "Please send the last one again."
                )

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        # Once, before anyone reads it: commands and every dialog answer see the text unmentioned.
        turn_context.activity.text = text_without_mentions(turn_context.activity)
        dialog = await self._dialogs.create_context(turn_context)
        command = parse_command(command_text(turn_context.activity))
        value = turn_context.activity.value
        owner = value.get("owner") if isinstance(value, dict) else None
        if owner and owner != _person(turn_context.activity):
            await turn_context.send_activity(
                "Only the person who asked for this meeting can confirm or cancel it. "
                "Type **/meet** to create your own."
            )
        elif command.name is CommandName.MEET:
            await dialog.cancel_all_dialogs()  # a new /meet replaces an unfinished one
            await self._meet(dialog, command.argument)
        elif command.name is CommandName.CANCEL:
            if dialog.active_dialog is None:
                await turn_context.send_activity("There is nothing to cancel.")
            else:
                await dialog.cancel_all_dialogs()
                await turn_context.send_activity("Cancelled. Nothing was created.")
        elif command.name is CommandName.HELP:
            await turn_context.send_activity(self._help_card())
            if dialog.active_dialog is not None:
                await dialog.reprompt_dialog()
        elif command.name is CommandName.SIGNIN:
            await self._signin(turn_context)
        elif command.name is CommandName.SIGNOUT:
            await self._signout(turn_context)
        elif isinstance(value, dict) and value.get("meet") in ("retry", "another"):
            await self._ask_again(turn_context, str(value.get("request")), value["meet"])
        elif dialog.active_dialog is not None:
            await self._finish(dialog, await dialog.continue_dialog())
        elif turn_context.activity.value:
            await turn_context.send_activity(
                "That card is no longer active. Type **/meet** to start a new request."
            )
        elif not command.word:
            await turn_context.send_activity(self._help_card())
        else:
            await turn_context.send_activity(
                f"I don't know '{command.word[:40]}'. Type **/meet** followed by a subject, "
                "or **/help** to see what I can do."
            )

    async def resume_after_sign_in(
        self, adapter: Any, user: TeamsUser, signed_in_at: ReplyAddress
    ) -> None:
        """Finish each request that waited for `user` to sign in, in the chat it came from."""
        waiting = await self._waiting.take_signed_in(user)
        if not waiting:
            await self._proactively(
                adapter,
                signed_in_at,
                _say("You're signed in. Type **/meet** followed by a subject to create a meeting."),
            )
        for each in waiting:
            if each.expired:
                expired = _say(
                    f"You're signed in, but your request for **{each.ask.subject}** waited too "
                    "long and has expired: nothing was created. Type **/meet** to ask again."
                )
                await self._proactively(adapter, each.ask.address, expired)
            else:
                create = functools.partial(
                    self._create, ask=each.ask, replaces=each.card_id, proactive=True
                )
                await self._proactively(adapter, each.ask.address, create)

    async def recover(self, adapter: Any, overdue_after: float) -> None:
        """Answer the requests whose answer a process that died still owed."""
        await self._waiting.sweep()
        for entry in await self._outbox.overdue(overdue_after):
            log.info("answering a request left unanswered by an earlier process")
            answer = functools.partial(
                self._create,
                ask=entry.ask,
                replaces=entry.replaces,
                owner=entry.owner,
                proactive=True,
            )
            await self._proactively(adapter, entry.ask.address, answer)

    async def tell(self, adapter: Any, address: ReplyAddress, text: str) -> None:
        """One line, proactively, in the chat at `address`."""
        await self._proactively(adapter, address, _say(text))

    async def _proactively(
        self,
        adapter: Any,
        address: ReplyAddress,
        logic: Callable[[TurnContext], Awaitable[Any]],
    ) -> None:
        try:
            await adapter.continue_conversation(address.reference(), logic, self._app_id or None)
        except Exception:
            log.exception("could not continue a conversation")

    async def _meet(self, dialog: DialogContext, text: str) -> None:
        """Read the command, then let the dialog ask for whatever it left out."""
        activity = dialog.context.activity
        tz = user_timezone(activity, self._default_timezone)
        try:
            parsed = parse_request(
                text, now=self._clock(), tz=tz, default_length=self._default_length
            )
        except RequestError as error:
            await dialog.context.send_activity(explain(error))
            return
        draft = MeetingRequestDraft(
            timezone=zone_to_text(tz),
            subject=parsed.subject,
            start=parsed.start.isoformat() if parsed.start else None,
            end=parsed.end.isoformat() if parsed.end else None,
            length_given=parsed.length_given,
            complete_command=bool(parsed.subject and parsed.start),
            owner=_person(activity),
            # A retried delivery of the same activity is the same request.
            request_id=f"{activity.conversation.id}|{activity.id or uuid.uuid4()}",
            # A complete command asks nothing, so "ask" falls back to requiring a passcode.
            passcode_required=True if self._ask_passcode and parsed.start else None,
        )
        if draft.complete_command and self._skip_confirmation:
            # Nothing to ask and nothing to confirm: the dialog would end where it begins.
            await self._create(dialog.context, _ask(draft, activity))
            return
        await self._finish(
            dialog, await dialog.begin_dialog(MeetingDialog.__name__, draft.to_options())
        )

    async def _finish(self, dialog: DialogContext, result: DialogTurnResult) -> None:
        """When the dialog ends: create the meeting, or say it was cancelled.

        An outcome reached by pressing a button on the confirmation card replaces that card, so
        the chat keeps no stale buttons.
        """
        if result.status is not DialogTurnStatus.Complete or not result.result:
            return
        activity = dialog.context.activity
        card_id = activity.reply_to_id if isinstance(activity.value, dict) else None
        if result.result.get("cancelled"):
            await self._reply(
                dialog.context, MessageFactory.text("Cancelled. Nothing was created."), card_id
            )
            return
        draft = MeetingRequestDraft(**result.result)
        await self._create(dialog.context, _ask(draft, activity), replaces=card_id)

    async def _create(
        self,
        turn_context: TurnContext,
        ask: MeetingAsk,
        *,
        replaces: str | None = None,
        owner: str | None = None,
        proactive: bool = False,
    ) -> None:
        """Create the meeting and answer; the answer replaces the message `replaces`, if any.

        While Teams waits for this turn, Teams itself redelivers it if this process dies. Once
        the answer will come after the turn (a slow Graph) or outside any turn (`proactive`),
        it is first written down in the outbox, so another process still answers. `owner`:
        this call already owes the answer (a recovery).
        """
        if owner is None and proactive:
            owner = await self._outbox.record(ask, replaces)  # None: another delivery owes it
        creation = asyncio.ensure_future(self._scheduler.create(ask))
        # Most meetings are ready well within a second: the card itself is the first thing the
        # user sees. Otherwise a typing indicator shows that something is happening.
        typing_after = min(TYPING_AFTER_SECONDS, self._answer_within)
        done, _ = await asyncio.wait({creation}, timeout=typing_after)
        if not done:
            try:
                await turn_context.send_activity(Activity(type=ActivityTypes.typing))
            except Exception:  # cosmetic: the meeting is on its way regardless
                log.warning("could not show the typing indicator", exc_info=True)
            done, _ = await asyncio.wait({creation}, timeout=self._answer_within - typing_after)
        if creation in done:
            await self._answer(turn_context, ask, creation, replaces, owner)
            return
        # Graph is slow: answer now (Teams resends an activity it waited 15 s for) and post the
        # meeting in place of this note when it is ready.
        if owner is None and not proactive:
            owner = await self._outbox.record(ask, replaces)  # the turn ends before the answer
        note = await self._note(turn_context, replaces)
        if owner is not None and note is not None:
            try:
                await self._outbox.replaces(ask, owner, note)
            except Exception:  # the answer then comes as a new message, not in place of the note
                log.exception("could not note where the answer goes")
        later = asyncio.create_task(
            self._proactively(
                turn_context.adapter,
                ask.address,
                functools.partial(
                    self._answer,
                    ask=ask,
                    creation=creation,
                    replaces=note or replaces,
                    owner=owner,
                ),
            )
        )
        self._background.add(later)
        later.add_done_callback(self._background.discard)

    async def _note(self, turn_context: TurnContext, replaces: str | None) -> str | None:
        """Say the meeting is on its way (in place of `replaces`); the message's id, if any."""
        note = MessageFactory.text("Creating your meeting… it will appear here in a moment.")
        try:
            if replaces is not None:
                note.id = replaces
                await turn_context.update_activity(note)
                return replaces
            sent = await turn_context.send_activity(note)
        except Exception:  # the meeting is on its way regardless; its answer comes later
            log.warning("could not post the 'Creating your meeting' note", exc_info=True)
            return replaces
        return sent.id if sent is not None else None

    async def drain(self) -> None:
        """Let meetings still being created finish (at shutdown)."""
        if self._background:
            await asyncio.wait(self._background, timeout=30)

    async def _answer(
        self,
        turn_context: TurnContext,
        ask: MeetingAsk,
        creation: asyncio.Future[OnlineMeeting],
        replaces: str | None,
        owner: str | None,
    ) -> None:
        """Answer with the outcome once there is one; strike the outbox entry if this owed it."""
        if not creation.done():
            await asyncio.wait({creation})
        try:
            await self._deliver(turn_context, ask, creation, replaces)
        except Exception:
            log.exception("could not post the answer to a meeting request")
            if replaces is not None:
                # Putting the answer in place of a message can safely be tried again: a later
                # recovery pass does. A new message is not tried again: a Bot Connector 500 may
                # have posted it, and an apology could send the user to make a second meeting.
                return
        if owner is None:
            return
        try:
            await self._outbox.done(ask, owner)
        except Exception:  # answered already; a later recovery pass finds it again
            log.exception("could not strike an answered request from the outbox")

    async def _deliver(
        self,
        turn_context: TurnContext,
        ask: MeetingAsk,
        creation: asyncio.Future[OnlineMeeting],
        replaces: str | None,
    ) -> None:
        """Answer with the meeting card, a sign-in card, a Retry card or one line."""
        owner = ask.user.person_id
        try:
            meeting = creation.result()
        except (SignInRequired, GraphUnauthorized) as error:
            if self._sign_in is None:
                await self._reply(turn_context, MessageFactory.text(explain(error)), replaces)
                return
            # Keep the request; it is created the moment the user is back from signing in, in
            # place of the sign-in card (which itself takes the place of what it answers).
            card_id = await self._send_sign_in_card(
                turn_context, ask.user, pending_subject=ask.subject, replaces=replaces
            )
            await self._waiting.keep(ask, for_sign_in=True, card_id=card_id)
            return
        except (GraphThrottled, GraphUnavailable, GraphUnreachable, GraphOutcomeUnknown) as error:
            # Graph stayed busy beyond the retry budget, and did not act (or createOrGet makes
            # acting twice harmless; the ledger turns a plain create's unknown outcome into
            # OutcomeUnknown): keep the request for a Retry press.
            log.info(
                "meet request deferred: %s (request-id %s)", type(error).__name__, error.request_id
            )
            card = retry_card(explain(error), owner=owner, request=ask.key)
            await self._waiting.keep(ask, for_sign_in=False)
            await self._reply(turn_context, _card_message(card), replaces)
            return
        except OutcomeUnknown as error:
            log.warning(
                "meet request outcome unknown (request-id %s)",
                error.cause.request_id if error.cause else None,
            )
            card = unknown_card(explain(error), owner=owner, request=ask.key)
            await self._waiting.keep(ask, for_sign_in=False)
            await self._reply(turn_context, _card_message(card), replaces)
            return
        except (NoWorkAccount, SignInFailed, GraphError, RequestInProgress) as error:
            log.info(
                "meet request not fulfilled: %s %s (request-id %s)",
                type(error).__name__,
                getattr(error, "code", ""),
                getattr(error, "request_id", None),
            )
            await self._reply(turn_context, MessageFactory.text(explain(error)), replaces)
            return
        except Exception as error:  # a bug still gets a true sentence
            log.exception("meet request failed", exc_info=error)
            await self._reply(turn_context, MessageFactory.text(explain(error)), replaces)
            return
        reply = _card_message(meeting_card(meeting, ask.tz))
        reply.summary = meeting_summary(meeting, ask.tz)
        await self._reply(turn_context, reply, replaces)

    async def _reply(
        self, turn_context: TurnContext, reply: Activity, replaces: str | None
    ) -> str | None:
        """Send `reply`, or put it in place of the card message `replaces`; the message's id."""
        if replaces:
            reply.id = replaces
            try:
                await turn_context.update_activity(reply)
            except Exception:  # noqa: BLE001 - a client that can't update still gets the answer
                log.info("could not update the card in place; sending a new message")
            else:
                return replaces
            reply.id = None
        sent = await turn_context.send_activity(reply)
        return sent.id if sent is not None else None

    async def _ask_again(self, turn_context: TurnContext, key: str, how: str) -> None:
        """Retry or Create another: the kept request again, in place of its card."""
        mine = key.startswith(person_key(teams_user(turn_context.activity)) + "/")
        waiting = await self._waiting.take(key[:200]) if mine else None
        if waiting is None:
            await turn_context.send_activity(
                "That request is no longer waiting. Type **/meet** to start a new one."
            )
            return
        if waiting.expired:
            await turn_context.send_activity(
                f"Your request for **{waiting.ask.subject}** has expired; nothing more was "
                "created. Type **/meet** to ask again."
            )
            return
        ask = waiting.ask.again() if how == "another" else waiting.ask
        await self._create(turn_context, ask, replaces=turn_context.activity.reply_to_id)

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
        self,
        turn_context: TurnContext,
        user: TeamsUser,
        *,
        pending_subject: str | None,
        replaces: str | None = None,
    ) -> str | None:
        assert self._sign_in is not None
        address = ReplyAddress.of(turn_context.activity)
        url = await self._sign_in.flows.begin(user, address, await _login_hint(turn_context))
        card = sign_in_card(url, pending_subject=pending_subject)
        return await self._reply(turn_context, _card_message(card), replaces)

    def _help(self) -> str:
        return HELP_TEXT.format(minutes=int(self._default_length.total_seconds() // 60))

    def _help_card(self) -> Activity:
        card = help_card(self._help())
        return MessageFactory.attachment(CardFactory.adaptive_card(card))

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self._welcome(turn_context)

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        await self._storage.delete([_welcome_key(turn_context.activity)])

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        # Only the bot's own arrival is news; other people joining a chat is not.
        if any(m.id == turn_context.activity.recipient.id for m in members_added):
            await self._welcome(turn_context)

    async def on_members_removed_activity(
        self, members_removed: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        if any(m.id == turn_context.activity.recipient.id for m in members_removed):
            await self._storage.delete([_welcome_key(turn_context.activity)])

    async def _welcome(self, turn_context: TurnContext) -> None:
        """One welcome per installation: Teams announces an install twice (two activities)."""
        key = _welcome_key(turn_context.activity)
        if await self._storage.read([key]):
            return
        await self._storage.write({key: {"welcomed": True}})
        card = welcome_card(self._help())
        await turn_context.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))


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


class KeyedLocks:
    """An asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


def _ask(draft: MeetingRequestDraft, activity: Activity) -> MeetingAsk:
    """A request the command or the dialog completed, from the person who sent `activity`."""
    return MeetingAsk(
        user=teams_user(activity),
        subject=draft.subject or "Teams meeting",
        start=datetime.fromisoformat(draft.start or ""),
        end=datetime.fromisoformat(draft.end or ""),
        timezone=draft.timezone,
        locale=user_locale(activity),
        passcode_required=draft.passcode_required,
        request_id=draft.request_id or str(uuid.uuid4()),
        address=ReplyAddress.of(activity),
    )


def _say(text: str) -> Callable[[TurnContext], Awaitable[None]]:
    async def say(turn_context: TurnContext) -> None:
        await turn_context.send_activity(text)

    return say


def _card_message(card: dict[str, Any]) -> Activity:
    return MessageFactory.attachment(CardFactory.adaptive_card(card))


def _welcome_key(activity: Activity) -> str:
    conversation = activity.conversation.id if activity.conversation else ""
    return f"welcome/{conversation.split(';messageid=')[0]}"


def _person(activity: Activity) -> str:
    """Who sent this, stably (see TeamsUser.person_id)."""
    return teams_user(activity).person_id
