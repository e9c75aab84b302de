"""Creating a meeting and delivering its answer: in the turn when Graph is quick, else later.

The answer (the meeting, a sign-in card, a Retry card or one line) takes the place of the card
it answers. An answer that comes after its turn is written down in the outbox first, so another
process still gives it if this one dies.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from botbuilder.core import MessageFactory, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from bot.conversation.cards import (
    closed_card,
    meeting_card,
    retry_card,
    unknown_card,
)
from bot.conversation.messages import SHARED_SCOPES, Shown, card_message, others_card_for, reply
from bot.conversation.replies import explain, explain_refused_sign_in
from bot.conversation.sign_in import SignInCards
from bot.framework.address import ReplyAddress
from bot.identity.tokens import NoWorkAccount, SignInFailed
from bot.identity.users import SignInRequired
from bot.meetings.ledger import OutcomeUnknown, RequestInProgress
from bot.meetings.outbox import Outbox
from bot.meetings.request import MeetingRequest
from bot.meetings.scheduler import MeetingScheduler
from bot.meetings.waiting import WaitingRequests
from bot.state.store import StorageUnavailable
from dialogs.language import N_, Language, Languages
from graph import (
    GraphError,
    GraphOutcomeUnknown,
    GraphThrottled,
    GraphUnauthorized,
    GraphUnavailable,
    GraphUnreachable,
    GraphWrongAudience,
    OnlineMeeting,
)

log = logging.getLogger(__name__)

# How long a creation may take before the user is shown a typing indicator.
TYPING_AFTER_SECONDS = 0.5

CREATING_NOTE = N_("Creating the meeting… it will appear here in a moment.")


class Delivery:
    """Creates meetings through the scheduler and puts each answer where it belongs."""

    def __init__(
        self,
        scheduler: MeetingScheduler,
        *,
        outbox: Outbox,
        waiting: WaitingRequests,
        sign_in: SignInCards,
        answer_within_seconds: float,
        app_id: str,
        languages: Languages,
    ) -> None:
        self._scheduler = scheduler
        # Answers about a request are in its requester's language (the request keeps it).
        self._languages = languages
        self._outbox = outbox
        # Requests waiting for a sign-in, or for a Retry or Create another press.
        self._waiting = waiting
        self._sign_in = sign_in
        self._answer_within = answer_within_seconds
        self._app_id = app_id
        self._background: set[asyncio.Task[None]] = set()

    async def recover(self, adapter: Any, overdue_after: float) -> None:
        """Answer the requests whose answer a process that died still owed."""
        for entry in await self._outbox.overdue(overdue_after):
            log.info("answering a request left unanswered by an earlier process")
            answer = functools.partial(
                self.create,
                ask=entry.ask,
                replaces=entry.replaces,
                owner=entry.owner,
                proactive=True,
                after_sign_in=entry.after_sign_in,
            )
            await self.proactively(adapter, entry.ask.address, answer)

    async def create(
        self,
        turn_context: TurnContext,
        ask: MeetingRequest,
        *,
        replaces: str | None = None,
        owner: str | None = None,
        proactive: bool = False,
        after_sign_in: bool = False,
    ) -> Shown | None:
        """Create the meeting and answer; the answer replaces the message `replaces`, if any.

        While Teams waits for this turn, Teams itself redelivers it if this process dies. Once
        the answer will come after the turn (a slow Graph) or outside any turn (`proactive`),
        it is first written down in the outbox, so another process still answers. `owner`:
        this call already owes the answer (a recovery). `after_sign_in`: the requester has just
        signed in for this request, so Graph refusing their token is not theirs to fix.
        """
        if owner is None and proactive:
            # None: another delivery owes it.
            owner = await self._outbox.record(ask, replaces, after_sign_in=after_sign_in)
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
            return await self._answer(
                turn_context, ask, creation, replaces, owner, after_sign_in=after_sign_in
            )
        # Graph is slow: answer now (Teams resends an activity it waited 15 s for) and post the
        # meeting in place of this note when it is ready.
        if owner is None and not proactive:  # the turn ends before the answer
            owner = await self._outbox.record(ask, replaces, after_sign_in=after_sign_in)
        lang = self._languages.pick(ask.locale)
        note = await self._note(turn_context, replaces, lang)
        await self._answer_goes_in_place_of(ask, owner, note)
        later = asyncio.create_task(
            self.proactively(
                turn_context.adapter,
                ask.address,
                functools.partial(
                    self._answer,
                    ask=ask,
                    creation=creation,
                    replaces=note or replaces,
                    owner=owner,
                    after_sign_in=after_sign_in,
                ),
            )
        )
        self._background.add(later)
        later.add_done_callback(self._background.discard)
        creating = closed_card(lang.gettext(CREATING_NOTE), lang, ask.subject)
        return Shown(creating, card_id=note, posted=True)

    async def _note(
        self, turn_context: TurnContext, replaces: str | None, lang: Language
    ) -> str | None:
        """Say the meeting is on its way (in place of `replaces`); the message's id, if any."""
        note = MessageFactory.text(lang.gettext(CREATING_NOTE))
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
        ask: MeetingRequest,
        creation: asyncio.Future[OnlineMeeting],
        replaces: str | None,
        owner: str | None,
        *,
        after_sign_in: bool = False,
    ) -> Shown | None:
        """Answer with the outcome once there is one; strike the outbox entry if this owed it."""
        if not creation.done():
            await asyncio.wait({creation})
        error = None if creation.cancelled() else creation.exception()
        if isinstance(error, RequestInProgress):
            try:
                return await self._still_in_progress(
                    turn_context, ask, error, replaces, owner, after_sign_in=after_sign_in
                )
            except StorageUnavailable:
                raise  # nothing promised yet: Teams delivers it again
            except Exception:  # the answer is owed (written down): a recovery pass gives it
                log.exception("could not say that a meeting is still being created")
                return None
        shown = None
        try:
            shown = await self._deliver(turn_context, ask, creation, replaces, after_sign_in)
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

    async def _still_in_progress(
        self,
        turn_context: TurnContext,
        ask: MeetingRequest,
        error: RequestInProgress,
        replaces: str | None,
        owner: str | None,
        *,
        after_sign_in: bool,
    ) -> Shown:
        """Say another delivery is still creating the meeting, and owe the answer that says so.

        That delivery may have died with its process (Teams delivered again because it did):
        written down first, the promise to post what happened is kept by the next recovery
        pass, from the request ledger, in place of this note. A delivery that owes it already
        (`owner`, or another's entry) keeps owing it.
        """
        log.info("meet request still being created by another delivery")
        if owner is None:
            owner = await self._outbox.record(ask, replaces, after_sign_in=after_sign_in)
        lang = self._languages.pick(ask.locale)
        shown = await self._say_in_place(turn_context, explain(error, lang), replaces, lang)
        if shown.card_id != replaces:
            await self._answer_goes_in_place_of(ask, owner, shown.card_id)
        return shown

    async def _answer_goes_in_place_of(
        self, ask: MeetingRequest, owner: str | None, note: str | None
    ) -> None:
        """Note that the answer `owner` owes goes in place of `note` (a message just sent)."""
        if owner is None or note is None:
            return
        try:
            await self._outbox.replaces(ask, owner, note)
        except Exception:  # the answer then comes as a new message, not in place of the note
            log.exception("could not note where the answer goes")

    async def _deliver(
        self,
        turn_context: TurnContext,
        ask: MeetingRequest,
        creation: asyncio.Future[OnlineMeeting],
        replaces: str | None,
        after_sign_in: bool,
    ) -> Shown:
        """Answer with the meeting card, a sign-in card, a Retry card or one line."""
        lang = self._languages.pick(ask.locale)
        try:
            meeting = creation.result()
        except GraphWrongAudience as error:
            # A configuration error, not the user's: a sign-in card here would come back after
            # every sign-in, forever. The admin reads why; the user gets one line.
            log.error(  # noqa: TRY400 - the message says what to fix; a traceback adds nothing
                "configuration error: Graph refused the token as meant for another resource "
                "(%s, request-id %s). The Graph in use (CLOUD, GRAPH_BASE_URL) and where its "
                "tokens come from (AUTH_AUTHORITY) must belong to the same cloud",
                error.message,
                error.request_id,
            )
            return await self._say_in_place(turn_context, explain(error, lang), replaces, lang)
        except (SignInRequired, GraphUnauthorized) as error:
            if after_sign_in and isinstance(error, GraphUnauthorized):
                # Graph refused the token of a sign-in completed moments ago: another sign-in
                # would bring the same kind of token, and this card would come back forever.
                log.error(  # noqa: TRY400 - the message says what to check; no traceback needed
                    "configuration error: Graph refused the token of a sign-in completed "
                    "moments ago (%s: %s, request-id %s). Check that CLOUD, GRAPH_BASE_URL and "
                    "AUTH_AUTHORITY belong to the same cloud",
                    error.code,
                    error.message,
                    error.request_id,
                )
                answer = explain_refused_sign_in(error, lang)
                return await self._say_in_place(turn_context, answer, replaces, lang)
            if not self._sign_in.enabled:
                return await self._say_in_place(turn_context, explain(error, lang), replaces, lang)
            # Keep the request; it is created the moment the user is back from signing in, in
            # place of the sign-in card (which itself takes the place of what it answers).
            return await self._ask_to_sign_in(turn_context, ask, replaces, lang)
        except (GraphThrottled, GraphUnavailable, GraphUnreachable, GraphOutcomeUnknown) as error:
            # Graph stayed busy beyond the retry budget, and did not act (or createOrGet makes
            # acting twice harmless; the ledger turns a plain create's unknown outcome into
            # OutcomeUnknown): keep the request for a Retry press.
            log.info(
                "meet request deferred: %s (request-id %s)", type(error).__name__, error.request_id
            )
            problem, another = explain(error, lang), False
        except OutcomeUnknown as error:
            log.warning(
                "meet request outcome unknown (request-id %s)",
                error.cause.request_id if error.cause else None,
            )
            problem, another = explain(error, lang), True
        except (NoWorkAccount, SignInFailed, GraphError) as error:
            log.info(
                "meet request not fulfilled: %s %s (request-id %s)",
                type(error).__name__,
                getattr(error, "code", ""),
                getattr(error, "request_id", None),
            )
            return await self._say_in_place(turn_context, explain(error, lang), replaces, lang)
        except StorageUnavailable:
            # Raised before Graph was asked (the ledger claims a request first): the turn ends
            # unanswered and Teams delivers it again.
            raise
        except Exception as error:  # a bug still gets a true sentence
            log.exception("meet request failed", exc_info=error)
            return await self._say_in_place(turn_context, explain(error, lang), replaces, lang)
        else:
            card = meeting_card(meeting, ask.tz, lang)
            answer = card_message(card)
            answer.summary = card["fallbackText"]  # the meeting in one line
            posted = await reply(turn_context, answer, replaces)
            return Shown(card, card_id=posted, posted=True)
        # Kept for a Retry or Create another press, which only the requester may make: in a
        # shared chat everyone else sees that the meeting is not ready, without the button.
        card = waiting_card(problem, ask, another=another, lang=lang)
        shared = ask.address.conversation_type in SHARED_SCOPES
        still = N_("{name} is still setting up this meeting.")
        public = others_card_for(ask, still, lang) if shared else card
        posted = await reply(turn_context, card_message(public), replaces)
        await self._waiting.keep(
            ask, for_sign_in=False, card_id=posted, problem=problem, another=another
        )
        return Shown(card, card_id=posted, posted=True, private=shared)

    async def _say_in_place(
        self, turn_context: TurnContext, text: str, replaces: str | None, lang: Language
    ) -> Shown:
        posted = await reply(turn_context, MessageFactory.text(text), replaces)
        return Shown(closed_card(text, lang), card_id=posted, posted=True)

    async def _ask_to_sign_in(
        self, turn_context: TurnContext, ask: MeetingRequest, replaces: str | None, lang: Language
    ) -> Shown:
        """The sign-in card in place of `replaces`; in a shared chat, for the requester only."""
        if ask.address.conversation_type not in SHARED_SCOPES:
            card = await self._sign_in.card(turn_context, ask.user, ask.subject, lang)
            card_id = await reply(turn_context, card_message(card), replaces)
            await self._waiting.keep(ask, for_sign_in=True, card_id=card_id)
            return Shown(card, card_id=card_id, posted=True)
        # The link is personal: everyone sees who is signing in; the requester's client swaps
        # in the sign-in card (refresh), and a press answers with it, to them alone.
        public = others_card_for(ask, N_("{name} is signing in to create this meeting."), lang)
        card_id = await reply(turn_context, card_message(public), replaces)
        await self._waiting.keep(ask, for_sign_in=True, card_id=card_id)
        shown = await self._sign_in.view(turn_context, ask.user, ask.subject, lang)
        return replace(shown, card_id=card_id, posted=True)

    async def proactively(
        self,
        adapter: Any,
        address: ReplyAddress,
        logic: Callable[[TurnContext], Awaitable[Any]],
    ) -> None:
        try:
            await adapter.continue_conversation(address.reference(), logic, self._app_id or None)
        except Exception:
            log.exception("could not continue a conversation")


def waiting_card(
    problem: str, ask: MeetingRequest, *, another: bool, lang: Language
) -> dict[str, Any]:
    """The card of a request kept for its requester: Retry, or Create another."""
    if another:
        return unknown_card(problem, request=ask.key, lang=lang)
    return retry_card(problem, request=ask.key, lang=lang)
