"""What each message, card press and install does: the router. The work lives in its units.

- `request_cards`: the card a request is shown on, and what its buttons do;
- `delivery`: creating the meeting and putting its answer where it belongs, now or later;
- `sign_in`: personal sign-in cards, /signin and /signout;
- `questions`: the 1:1 dialog's question cards.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botbuilder.core import ActivityHandler, PrivateConversationState, TurnContext
from botbuilder.dialogs import DialogContext, DialogSet, DialogTurnResult, DialogTurnStatus
from botbuilder.schema import (
    Activity,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    ChannelAccount,
)

from bot.conversation.cards import closed_card, help_card, welcome_card
from bot.conversation.commands import CommandName, parse_command
from bot.conversation.delivery import Delivery
from bot.conversation.locks import KeyedLocks
from bot.conversation.messages import (
    Shown,
    card_message,
    conversation_of,
    in_shared_chat,
    reply,
    say,
    update,
)
from bot.conversation.questions import QuestionCards, answered, pressed_answer
from bot.conversation.replies import explain
from bot.conversation.request_cards import CANCELLED, REPLACED, RequestCards
from bot.conversation.sign_in import SIGNED_IN, SignIn, SignInCards
from bot.conversation.teams import (
    command_text,
    teams_user,
    text_without_mentions,
    user_language,
    user_locale,
)
from bot.conversation.time_zones import TimeZones
from bot.framework.address import ReplyAddress
from bot.identity.tokens import SignInFailed
from bot.identity.users import TeamsUser
from bot.meetings.chosen_zones import ChosenZones
from bot.meetings.open_requests import SUBMITTED, OpenRequests
from bot.meetings.outbox import Outbox
from bot.meetings.request import WAIT_HOURS
from bot.meetings.scheduler import MeetingScheduler
from bot.meetings.waiting import WaitingRequests
from bot.state.store import ETagConflict, Store
from dialogs.language import N_, Language, Languages
from dialogs.meeting_dialog import MeetingDialog
from dialogs.request import MeetingDraft, RequestError, parse_request

__all__ = ["MeetingBot", "SignIn"]

log = logging.getLogger(__name__)

# A card's buttons, typed.
TYPED_CHOICES = {
    "create": "create",
    "yes": "create",
    "ok": "create",
    "change": "edit",
    "edit": "edit",
    "no": "cancel",
}

# A chat's welcome marker (so Teams' two install announcements, and later app upgrades, don't
# greet twice) is deleted when the bot is removed, or this long after the last announcement.
WELCOME_DAYS = 365

# Translators: /meet, cancel, /signin and /signout are commands: keep them. The request after
# /meet must be one the bot reads in your language (it reads German, French and Spanish); in
# other languages keep it English.
HELP_TEXT = N_(
    "I create Teams meetings with you as the organizer. Try “/meet Design review tomorrow 3pm "
    "for 45m”, or just /meet and I'll ask. Without a length a meeting lasts {length}. "
    "Type cancel to stop a request; /signin and /signout manage your sign-in."
)


class MeetingBot(ActivityHandler):
    """Routes commands, dialog turns and card presses to the unit that handles them."""

    def __init__(
        self,
        scheduler: MeetingScheduler,
        storage: Store,
        *,
        waiting: WaitingRequests,
        outbox: Outbox,
        open_requests: OpenRequests,
        chosen_zones: ChosenZones,
        sign_in: SignIn | None,
        default_minutes: int,
        default_timezone: str,
        languages: Languages,
        ask_passcode: bool = False,
        skip_confirmation: bool = False,
        answer_within_seconds: float = 5.0,
        app_id: str = "",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self._default_length = timedelta(minutes=default_minutes)
        self._zones = TimeZones(
            chosen_zones, default_timezone=default_timezone, clock=clock, languages=languages
        )
        self._ask_passcode = ask_passcode
        self._skip_confirmation = skip_confirmation
        self._clock = clock
        self._languages = languages
        self._storage = storage
        self._waiting = waiting
        self._open = open_requests
        self._chosen_zones = chosen_zones
        self._turns = KeyedLocks()
        # Dialog state per user *and* conversation: two people using the bot in one channel
        # never see or disturb each other's questions.
        self._state = PrivateConversationState(storage)
        self._dialogs = DialogSet(self._state.create_property("DialogState"))
        self._questions = QuestionCards(self._state.create_property("QuestionCard"), self._language)
        self._dialogs.add(
            MeetingDialog(
                default_length=self._default_length,
                ask_passcode=ask_passcode,
                ask=self._questions.ask,
                language=self._language,
                clock=clock,
            )
        )
        self._sign_in = SignInCards(sign_in, storage, languages, clock=lambda: clock().timestamp())
        self._delivery = Delivery(
            scheduler,
            outbox=outbox,
            waiting=waiting,
            sign_in=self._sign_in,
            answer_within_seconds=answer_within_seconds,
            app_id=app_id,
            languages=languages,
        )
        self._cards = RequestCards(
            self._delivery,
            sign_in=self._sign_in,
            open_requests=open_requests,
            waiting=waiting,
            scheduler=scheduler,
            default_length=self._default_length,
            ask_passcode=ask_passcode,
            clock=clock,
            languages=languages,
        )

    def _language(self, turn_context: TurnContext) -> Language:
        """The language this turn is answered in: the sender's."""
        return user_language(turn_context.activity, self._languages)

    def explain(self, turn_context: TurnContext, error: Exception) -> str:
        """An error that ended a turn, worded for its sender (the adapter's last resort)."""
        return explain(error, self._language(turn_context))

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        conversation = activity.conversation.id if activity.conversation else ""
        sender = activity.from_property.id if activity.from_property else ""
        # Per user and conversation. Teams' two install announcements come from the same
        # installer, so this also keeps them from both posting a welcome.
        key = f"{conversation}|{sender}"
        # One turn at a time per user and conversation: in this process, then across the
        # instances sharing the storage where it can lock (PostgreSQL); where it cannot, its
        # ETags catch a race instead of losing an update.
        async with self._turns.hold(key), self._storage.turn(key, self._turn_keys(turn_context)):
            await super().on_turn(turn_context)
            try:
                if not self._nothing_to_keep(turn_context):
                    await self._state.save_changes(turn_context)
            except ETagConflict:
                await turn_context.send_activity(
                    self._language(turn_context).gettext(
                        "Two of your messages arrived at once and I kept the first. "
                        "Please send the last one again."
                    )
                )

    def _nothing_to_keep(self, turn_context: TurnContext) -> bool:
        """Whether this chat's state was never stored and holds no running dialog (a one-shot
        /meet, say): the next turn starts from the same empty state without a write."""
        cached = self._state.get_cached_state(turn_context)
        state: dict[str, Any] = cached.state if cached is not None else {}
        if "e_tag" in state or set(state) - {"DialogState"}:
            return False  # stored before (a change must reach it), or holds more
        dialog = state.get("DialogState")
        return dialog is None or not dialog.dialog_stack

    def _turn_keys(self, turn_context: TurnContext) -> list[str]:
        """What most turns read, read at once: the dialog state, the sender's chosen zone and
        their open request here (one round trip instead of three)."""
        activity = turn_context.activity
        sender = activity.from_property
        if not (activity.channel_id and activity.conversation and activity.recipient):
            return []  # nothing a turn reads by them
        if not (sender and sender.id):
            return []
        user = teams_user(activity)
        return [
            self._state.get_storage_key(turn_context),
            self._chosen_zones.key(user),
            self._open.key(user, conversation_of(turn_context)),
        ]

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        # Once, before anyone reads it: commands and every dialog answer see the text unmentioned.
        turn_context.activity.text = text_without_mentions(turn_context.activity)
        value = turn_context.activity.value
        if not turn_context.activity.text and pressed_answer(value):
            turn_context.activity.text = value["answer"]  # a question card's button, as if typed
        dialog = await self._dialogs.create_context(turn_context)
        command = parse_command(command_text(turn_context.activity))
        lang = self._language(turn_context)
        if isinstance(value, dict) and isinstance(value.get("meet"), str):
            # A card button on a client without Universal Actions (Action.Submit).
            await self._pressed_without_invoke(turn_context, value)
        elif command.name is CommandName.MEET:
            # A new /meet replaces an unfinished one.
            await self._questions.close(turn_context, lang.gettext(REPLACED))
            await dialog.cancel_all_dialogs()
            await self._meet(dialog, command.argument)
        elif command.name is CommandName.CANCEL:
            await self._cancel_typed(dialog)
        elif command.name is CommandName.HELP:
            await turn_context.send_activity(card_message(help_card(self._help(lang), lang)))
            if dialog.active_dialog is not None:
                await self._questions.close(turn_context, lang.gettext("Asked again below."))
                await dialog.reprompt_dialog()
        elif command.name is CommandName.TIMEZONE:
            await self._zones.command(turn_context, command.argument)
        elif command.name is CommandName.SIGNIN:
            await self._sign_in.sign_in(turn_context)
        elif command.name is CommandName.SIGNOUT:
            await self._sign_in.sign_out(turn_context)
        elif dialog.active_dialog is not None and not await self._questions.is_current(
            turn_context
        ):
            # A press on an earlier question's card (a client still showing its buttons): that
            # card was closed with its answer when it was answered; the open question stays.
            log.info("ignored a press on an answered question card")
        elif dialog.active_dialog is not None:
            await self._finish(dialog, await dialog.continue_dialog())
        elif (
            not value  # an old question card's Yes is not a typed yes
            and (verb := TYPED_CHOICES.get(command.word.lower()))
            and await self._open.get(
                teams_user(turn_context.activity), conversation_of(turn_context)
            )
        ):
            await self._pressed_without_invoke(turn_context, {"meet": verb}, typed=True)
        elif turn_context.activity.value:
            # A press on a card whose question or request has ended (its buttons were removed,
            # but a client may still show them): nothing to do, and no new line in the chat.
            log.info("ignored a press on a card that has ended")
        elif not command.word:
            await turn_context.send_activity(card_message(help_card(self._help(lang), lang)))
        else:
            await turn_context.send_activity(
                lang.gettext(
                    "I don't know '{word}'. Type /meet followed by a subject, "
                    "or /help to see what I can do.",
                    word=command.word[:40],
                )
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
            shown = await self._cards.action(turn_context, {**data, "meet": verb})
        except Exception:
            # Answered in the card, for the presser alone: the turn's error handler would post a
            # line in the chat (public in a group chat) and the client would show a failure.
            log.exception("a card action failed")
            lang = self._language(turn_context)
            failed = lang.gettext("Something went wrong on my side. Try again in a moment.")
            shown = Shown(closed_card(failed, lang))
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
        if typed and in_shared_chat(turn_context.activity):
            # Their card's own view is theirs alone; a typed word can't show it to them.
            await turn_context.send_activity(
                self._language(turn_context).gettext(
                    "Use the buttons on your card: only you see them."
                )
            )
            return
        shown = await self._cards.action(turn_context, value)
        if shown.private or shown.posted or shown.card_id is None:
            return  # only an invoke answer is seen by the presser alone
        await reply(turn_context, card_message(shown.card), shown.card_id)

    async def _cancel_typed(self, dialog: DialogContext) -> None:
        turn_context = dialog.context
        lang = self._language(turn_context)
        open_request = await self._open.get(
            teams_user(turn_context.activity), conversation_of(turn_context)
        )
        if dialog.active_dialog is not None:
            await self._questions.close(turn_context, lang.gettext("Cancelled."))
            await dialog.cancel_all_dialogs()
        elif open_request is None or open_request.view == SUBMITTED:
            await turn_context.send_activity(lang.gettext("There is nothing to cancel."))
            return
        if open_request is not None and open_request.view != SUBMITTED:
            await self._cards.cancel(turn_context, open_request)
        await turn_context.send_activity(lang.gettext(CANCELLED))

    async def _meet(self, dialog: DialogContext, text: str) -> None:
        """Read the command; then confirm it on a card, or ask for whatever it left out.

        In group chats and channels the bot only hears messages that mention it, so nothing is
        asked there in words: the form on the card holds every field.
        """
        activity = dialog.context.activity
        zone = await self._zones.of(dialog.context)
        try:
            parsed = parse_request(
                text,
                now=self._clock(),
                tz=zone.zone,
                default_length=self._default_length,
                locale=user_locale(activity),
            )
        except RequestError as error:
            await dialog.context.send_activity(explain(error, self._language(dialog.context)))
            return
        complete = bool(parsed.subject and parsed.start)
        draft = replace(
            parsed,
            timezone=zone.text,
            zone_guessed=zone.guessed,
            # A retried delivery of the same activity is the same request.
            request_id=f"{activity.conversation.id}|{activity.id or uuid.uuid4()}",
            # A complete command asks nothing, so "ask" falls back to requiring a passcode.
            passcode_required=True if self._ask_passcode and parsed.start else None,
        )
        await self._cards.replace_open_card(dialog.context)
        if complete and self._skip_confirmation:
            # Nothing to ask and nothing to confirm.
            await self._delivery.create(dialog.context, self._cards.ask_from(draft, activity))
        elif complete or in_shared_chat(activity):
            await self._cards.offer(dialog.context, draft)
        else:
            await self._finish(
                dialog, await dialog.begin_dialog(MeetingDialog.__name__, draft.to_json())
            )

    async def _finish(self, dialog: DialogContext, result: DialogTurnResult) -> None:
        """When the conversation has everything: the request on a card, to confirm."""
        if result.status is not DialogTurnStatus.Complete:
            return
        if not result.result:  # given up after too many misses
            not_answered = self._language(dialog.context).gettext("Not answered.")
            await self._questions.close(dialog.context, not_answered)
            return
        lang = self._language(dialog.context)
        await self._questions.close(dialog.context, answered(dialog.context.activity, lang))
        await self._cards.offer(dialog.context, MeetingDraft.from_json(result.result))

    # -- outside any turn: after a sign-in, and the recovery pass --------------------------------

    async def resume_after_sign_in(
        self, adapter: Any, user: TeamsUser, signed_in_at: ReplyAddress
    ) -> None:
        """Finish each request that waited for `user` to sign in, in the chat it came from."""
        waiting = await self._waiting.take_signed_in(user)
        if not waiting:
            signed_in = await self._sign_in.signed_in_card(user, signed_in_at)
            told: Callable[[TurnContext], Awaitable[None]] = (
                functools.partial(update, activity=signed_in)
                if signed_in is not None
                else say(self._languages.pick(signed_in_at.locale or "").gettext(SIGNED_IN))
            )
            await self._delivery.proactively(adapter, signed_in_at, told)
        for each in waiting:
            if each.expired:
                expired = say(
                    self._languages.pick(each.ask.locale).gettext(
                        "You're signed in, but your request for “{subject}” waited too long "
                        "and has expired: nothing was created. Type /meet to ask again.",
                        subject=each.ask.subject,
                    )
                )
                await self._delivery.proactively(adapter, each.ask.address, expired)
            else:
                create = functools.partial(
                    self._delivery.create,
                    ask=each.ask,
                    replaces=each.card_id,
                    proactive=True,
                    after_sign_in=True,
                )
                await self._delivery.proactively(adapter, each.ask.address, create)

    async def recover(self, adapter: Any, overdue_after: float) -> None:
        """End requests that waited a day; answer those a process that died still owed."""
        ended = [(w.ask, w.card_id) for w in await self._waiting.sweep()]
        ended += [(r.ask, r.card_id) for r in await self._open.sweep()]
        for ask, card_id in ended:
            if card_id is None:
                continue
            # Left unanswered for a day: its card keeps no buttons that could still act.
            lang = self._languages.pick(ask.locale)
            over = lang.gettext(
                "This request waited {wait} and has ended. Type /meet to ask again.",
                wait=lang.duration(WAIT_HOURS, "hour"),
            )
            closed = card_message(closed_card(over, lang, ask.subject or None))
            closed.id = card_id
            await self._delivery.proactively(
                adapter, ask.address, functools.partial(update, activity=closed)
            )
        await self._delivery.recover(adapter, overdue_after)

    async def sign_in_failed(
        self, adapter: Any, address: ReplyAddress, error: SignInFailed | None
    ) -> None:
        """Tell the chat at `address` that a sign-in there failed (`None`: it was cancelled)."""
        lang = self._languages.pick(address.locale or "")
        _ = lang.gettext
        reason = (
            _(str(error))
            if error is not None
            else _("The sign-in was cancelled or refused, so nothing was saved.")
        )
        text = _("{reason} Type /signin to try again.", reason=reason)
        await self._delivery.proactively(adapter, address, say(text))

    async def drain(self) -> None:
        """Let meetings still being created finish (at shutdown)."""
        await self._delivery.drain()

    # -- installs -----------------------------------------------------------------------------

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
        welcomed = await self._storage.read([key])
        expires = self._clock().timestamp() + WELCOME_DAYS * 86400
        await self._storage.write({key: {"welcomed": True, "expires": expires}})
        if not welcomed:
            lang = self._language(turn_context)
            await turn_context.send_activity(card_message(welcome_card(self._help(lang), lang)))

    def _help(self, lang: Language) -> str:
        minutes = int(self._default_length.total_seconds() // 60)
        return lang.gettext(HELP_TEXT, length=lang.duration(minutes, "minute"))


def _welcome_key(activity: Activity) -> str:
    conversation = activity.conversation.id if activity.conversation else ""
    return f"welcome/{conversation.split(';messageid=')[0]}"
