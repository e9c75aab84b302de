"""Turning failures into one friendly line for the chat. The only place that does so."""

from __future__ import annotations

import math

from bot.identity.tokens import NoWorkAccount, SignInFailed
from bot.identity.users import SignInRequired
from bot.meetings.ledger import OutcomeUnknown, RequestInProgress
from dialogs.language import N_, Language
from dialogs.request import RequestError
from graph import (
    GraphBadRequest,
    GraphConflict,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphOutcomeUnknown,
    GraphThrottled,
    GraphUnauthorized,
    GraphUnavailable,
    GraphUnreachable,
    GraphWrongAudience,
)

NOTHING_CREATED = N_("No meeting was created.")


def explain(error: Exception, lang: Language) -> str:
    """One line a Teams user can act on, in their language; never a stack trace, token or JSON."""
    _ = lang.gettext
    if isinstance(error, RequestError):
        return lang.message(error)
    # The sign-in errors' text is a message of the catalogs (see catalogs.KEYWORDS).
    if isinstance(error, SignInRequired):
        return _(
            "I need you to sign in first: {reason} {nothing}",
            reason=_(str(error)),
            nothing=_(NOTHING_CREATED),
        )
    if isinstance(error, NoWorkAccount):
        return _(
            "I can only create meetings for work or school accounts. {reason} {nothing}",
            reason=_(str(error)),
            nothing=_(NOTHING_CREATED),
        )
    if isinstance(error, SignInFailed):
        return _("{reason} {nothing}", reason=_(str(error)), nothing=_(NOTHING_CREATED))
    if isinstance(error, RequestInProgress):
        return _("I'm still working on this meeting; I'll post what happened here.")
    if isinstance(error, OutcomeUnknown):
        reference = _reference(error.cause) if error.cause else ""
        return _(
            "I can't tell whether Microsoft Teams created this meeting: it didn't answer "
            "in time{reference}. If it did, I never received its link.",
            reference=reference,
        )
    if isinstance(error, GraphError):
        return _explain_graph(error, lang) + _reference(error)
    # Unexpected: it may have come before or after a meeting was created, so say neither.
    return _("Sorry, something went wrong on my side. Please try again in a moment.")


_GRAPH_PROBLEMS: tuple[tuple[type[GraphError], str], ...] = (
    (GraphBadRequest, N_("Microsoft Teams rejected the meeting details.")),
    (GraphUnauthorized, N_("Microsoft didn't accept your sign-in; it may have expired.")),
    (
        GraphWrongAudience,
        N_(
            "Microsoft Teams refused my request because I'm set up for a different Microsoft "
            "cloud than your sign-in; your admin needs to fix my configuration (signing in "
            "again won't help)."
        ),
    ),
    (
        GraphForbidden,
        N_(
            "You don't have permission to create online meetings (OnlineMeetings.ReadWrite); "
            "ask your admin."
        ),
    ),
    (GraphNotFound, N_("Microsoft Teams couldn't find that meeting; it may have been deleted.")),
    (GraphConflict, N_("Microsoft Teams reported a conflict with another change.")),
    (GraphThrottled, N_("Microsoft Teams is busy right now.")),
    (GraphUnavailable, N_("Microsoft Teams is temporarily unavailable.")),
    (GraphUnreachable, N_("I couldn't reach Microsoft Teams.")),
)


def _explain_graph(error: GraphError, lang: Language) -> str:
    _ = lang.gettext
    if isinstance(error, GraphOutcomeUnknown):  # only a createOrGet's reaches here
        return _(
            "Microsoft Teams didn't answer in time, so I can't tell yet whether the meeting "
            "exists. Please retry: retrying never makes a second meeting."
        )
    if error.code == "AuthenticationError":
        problem = _(
            "Teams meetings need a work or school account with a Teams licence, "
            "and Microsoft says yours can't host one."
        )
    elif isinstance(error, GraphForbidden) and "access policy" in error.message.lower():
        problem = _(
            "This bot isn't allowed to create meetings for you yet: a Teams admin needs to "
            "grant it an application access policy."
        )
    else:
        known = next((text for kind, text in _GRAPH_PROBLEMS if isinstance(error, kind)), None)
        problem = (
            _(known)
            if known
            else _(
                "Microsoft Teams couldn't create the meeting (error {status}).", status=error.status
            )
        )
    nothing = _(NOTHING_CREATED)
    if isinstance(error, GraphUnavailable | GraphUnreachable):
        # Only what Graph cannot have acted on, or a createOrGet (where acting twice makes one
        # meeting), is reported this way: a retry never makes a second meeting.
        if error.retry_after:
            return _(
                "{problem} Please retry in {wait}: retrying never makes a second meeting.",
                problem=problem,
                wait=_seconds(error.retry_after, lang),
            )
        return _(
            "{problem} Please retry shortly: retrying never makes a second meeting.",
            problem=problem,
        )
    if isinstance(error, GraphThrottled | GraphConflict):
        if error.retry_after:
            return _(
                "{problem} {nothing} Please try again in {wait}.",
                problem=problem,
                nothing=nothing,
                wait=_seconds(error.retry_after, lang),
            )
        return _("{problem} {nothing} Please try again shortly.", problem=problem, nothing=nothing)
    return _("{problem} {nothing}", problem=problem, nothing=nothing)


def explain_refused_sign_in(error: GraphError, lang: Language) -> str:
    """Graph refused the token of a sign-in just completed: not the user's to fix."""
    _ = lang.gettext
    problem = _(
        "Microsoft didn't accept the sign-in you just completed, so signing in again won't "
        "help; your admin needs to check my configuration."
    )
    return _("{problem} {nothing}", problem=problem, nothing=_(NOTHING_CREATED)) + _reference(error)


def _seconds(seconds: float, lang: Language) -> str:
    """A wait in whole seconds, rounded up: "30 seconds", "1 second"."""
    return lang.duration(math.ceil(seconds), "second")


def _reference(error: GraphError) -> str:
    # Ids for an admin, not words: the same in every language.
    if error.request_id:
        return f" (request-id {error.request_id})"
    if error.client_request_id:
        return f" (client-request-id {error.client_request_id})"
    return ""
