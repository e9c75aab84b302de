"""Turning failures into one friendly line for the chat. The only place that does so."""

from __future__ import annotations

import math

from bot.identity.tokens import NoWorkAccount, SignInFailed
from bot.identity.users import SignInRequired
from bot.meetings.ledger import OutcomeUnknown, RequestInProgress
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
)

NOTHING_CREATED = "No meeting was created."


def explain(error: Exception) -> str:
    """One line a Teams user can act on; never a stack trace, token or raw JSON."""
    if isinstance(error, RequestError):
        return str(error)
    if isinstance(error, SignInRequired):
        return f"I need you to sign in first: {error} {NOTHING_CREATED}"
    if isinstance(error, NoWorkAccount):
        return f"I can only create meetings for work or school accounts. {error} {NOTHING_CREATED}"
    if isinstance(error, SignInFailed):
        return f"{error} {NOTHING_CREATED}"
    if isinstance(error, RequestInProgress):
        return "I'm still working on this meeting; I'll post what happened here."
    if isinstance(error, OutcomeUnknown):
        reference = _reference(error.cause) if error.cause else ""
        return (
            "I can't tell whether Microsoft Teams created this meeting: it didn't answer "
            f"in time{reference}. If it did, I never received its link."
        )
    if isinstance(error, GraphError):
        return _explain_graph(error) + _reference(error)
    # Unexpected: it may have come before or after a meeting was created, so say neither.
    return "Sorry, something went wrong on my side. Please try again in a moment."


_GRAPH_PROBLEMS: tuple[tuple[type[GraphError], str], ...] = (
    (GraphBadRequest, "Microsoft Teams rejected the meeting details."),
    (GraphUnauthorized, "Microsoft didn't accept your sign-in; it may have expired."),
    (
        GraphForbidden,
        "You don't have permission to create online meetings (OnlineMeetings.ReadWrite); "
        "ask your admin.",
    ),
    (GraphNotFound, "Microsoft Teams couldn't find that meeting; it may have been deleted."),
    (GraphConflict, "Microsoft Teams reported a conflict with another change."),
    (GraphThrottled, "Microsoft Teams is busy right now."),
    (GraphUnavailable, "Microsoft Teams is temporarily unavailable."),
    (GraphUnreachable, "I couldn't reach Microsoft Teams."),
)


def _explain_graph(error: GraphError) -> str:
    if error.code == "AuthenticationError":
        problem = (
            "Teams meetings need a work or school account with a Teams licence, "
            "and Microsoft says yours can't host one."
        )
    elif isinstance(error, GraphForbidden) and "access policy" in error.message.lower():
        problem = (
            "This bot isn't allowed to create meetings for you yet: a Teams admin needs to "
            "grant it an application access policy."
        )
    else:
        problem = next(
            (text for kind, text in _GRAPH_PROBLEMS if isinstance(error, kind)),
            f"Microsoft Teams couldn't create the meeting (error {error.status}).",
        )
    wait = f"in {math.ceil(error.retry_after)} seconds" if error.retry_after else "shortly"
    if isinstance(error, GraphOutcomeUnknown):  # only a createOrGet's reaches here
        return (
            "Microsoft Teams didn't answer in time, so I can't tell yet whether the meeting "
            "exists. Please retry: retrying never makes a second meeting."
        )
    if isinstance(error, GraphUnavailable | GraphUnreachable):
        # Only what Graph cannot have acted on, or a createOrGet (where acting twice makes one
        # meeting), is reported this way: a retry never makes a second meeting.
        return f"{problem} Please retry {wait}: retrying never makes a second meeting."
    if isinstance(error, GraphThrottled | GraphConflict):
        return f"{problem} {NOTHING_CREATED} Please try again {wait}."
    return f"{problem} {NOTHING_CREATED}"


def _reference(error: GraphError) -> str:
    if error.request_id:
        return f" (request-id {error.request_id})"
    if error.client_request_id:
        return f" (client-request-id {error.client_request_id})"
    return ""
