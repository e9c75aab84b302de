"""The card a request is shown on: confirmed, changed in its form, cancelled or created.

Each person has at most one open request per conversation. In a group chat or channel the
card everyone sees says who is setting up a meeting; the requester's own view of it (a refresh
for their user id, or a press) holds the buttons and anything personal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from bot.conversation.cards import GIVE_A_SUBJECT, closed_card, meeting_card, request_card
from bot.conversation.delivery import CREATING_NOTE, Delivery, waiting_card
from bot.conversation.messages import (
    SHARED_SCOPES,
    Shown,
    card_message,
    conversation_of,
    in_shared_chat,
    others_card_for,
    reply,
)
from bot.conversation.sign_in import SignInCards
from bot.conversation.teams import teams_user, user_language, user_locale
from bot.framework.address import ReplyAddress
from bot.meetings.open_requests import CONFIRM, EDIT, SUBMITTED, OpenRequest, OpenRequests
from bot.meetings.request import MeetingRequest, person_key
from bot.meetings.scheduler import MeetingScheduler
from bot.meetings.waiting import Waiting, WaitingRequests
from dialogs.cards import PICKER_LEAD, next_quarter_hour
from dialogs.language import N_, Language, Languages
from dialogs.request import MeetingDraft, RequestError, check_subject, validate_times
from dialogs.zones import zone_from_text

# The form's inputs, as they arrive with Create.
FORM_FIELDS = frozenset({"subject", "date", "time", "minutes", "passcode"})
ENDED = N_("This request has ended. Type /meet to start a new one.")
REPLACED = N_("Replaced by a newer request.")
CANCELLED = N_("Cancelled. Nothing was created.")


class RequestCards:
    """Offers a request on its card and carries out what a press of that card asks."""

    def __init__(
        self,
        delivery: Delivery,
        *,
        sign_in: SignInCards,
        open_requests: OpenRequests,
        waiting: WaitingRequests,
        scheduler: MeetingScheduler,
        default_length: timedelta,
        ask_passcode: bool,
        clock: Callable[[], datetime],
        languages: Languages,
    ) -> None:
        self._delivery = delivery
        # Each card in the language of the person it is shown to (the sender of the turn).
        self._languages = languages
        self._sign_in = sign_in
        # The request on each person's card (confirmation or form), per conversation.
        self._open = open_requests
        self._waiting = waiting
        self._scheduler = scheduler
        self._default_length = default_length
        self._ask_passcode = ask_passcode
        self._clock = clock

    def ask_from(self, draft: MeetingDraft, activity: Activity) -> MeetingRequest:
        """The request `draft` describes, asked by `activity`'s sender; the form's default time
        where it names none."""
        tz = zone_from_text(draft.timezone)
        start = next_quarter_hour(self._clock().astimezone(tz) + PICKER_LEAD)
        return MeetingRequest.from_draft(
            draft,
            user=teams_user(activity),
            address=ReplyAddress.of(activity),
            locale=user_locale(activity),
            default_start=start,
            default_length=self._default_length,
        )

    async def offer(self, turn_context: TurnContext, draft: MeetingDraft) -> None:
        """Post the request's card: the confirmation, or the form where something is missing.

        In a group chat or channel everyone else sees who is setting up a meeting; the
        requester's client shows their own view in its place.
        """
        ask = self.ask_from(draft, turn_context.activity)
        lang = self._language(turn_context)
        editing = not (draft.subject and draft.start)
        request = OpenRequest(ask, None, EDIT if editing else CONFIRM)
        await self.replace_open_card(turn_context)
        await self._open.put(request)  # before the card: its refresh may come at once
        if ask.address.conversation_type in SHARED_SCOPES:
            card = others_card_for(ask, N_("{name} is setting up a meeting."), lang)
        else:
            card = self._request_card(request, lang)
        card_id = await reply(turn_context, card_message(card), None)
        await self._open.put(replace(request, card_id=card_id))

    async def replace_open_card(self, turn_context: TurnContext) -> None:
        """A newer /meet ends this person's open card here: no buttons of it stay live."""
        older = await self._open.get(
            teams_user(turn_context.activity), conversation_of(turn_context)
        )
        if older is None or older.view == SUBMITTED:
            return
        await self._open.close(older)
        if older.card_id:
            lang = self._language(turn_context)
            replaced = closed_card(lang.gettext(REPLACED), lang, older.ask.subject or None)
            with contextlib.suppress(Exception):  # cosmetic: the old card's buttons are inert
                await reply(turn_context, card_message(replaced), older.card_id)

    def _language(self, turn_context: TurnContext) -> Language:
        return user_language(turn_context.activity, self._languages)

    def _request_card(
        self, request: OpenRequest, lang: Language, error: str | None = None
    ) -> dict[str, Any]:
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
            lang=lang,
            zone_guessed=ask.zone_guessed,
            named_zone=(
                (zone_from_text(ask.named_timezone), ask.named_timezone_label or ask.named_timezone)
                if ask.named_timezone
                else None
            ),
            error=error,
        )

    async def action(self, turn_context: TurnContext, value: dict[str, Any]) -> Shown:
        """What a press (or refresh) of a request card does, and the card the presser sees."""
        verb = str(value.get("meet"))
        key = value.get("request")
        user = teams_user(turn_context.activity)
        lang = self._language(turn_context)
        _ = lang.gettext
        if isinstance(key, str) and not key.startswith(person_key(user) + "/"):
            by = value.get("by")
            # Someone else's card: their view of it, for them alone.
            card = closed_card(
                _(
                    "Only {name} can fill this in. Mention me with /meet to set up your own "
                    "meeting.",
                    name=by[:100],
                )
                if isinstance(by, str) and by
                else _(
                    "Only the person who asked can fill this in. Mention me with /meet to set "
                    "up your own meeting."
                ),
                lang,
            )
            return Shown(card, private=True)
        if verb in ("retry", "another"):
            return await self._ask_again(turn_context, str(key or ""), verb)
        request = await self._open.get(user, conversation_of(turn_context))
        if request is None or (isinstance(key, str) and request.ask.key != key):
            waiting = await self._waiting.peek(key) if isinstance(key, str) else None
            if waiting is not None:
                return await self._waiting_view(turn_context, waiting)
            return Shown(closed_card(_(ENDED), lang))
        if request.view == SUBMITTED:
            # Its outcome is in the chat already; a press shows it again and creates nothing.
            if (waiting := await self._waiting.peek(request.ask.key)) is not None:
                return await self._waiting_view(turn_context, waiting)
            return await self._as_it_is(request, lang)
        if verb == "edit":
            request = await self._open.show(request, EDIT)
        elif verb == "cancel":
            return await self.cancel(turn_context, request)
        elif verb == "create":
            return await self._submit(turn_context, request, value)
        return Shown(
            self._request_card(request, lang),
            card_id=request.card_id,
            private=in_shared_chat(turn_context.activity),
        )

    async def _waiting_view(self, turn_context: TurnContext, waiting: Waiting) -> Shown:
        """The requester's view of a request that waits for them: sign in, Retry, or another."""
        ask = waiting.ask
        lang = self._language(turn_context)
        if waiting.for_sign_in:
            return await self._sign_in.view(turn_context, ask.user, ask.subject, lang)
        card = waiting_card(waiting.problem, ask, another=waiting.another, lang=lang)
        return Shown(card, private=in_shared_chat(turn_context.activity))

    async def _as_it_is(self, request: OpenRequest, lang: Language) -> Shown:
        """A submitted request's card as the chat shows it: the meeting, or that it is coming."""
        ask = request.ask
        meeting = await self._scheduler.recall(ask)
        if meeting is None:
            on_its_way = lang.gettext("The meeting is on its way: its card will appear here.")
            return Shown(closed_card(on_its_way, lang, ask.subject))
        return Shown(meeting_card(meeting, ask.tz, lang), card_id=request.card_id)

    async def cancel(self, turn_context: TurnContext, request: OpenRequest) -> Shown:
        await self._open.close(request)
        lang = self._language(turn_context)
        card = closed_card(lang.gettext(CANCELLED), lang, request.ask.subject or None)
        posted = await reply(turn_context, card_message(card), request.card_id)
        return Shown(card, card_id=posted, posted=True)

    async def _submit(
        self, turn_context: TurnContext, request: OpenRequest, value: dict[str, Any]
    ) -> Shown:
        """Create: the form's fields checked on the server, then the meeting made once."""
        ask = request.ask
        lang = self._language(turn_context)
        if request.view == EDIT or FORM_FIELDS & value.keys():
            checked = self._read_form(ask, value, lang)
            if isinstance(checked, str):
                request = await self._open.show(replace(request, ask=ask), EDIT)
                form = self._request_card(request, lang, error=checked)
                return Shown(form, private=in_shared_chat(turn_context.activity))
            ask = checked
        request = replace(request, ask=ask, view=SUBMITTED)
        await self._open.put(request)
        shown = await self._delivery.create(turn_context, ask, replaces=request.card_id)
        return shown or Shown(closed_card(lang.gettext("Creating the meeting…"), lang, ask.subject))

    def _read_form(
        self, ask: MeetingRequest, value: dict[str, Any], lang: Language
    ) -> MeetingRequest | str:
        """The request as the form now says, or what is wrong with it (in `lang`)."""
        _ = lang.gettext
        try:
            subject = check_subject(str(value.get("subject", ask.subject))[:1000])
            if not subject:
                return _(GIVE_A_SUBJECT)
            local = ask.start.astimezone(ask.tz)
            day = _field(value, "date", f"{local:%Y-%m-%d}", 10)
            at = _field(value, "time", f"{local:%H:%M}", 8)
            minutes = int(_field(value, "minutes", str(_minutes(ask)), 4))
            start = datetime.fromisoformat(f"{day}T{at}").replace(tzinfo=ask.tz)
        except RequestError as error:
            return lang.message(error)
        except ValueError:
            return _("Pick a date, a start time and a length.")
        if not 0 < minutes <= 24 * 60:
            return _(
                "Pick a length between {shortest} and {longest}.",
                shortest=lang.duration(1, "minute"),
                longest=lang.duration(24, "hour"),
            )
        end = (start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(ask.tz)
        try:
            validate_times(start, end, now=self._clock())
        except RequestError as error:
            return lang.message(error)
        passcode = ask.passcode_required
        if self._ask_passcode and "passcode" in value:
            passcode = str(value["passcode"]).lower() == "true"
        return replace(ask, subject=subject, start=start, end=end, passcode_required=passcode)

    async def _ask_again(self, turn_context: TurnContext, key: str, how: str) -> Shown:
        """Retry or Create another: the kept request again, in place of its card."""
        lang = self._language(turn_context)
        waiting = await self._waiting.take(key[:200])
        if waiting is None:
            # Pressed again (another device, a resent press): show what the first press made.
            request = await self._open.get(
                teams_user(turn_context.activity), conversation_of(turn_context)
            )
            if request is not None and request.view == SUBMITTED:
                return await self._as_it_is(request, lang)
            return Shown(closed_card(lang.gettext(ENDED), lang))
        if waiting.expired:
            expired = lang.gettext(
                "This request has expired; nothing more was created. Type /meet to ask again."
            )
            return Shown(closed_card(expired, lang, waiting.ask.subject))
        ask = waiting.ask.again() if how == "another" else waiting.ask
        # The card shown is now this request's: a later press or typed word reaches its outcome.
        await self._open.put(OpenRequest(ask, waiting.card_id, SUBMITTED))
        shown = await self._delivery.create(turn_context, ask, replaces=waiting.card_id)
        return shown or Shown(closed_card(lang.gettext(CREATING_NOTE), lang, ask.subject))


def _field(value: dict[str, Any], name: str, default: str, longest: int) -> str:
    """A form input as text; ValueError when it is longer than any valid one (never cut)."""
    text = value.get(name)
    text = default if text is None or text == "" else str(text)
    if len(text) > longest or not text.isascii():
        raise ValueError(f"{name} is not what the form sends")
    return text


def _minutes(ask: MeetingRequest) -> int:
    return int((ask.end - ask.start).total_seconds() // 60)
