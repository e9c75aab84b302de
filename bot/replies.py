"""Turning failures into one friendly line for the chat. The only place that does so."""

from __future__ import annotations

import math

from bot.identity import SignInRequired
from dialogs.request import RequestError
from graph import (
    GraphBadRequest,
    GraphConflict,
    GraphError,
    GraphForbidden,
    GraphNotFound,
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
        return f"I need you to sign in before I can create meetings for you: {error} {NOTHING_CREATED}"
    if isinstance(error, GraphError):
        return _explain_graph(error) + _reference(error)
    return f"Sorry, something went wrong on my side. {NOTHING_CREATED} Please try again."


def _explain_graph(error: GraphError) -> str:
    if isinstance(error, GraphBadRequest) and error.code == "AuthenticationError":
        return (
            "Teams meetings need a work or school account with a Teams licence, and Microsoft "
            f"says yours can't host one. {NOTHING_CREATED}"
        )
    if isinstance(error, GraphBadRequest):
        return f"Microsoft Teams rejected the meeting details ({error.code or 'bad request'}). {NOTHING_CREATED}"
    if isinstance(error, GraphUnauthorized):
        return f"Microsoft didn't accept your sign-in; it may have expired. {NOTHING_CREATED}"
    if isinstance(error, GraphForbidden) and "access policy" in error.message.lower():
        return (
            "This bot isn't allowed to create meetings for you yet: a Teams admin needs to grant "
            f"it an application access policy. {NOTHING_CREATED}"
        )
    if isinstance(error, GraphForbidden):
        return (
            "You don't have permission to create online meetings (OnlineMeetings.ReadWrite); "
            f"ask your admin. {NOTHING_CREATED}"
        )
    if isinstance(error, GraphNotFound):
        return "Microsoft Teams couldn't find that meeting; it may have been deleted."
    if isinstance(error, GraphConflict):
        return f"Microsoft Teams reported a conflict with another change. {NOTHING_CREATED} Please try again."
    if isinstance(error, GraphThrottled):
        wait = f" in {math.ceil(error.retry_after)} seconds" if error.retry_after else " in a minute"
        return f"Microsoft Teams is busy right now. {NOTHING_CREATED} Please try again{wait}."
    if isinstance(error, GraphUnavailable):
        return f"Microsoft Teams is temporarily unavailable. {NOTHING_CREATED} Please try again shortly."
    if isinstance(error, GraphUnreachable):
        return f"I couldn't reach Microsoft Teams. {NOTHING_CREATED} Please try again shortly."
    return f"Microsoft Teams couldn't create the meeting (error {error.status}). {NOTHING_CREATED}"


def _reference(error: GraphError) -> str:
    if error.request_id:
        return f" (request-id {error.request_id})"
    if error.client_request_id:
        return f" (client-request-id {error.client_request_id})"
    return ""
