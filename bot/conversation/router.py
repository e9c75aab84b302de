"""The bot's message handling: commands in; a meeting card, a sign-in card or one line out."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
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
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    ChannelAccount,
)

from bot.conversation.cards import (
    closed_card,
    help_card,
    meeting_card,
    meeting_summary,
    others_card,
    request_card,
    retry_card,
    sign_in_card,
    unknown_card,
    welcome_card,
)
from bot.conversation.commands import CommandName, parse_command
from bot.conversation.replies import explain
from bot.conversation.teams import (
    command_text,
    teams_user,
    text_without_mentions,
    user_locale,
    user_timezone,
)
from bot.framework.address import ReplyAddress
from bot.identity.signin import SignInFlows
from bot.identity.tokens import DelegatedTokenProvider, NoWorkAccount, SignInFailed
from bot.identity.users import SignInRequired, TeamsUser
from bot.meetings.ledger import OutcomeUnknown, RequestInProgress
from bot.meetings.open_requests import CONFIRM, EDIT, SUBMITTED, OpenRequest, OpenRequests
from bot.meetings.outbox import Outbox
from bot.meetings.request import WAIT_HOURS, MeetingAsk, person_key
from bot.meetings.scheduler import MeetingScheduler
from bot.meetings.waiting import Waiting, WaitingRequests
from bot.state.storage import ETagConflict, SqliteStorage
from dialogs.cards import PICKER_LEAD, answered_card, next_quarter_hour
from dialogs.meeting_dialog import MeetingDialog, MeetingRequestDraft
from dialogs.request import RequestError, check_subject, parse_request, validate_times
from dialogs.zones import zone_from_text, zone_to_text
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

CREATING_NOTE = "Creating the meeting… it will appear here in a moment."
# Teams delivers group chat and channel messages only when they mention the bot: no questions
# in words there, and what is personal goes to the requester's own view of a card.
SHARED_SCOPES = ("groupChat", "channel")
# A card's buttons, typed.
TYPED_CHOICES = {
    "create": "create",
    "yes": "create",
    "ok": "create",
    "change": "edit",
    "edit": "edit",
    "no": "cancel",
}
# The form's inputs, as they arrive with Create.
FORM_FIELDS = frozenset({"subject", "date", "time", "minutes", "passcode"})

HELP_TEXT = (
    "I create Teams meetings with you as the organizer. Try “/meet Design review tomorrow 3pm "
    "for 45m”, or just /meet and I'll ask. Without a length a meeting lasts {minutes} "
    "minutes. Type cancel to stop a request; /signin and /signout manage your sign-in."
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
        open_requests: OpenRequests,
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
        # The dialog's open question card, {"id", "question"}: closed once it is over.
        self._question = self._state.create_property("QuestionCard")
        self._dialogs.add(
            MeetingDialog(
                default_length=self._default_length,
                ask_passcode=ask_passcode,
                ask=self._ask_question,
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
        # The request on each person's card (confirmation or form), per conversation.
        self._open = open_requests

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
        value = turn_context.activity.value
        if not turn_context.activity.text and _pressed_answer(value):
            turn_context.activity.text = value["answer"]  # a question card's button, as if typed
        dialog = await self._dialogs.create_context(turn_context)
        command = parse_command(command_text(turn_context.activity))
        if isinstance(value, dict) and isinstance(value.get("meet"), str):
            # A card button on a client without Universal Actions (Action.Submit).
            await self._pressed_without_invoke(turn_context, value)
        elif command.name is CommandName.MEET:
            # A new /meet replaces an unfinished one.
            await self._close_question(turn_context, "Replaced by a newer request.")
            await dialog.cancel_all_dialogs()
            await self._meet(dialog, command.argument)
        elif command.name is CommandName.CANCEL:
            await self._cancel_typed(dialog)
        elif command.name is CommandName.HELP:
            await turn_context.send_activity(self._help_card())
            if dialog.active_dialog is not None:
                await self._close_question(turn_context, "Asked again below.")
                await dialog.reprompt_dialog()
        elif command.name is CommandName.SIGNIN:
            await self._signin(turn_context)
        elif command.name is CommandName.SIGNOUT:
            await self._signout(turn_context)
        elif dialog.active_dialog is not None and not await self._on_current_question(turn_context):
            # A press on an earlier question's card (a client still showing its buttons): that
            # card was closed with its answer when it was answered; the open question stays.
            log.info("ignored a press on an answered question card")
        elif dialog.active_dialog is not None:
            await self._finish(dialog, await dialog.continue_dialog())
        elif (
            not value  # an old question card's Yes is not a typed yes
            and (verb := TYPED_CHOICES.get(command.word.lower()))
            and await self._open.get(teams_user(turn_context.activity), _conversation(turn_context))
        ):
            await self._pressed_without_invoke(turn_context, {"meet": verb}, typed=True)
        elif turn_context.activity.value:
            # A press on a card whose question or request has ended (its buttons were removed,
            # but a client may still show them): nothing to do, and no new line in the chat.
            log.info("ignored a press on a card that has ended")
        elif not command.word:
            await turn_context.send_activity(self._help_card())
        else:
            await turn_context.send_activity(
                f"I don't know '{command.word[:40]}'. Type /meet followed by a subject, "
                "or /help to see what I can do."
            )

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        """A card button (Action.Execute) or a card refresh: answered with the card to show.

        The answer goes to the presser's client only, so each person sees their own view and a
        press never adds a message to the chat.
        """
        action = invoke_value.action or {}
        data: dict[str, Any] = action["data"] if isinstance(action.get("data"), dict) else {}
        verb = action.get("verb") if isinstance(action.get("verb"), str) else ""
        try:
            shown = await self._card_action(turn_context, {**data, "meet": verb})
        except Exception:
            # Answered in the card, for the presser alone: the turn's error handler would post a
            # line in the chat (public in a group chat) and the client would show a failure.
            log.exception("a card action failed")
            shown = Shown(closed_card("Something went wrong on my side. Try again in a moment."))
        return AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=shown.card
        )

    async def _pressed_without_invoke(
        self, turn_context: TurnContext, value: dict[str, Any], *, typed: bool = False
    ) -> None:
        """A button pressed as Action.Submit, or its word typed: the card changes in place.

        Only a card the bot recorded as this person's changes: the message an activity names
        (`replyToId`) is the sender's claim, not a fact.
        """
        if typed and _shared(turn_context.activity):
            # Their card's own view is theirs alone; a typed word can't show it to them.
            await turn_context.send_activity("Use the buttons on your card: only you see them.")
            return
        shown = await self._card_action(turn_context, value)
        if shown.private or shown.posted or shown.card_id is None:
            return  # only an invoke answer is seen by the presser alone
        await self._reply(turn_context, _card_message(shown.card), shown.card_id)

    async def _cancel_typed(self, dialog: DialogContext) -> None:
        turn_context = dialog.context
        open_request = await self._open.get(
            teams_user(turn_context.activity), _conversation(turn_context)
        )
        if dialog.active_dialog is not None:
            await self._close_question(turn_context, "Cancelled.")
            await dialog.cancel_all_dialogs()
        elif open_request is None or open_request.view == SUBMITTED:
            await turn_context.send_activity("There is nothing to cancel.")
            return
        if open_request is not None and open_request.view != SUBMITTED:
            await self._cancel(turn_context, open_request)
        await turn_context.send_activity("Cancelled. Nothing was created.")

    async def resume_after_sign_in(
        self, adapter: Any, user: TeamsUser, signed_in_at: ReplyAddress
    ) -> None:
        """Finish each request that waited for `user` to sign in, in the chat it came from."""
        waiting = await self._waiting.take_signed_in(user)
        if not waiting:
            done = "You're signed in. Type /meet followed by a subject to create a meeting."
            key = _sign_in_card_key(user)
            card = (await self._storage.read([key])).get(key) or {}
            await self._storage.delete([key])
            if card.get("at") == signed_in_at.conversation_id and isinstance(card["card_id"], str):
                # The /signin card itself says so: no button is left to sign in again with.
                signed_in = _card_message(closed_card(done, f"Signed in as {user.name or 'you'}"))
                signed_in.id = card["card_id"]
                await self._proactively(
                    adapter, signed_in_at, functools.partial(_update, activity=signed_in)
                )
            else:
                await self._proactively(adapter, signed_in_at, _say(done))
        for each in waiting:
            if each.expired:
                expired = _say(
                    f"You're signed in, but your request for “{each.ask.subject}” waited too "
                    "long and has expired: nothing was created. Type /meet to ask again."
                )
                await self._proactively(adapter, each.ask.address, expired)
            else:
                create = functools.partial(
                    self._create, ask=each.ask, replaces=each.card_id, proactive=True
                )
                await self._proactively(adapter, each.ask.address, create)

    async def recover(self, adapter: Any, overdue_after: float) -> None:
        """Answer the requests whose answer a process that died still owed."""
        ended = [(w.ask, w.card_id) for w in await self._waiting.sweep()]
        ended += [(r.ask, r.card_id) for r in await self._open.sweep()]
        for ask, card_id in ended:
            if card_id is None:
                continue
            # Left unanswered for a day: its card keeps no buttons that could still act.
            closed = _card_message(
                closed_card(
                    f"This request waited {WAIT_HOURS} hours and has ended. "
                    "Type /meet to ask again.",
                    ask.subject or None,
                )
            )
            closed.id = card_id
            await self._proactively(
                adapter, ask.address, functools.partial(_update, activity=closed)
            )
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
        """Read the command; then confirm it on a card, or ask for whatever it left out.

        In group chats and channels the bot only hears messages that mention it, so nothing is
        asked there in words: the form on the card holds every field.
        """
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
            # A retried delivery of the same activity is the same request.
            request_id=f"{activity.conversation.id}|{activity.id or uuid.uuid4()}",
            # A complete command asks nothing, so "ask" falls back to requiring a passcode.
            passcode_required=True if self._ask_passcode and parsed.start else None,
        )
        await self._replace_open_card(dialog.context)
        if draft.complete_command and self._skip_confirmation:
            # Nothing to ask and nothing to confirm.
            await self._create(dialog.context, self._ask(draft, activity))
        elif draft.complete_command or _shared(activity):
            await self._offer(dialog.context, draft)
        else:
            await self._finish(
                dialog, await dialog.begin_dialog(MeetingDialog.__name__, draft.to_options())
            )

    async def _finish(self, dialog: DialogContext, result: DialogTurnResult) -> None:
        """When the conversation has everything: the request on a card, to confirm."""
        if result.status is not DialogTurnStatus.Complete:
            return
        if not result.result:  # given up after too many misses
            await self._close_question(dialog.context, "Not answered.")
            return
        await self._close_question(dialog.context, _answered(dialog.context.activity))
        await self._offer(dialog.context, MeetingRequestDraft(**result.result))

    async def _ask_question(self, turn_context: TurnContext, question: Activity) -> None:
        """Post the dialog's next question card; the one before it was answered by this turn."""
        await self._close_question(turn_context, _answered(turn_context.activity))
        sent = await turn_context.send_activity(question)
        if sent is not None and sent.id:
            await self._question.set(
                turn_context, {"id": sent.id, "question": question.summary or ""}
            )

    async def _on_current_question(self, turn_context: TurnContext) -> bool:
        """Whether this turn answers the open question: typed, or pressed on its own card."""
        activity = turn_context.activity
        if not activity.value or not activity.reply_to_id:
            return True
        asked = await self._question.get(turn_context)
        return not asked or asked.get("id") == activity.reply_to_id

    async def _close_question(self, turn_context: TurnContext, outcome: str) -> None:
        """Put the last question card, if any, in its final state: no buttons left to press."""
        asked = await self._question.get(turn_context)
        if not asked:
            return
        await self._question.delete(turn_context)
        closed = _card_message(answered_card(asked["question"], outcome))
        closed.id = asked["id"]
        try:
            await turn_context.update_activity(closed)
        except Exception:  # cosmetic: the dialog has moved on either way
            log.info("could not close a question card", exc_info=True)

    def _ask(self, draft: MeetingRequestDraft, activity: Activity) -> MeetingAsk:
        """The request from `draft`, missing fields filled with what the form proposes."""
        tz = zone_from_text(draft.timezone)
        if draft.start and draft.end:
            start, end = datetime.fromisoformat(draft.start), datetime.fromisoformat(draft.end)
        else:
            start = next_quarter_hour(self._clock().astimezone(tz) + PICKER_LEAD)
            end = (start.astimezone(UTC) + self._default_length).astimezone(tz)
        return MeetingAsk(
            user=teams_user(activity),
            subject=draft.subject or "",
            start=start,
            end=end,
            timezone=draft.timezone,
            locale=user_locale(activity),
            passcode_required=draft.passcode_required,
            request_id=draft.request_id or str(uuid.uuid4()),
            address=ReplyAddress.of(activity),
        )

    async def _offer(self, turn_context: TurnContext, draft: MeetingRequestDraft) -> None:
        """Post the request's card: the confirmation, or the form where something is missing.

        In a group chat or channel everyone else sees who is setting up a meeting; the
        requester's client shows their own view in its place.
        """
        ask = self._ask(draft, turn_context.activity)
        editing = not (draft.subject and draft.start)
        request = OpenRequest(ask, None, EDIT if editing else CONFIRM, draft.length_given)
        await self._replace_open_card(turn_context)
        await self._open.put(request)  # before the card: its refresh may come at once
        if ask.address.conversation_type in SHARED_SCOPES:
            card = self._others_card(ask, "is setting up a meeting.")
        else:
            card = self._request_card(request)
        card_id = await self._reply(turn_context, _card_message(card), None)
        await self._open.put(replace(request, card_id=card_id))

    async def _replace_open_card(self, turn_context: TurnContext) -> None:
        """A newer /meet ends this person's open card here: no buttons of it stay live."""
        older = await self._open.get(teams_user(turn_context.activity), _conversation(turn_context))
        if older is None or older.view == SUBMITTED:
            return
        await self._open.close(older)
        if older.card_id:
            replaced = closed_card("Replaced by a newer request.", older.ask.subject or None)
            with contextlib.suppress(Exception):  # cosmetic: the old card's buttons are inert
                await self._reply(turn_context, _card_message(replaced), older.card_id)

    def _request_card(self, request: OpenRequest, error: str | None = None) -> dict[str, Any]:
        ask = request.ask
        return request_card(
            subject=ask.subject,
            start=ask.start,
            end=ask.end,
            tz=ask.tz,
            passcode_required=ask.passcode_required,
            request=ask.key,
            editing=request.view == EDIT or error is not None,
            ask_passcode=self._ask_passcode,
            error=error,
        )

    def _others_card(self, ask: MeetingAsk, doing: str) -> dict[str, Any]:
        return others_card(
            name=ask.user.name or "",
            subject=ask.subject or None,
            doing=doing,
            owner_id=ask.user.id,
            request=ask.key,
        )

    async def _card_action(self, turn_context: TurnContext, value: dict[str, Any]) -> Shown:
        """What a press (or refresh) of a request card does, and the card the presser sees."""
        verb = str(value.get("meet"))
        key = value.get("request")
        user = teams_user(turn_context.activity)
        if isinstance(key, str) and not key.startswith(person_key(user) + "/"):
            by = value.get("by") if isinstance(value.get("by"), str) else "the person who asked"
            # Someone else's card: their view of it, for them alone.
            card = closed_card(
                f"Only {str(by)[:100]} can fill this in. Mention me with /meet "
                "to set up your own meeting."
            )
            return Shown(card, private=True)
        if verb in ("retry", "another"):
            return await self._ask_again(turn_context, str(key or ""), verb)
        request = await self._open.get(user, _conversation(turn_context))
        if request is None or (isinstance(key, str) and request.ask.key != key):
            waiting = await self._waiting.peek(key) if isinstance(key, str) else None
            if waiting is not None:
                return await self._waiting_view(turn_context, waiting)
            return Shown(closed_card("This request has ended. Type /meet to start a new one."))
        if request.view == SUBMITTED:
            # Its outcome is in the chat already; a press shows it again and creates nothing.
            if (waiting := await self._waiting.peek(request.ask.key)) is not None:
                return await self._waiting_view(turn_context, waiting)
            return await self._as_it_is(request)
        if verb == "edit":
            request = await self._open.show(request, EDIT)
        elif verb == "cancel":
            return await self._cancel(turn_context, request)
        elif verb == "create":
            return await self._submit(turn_context, request, value)
        return Shown(
            self._request_card(request),
            card_id=request.card_id,
            private=_shared(turn_context.activity),
        )

    async def _waiting_view(self, turn_context: TurnContext, waiting: Waiting) -> Shown:
        """The requester's view of a request that waits for them: sign in, Retry, or another."""
        ask = waiting.ask
        if waiting.for_sign_in:
            return await self._sign_in_view(turn_context, ask.user, ask.subject)
        card = self._waiting_card(waiting.problem, ask, another=waiting.another)
        return Shown(card, private=_shared(turn_context.activity))

    @staticmethod
    def _waiting_card(problem: str, ask: MeetingAsk, *, another: bool) -> dict[str, Any]:
        if another:
            return unknown_card(problem, request=ask.key)
        return retry_card(problem, request=ask.key)

    async def _as_it_is(self, request: OpenRequest) -> Shown:
        """A submitted request's card as the chat shows it: the meeting, or that it is coming."""
        ask = request.ask
        meeting = await self._scheduler.recall(ask)
        if meeting is None:
            on_its_way = "The meeting is on its way: its card will appear here."
            return Shown(closed_card(on_its_way, ask.subject))
        return Shown(meeting_card(meeting, ask.tz), card_id=request.card_id)

    async def _cancel(self, turn_context: TurnContext, request: OpenRequest) -> Shown:
        await self._open.close(request)
        card = closed_card("Cancelled. Nothing was created.", request.ask.subject or None)
        posted = await self._reply(turn_context, _card_message(card), request.card_id)
        return Shown(card, card_id=posted, posted=True)

    async def _submit(
        self, turn_context: TurnContext, request: OpenRequest, value: dict[str, Any]
    ) -> Shown:
        """Create: the form's fields checked on the server, then the meeting made once."""
        ask = request.ask
        if request.view == EDIT or FORM_FIELDS & value.keys():
            checked = self._read_form(ask, value)
            if isinstance(checked, str):
                request = await self._open.show(replace(request, ask=ask), EDIT)
                form = self._request_card(request, error=checked)
                return Shown(form, private=_shared(turn_context.activity))
            ask = checked
        request = replace(request, ask=ask, view=SUBMITTED)
        await self._open.put(request)
        shown = await self._create(turn_context, ask, replaces=request.card_id)
        return shown or Shown(closed_card("Creating the meeting…", ask.subject))

    def _read_form(self, ask: MeetingAsk, value: dict[str, Any]) -> MeetingAsk | str:
        """The request as the form now says, or what is wrong with it."""
        try:
            subject = check_subject(str(value.get("subject", ask.subject))[:1000])
            if not subject:
                return "Give the meeting a subject."
            local = ask.start.astimezone(ask.tz)
            day = _field(value, "date", f"{local:%Y-%m-%d}", 10)
            at = _field(value, "time", f"{local:%H:%M}", 8)
            minutes = int(_field(value, "minutes", str(_minutes(ask)), 4))
            start = datetime.fromisoformat(f"{day}T{at}").replace(tzinfo=ask.tz)
        except RequestError as error:
            return str(error)
        except ValueError:
            return "Pick a date, a start time and a length."
        if not 0 < minutes <= 24 * 60:
            return "Pick a length between 1 minute and 24 hours."
        end = (start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(ask.tz)
        try:
            validate_times(start, end, now=self._clock())
        except RequestError as error:
            return str(error)
        passcode = ask.passcode_required
        if self._ask_passcode and "passcode" in value:
            passcode = str(value["passcode"]).lower() == "true"
        return replace(ask, subject=subject, start=start, end=end, passcode_required=passcode)

    async def _sign_in_view(
        self, turn_context: TurnContext, user: TeamsUser, subject: str | None = None
    ) -> Shown:
        """The requester's sign-in card: a fresh personal link, shown to them alone."""
        return Shown(await self._sign_in_card(turn_context, user, subject), private=True)

    async def _sign_in_card(
        self, turn_context: TurnContext, user: TeamsUser, subject: str | None
    ) -> dict[str, Any]:
        """A sign-in card with a fresh link for `user`, answered in this conversation."""
        assert self._sign_in is not None
        url = await self._sign_in.flows.begin(
            user, ReplyAddress.of(turn_context.activity), await _login_hint(turn_context)
        )
        return sign_in_card(url, pending_subject=subject)

    async def _create(
        self,
        turn_context: TurnContext,
        ask: MeetingAsk,
        *,
        replaces: str | None = None,
        owner: str | None = None,
        proactive: bool = False,
    ) -> Shown | None:
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
            return await self._answer(turn_context, ask, creation, replaces, owner)
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
        return Shown(closed_card(CREATING_NOTE, ask.subject), card_id=note, posted=True)

    async def _note(self, turn_context: TurnContext, replaces: str | None) -> str | None:
        """Say the meeting is on its way (in place of `replaces`); the message's id, if any."""
        note = MessageFactory.text(CREATING_NOTE)
        try:
            if replaces is not None:
                note.id = replaces
                await turn_context.update_activity(note)
                return replaces
            sent = await turn_context.send_activity(note)
        except Exception:  # the meeting is on its way regardless; its answer comes later
            log.warning("could not post the 'Creating the meeting' note", exc_info=True)
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
    ) -> Shown | None:
        """Answer with the outcome once there is one; strike the outbox entry if this owed it."""
        if not creation.done():
            await asyncio.wait({creation})
        shown = None
        try:
            shown = await self._deliver(turn_context, ask, creation, replaces)
        except Exception:
            log.exception("could not post the answer to a meeting request")
            if replaces is not None:
                # Putting the answer in place of a message can safely be tried again: a later
                # recovery pass does. A new message is not tried again: a Bot Connector 500 may
                # have posted it, and an apology could send the user to make a second meeting.
                return None
        if owner is not None:
            try:
                await self._outbox.done(ask, owner)
            except Exception:  # answered already; a later recovery pass finds it again
                log.exception("could not strike an answered request from the outbox")
        return shown

    async def _deliver(
        self,
        turn_context: TurnContext,
        ask: MeetingAsk,
        creation: asyncio.Future[OnlineMeeting],
        replaces: str | None,
    ) -> Shown:
        """Answer with the meeting card, a sign-in card, a Retry card or one line."""
        try:
            meeting = creation.result()
        except (SignInRequired, GraphUnauthorized) as error:
            if self._sign_in is None:
                return await self._say_in_place(turn_context, explain(error), replaces)
            # Keep the request; it is created the moment the user is back from signing in, in
            # place of the sign-in card (which itself takes the place of what it answers).
            return await self._ask_to_sign_in(turn_context, ask, replaces)
        except (GraphThrottled, GraphUnavailable, GraphUnreachable, GraphOutcomeUnknown) as error:
            # Graph stayed busy beyond the retry budget, and did not act (or createOrGet makes
            # acting twice harmless; the ledger turns a plain create's unknown outcome into
            # OutcomeUnknown): keep the request for a Retry press.
            log.info(
                "meet request deferred: %s (request-id %s)", type(error).__name__, error.request_id
            )
            problem, another = explain(error), False
        except OutcomeUnknown as error:
            log.warning(
                "meet request outcome unknown (request-id %s)",
                error.cause.request_id if error.cause else None,
            )
            problem, another = explain(error), True
        except (NoWorkAccount, SignInFailed, GraphError, RequestInProgress) as error:
            log.info(
                "meet request not fulfilled: %s %s (request-id %s)",
                type(error).__name__,
                getattr(error, "code", ""),
                getattr(error, "request_id", None),
            )
            return await self._say_in_place(turn_context, explain(error), replaces)
        except Exception as error:  # a bug still gets a true sentence
            log.exception("meet request failed", exc_info=error)
            return await self._say_in_place(turn_context, explain(error), replaces)
        else:
            card = meeting_card(meeting, ask.tz)
            reply = _card_message(card)
            reply.summary = meeting_summary(meeting, ask.tz)
            posted = await self._reply(turn_context, reply, replaces)
            return Shown(card, card_id=posted, posted=True)
        # Kept for a Retry or Create another press, which only the requester may make: in a
        # shared chat everyone else sees that the meeting is not ready, without the button.
        card = self._waiting_card(problem, ask, another=another)
        shared = ask.address.conversation_type in SHARED_SCOPES
        public = self._others_card(ask, "is still setting up this meeting.") if shared else card
        posted = await self._reply(turn_context, _card_message(public), replaces)
        await self._waiting.keep(
            ask, for_sign_in=False, card_id=posted, problem=problem, another=another
        )
        return Shown(card, card_id=posted, posted=True, private=shared)

    async def _say_in_place(
        self, turn_context: TurnContext, text: str, replaces: str | None
    ) -> Shown:
        posted = await self._reply(turn_context, MessageFactory.text(text), replaces)
        return Shown(closed_card(text), card_id=posted, posted=True)

    async def _ask_to_sign_in(
        self, turn_context: TurnContext, ask: MeetingAsk, replaces: str | None
    ) -> Shown:
        """The sign-in card in place of `replaces`; in a shared chat, for the requester only."""
        if ask.address.conversation_type not in SHARED_SCOPES:
            card = await self._sign_in_card(turn_context, ask.user, ask.subject)
            card_id = await self._reply(turn_context, _card_message(card), replaces)
            await self._waiting.keep(ask, for_sign_in=True, card_id=card_id)
            return Shown(card, card_id=card_id, posted=True)
        # The link is personal: everyone sees who is signing in; the requester's client swaps
        # in the sign-in card (refresh), and a press answers with it, to them alone.
        public = self._others_card(ask, "is signing in to create this meeting.")
        card_id = await self._reply(turn_context, _card_message(public), replaces)
        await self._waiting.keep(ask, for_sign_in=True, card_id=card_id)
        shown = await self._sign_in_view(turn_context, ask.user, ask.subject)
        return replace(shown, card_id=card_id, posted=True)

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

    async def _ask_again(self, turn_context: TurnContext, key: str, how: str) -> Shown:
        """Retry or Create another: the kept request again, in place of its card."""
        waiting = await self._waiting.take(key[:200])
        if waiting is None:
            # Pressed again (another device, a resent press): show what the first press made.
            request = await self._open.get(
                teams_user(turn_context.activity), _conversation(turn_context)
            )
            if request is not None and request.view == SUBMITTED:
                return await self._as_it_is(request)
            return Shown(closed_card("This request has ended. Type /meet to start a new one."))
        if waiting.expired:
            return Shown(
                closed_card(
                    "This request has expired; nothing more was created. Type /meet to ask again.",
                    waiting.ask.subject,
                )
            )
        ask = waiting.ask.again() if how == "another" else waiting.ask
        # The card shown is now this request's: a later press or typed word reaches its outcome.
        await self._open.put(OpenRequest(ask, waiting.card_id, SUBMITTED, length_given=True))
        shown = await self._create(turn_context, ask, replaces=waiting.card_id)
        return shown or Shown(closed_card(CREATING_NOTE, ask.subject))

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
            if _shared(turn_context.activity):
                await turn_context.send_activity(
                    "A sign-in link is personal, so I don't post one here. Type /signin in a "
                    "1:1 chat with me, or just ask for a meeting: its card asks you alone."
                )
            else:
                card = await self._sign_in_card(turn_context, user, None)
                sent = await turn_context.send_activity(_card_message(card))
                if sent is not None and sent.id:  # it becomes "Signed in" once the user is back
                    await self._storage.write(
                        {
                            _sign_in_card_key(user): {
                                "card_id": sent.id,
                                "at": _conversation(turn_context),
                            }
                        }
                    )
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


@dataclass(frozen=True)
class Shown:
    """The card a press leads to, for the presser, and whether the chat already shows it."""

    card: dict[str, Any]
    card_id: str | None = None  # the message that shows it
    posted: bool = False  # already put in the chat (sent, or in place of the card)
    private: bool = False  # for the presser's eyes only: never put in a shared chat


def _sign_in_card_key(user: TeamsUser) -> str:
    return f"signin-card/{person_key(user)}"


async def _update(turn_context: TurnContext, activity: Activity) -> None:
    await turn_context.update_activity(activity)


def _shared(activity: Activity) -> bool:
    conversation = activity.conversation
    return conversation is not None and conversation.conversation_type in SHARED_SCOPES


def _conversation(turn_context: TurnContext) -> str:
    """The conversation requests are kept under (a channel post's thread, in channels)."""
    return ReplyAddress.of(turn_context.activity).conversation_id


def _field(value: dict[str, Any], name: str, default: str, longest: int) -> str:
    """A form input as text; ValueError when it is longer than any valid one (never cut)."""
    text = value.get(name)
    text = default if text is None or text == "" else str(text)
    if len(text) > longest or not text.isascii():
        raise ValueError(f"{name} is not what the form sends")
    return text


def _minutes(ask: MeetingAsk) -> int:
    return int((ask.end - ask.start).total_seconds() // 60)


def _say(text: str) -> Callable[[TurnContext], Awaitable[None]]:
    async def say(turn_context: TurnContext) -> None:
        await turn_context.send_activity(text)

    return say


def _pressed_answer(value: object) -> bool:
    """A question card's button: {"answer": ...}, not a request card's {"meet": ...}."""
    return isinstance(value, dict) and isinstance(value.get("answer"), str) and "meet" not in value


def _answered(activity: Activity) -> str:
    """The answer a message gave, as the question card it answered shows it."""
    value = activity.value if isinstance(activity.value, dict) else {}
    picked = f"{value.get('date', '')} {value.get('time', '')}".strip()
    return f"✓ {(activity.text or picked)[:100]}"


def _card_message(card: dict[str, Any]) -> Activity:
    return MessageFactory.attachment(CardFactory.adaptive_card(card))


def _welcome_key(activity: Activity) -> str:
    conversation = activity.conversation.id if activity.conversation else ""
    return f"welcome/{conversation.split(';messageid=')[0]}"
