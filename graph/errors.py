"""Typed Graph errors carrying what Graph said: status, error code, message and request ids."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx


class GraphError(Exception):
    """Graph answered with an error, or could not be reached."""

    status: int | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        request_id: str | None = None,
        client_request_id: str | None = None,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.retry_after = retry_after
        if status is not None:
            self.status = status


class GraphBadRequest(GraphError):
    status = 400


class GraphUnauthorized(GraphError):
    status = 401


class GraphWrongAudience(GraphError):
    """401 for a token meant for another resource ("Invalid audience"): the token came for a
    different Graph than the one called, which a new token from the same place cannot change.

    Not a GraphUnauthorized: asking the user to sign in again would get another such token.
    """

    status = 401


class GraphForbidden(GraphError):
    status = 403


class GraphNotFound(GraphError):
    status = 404


class GraphConflict(GraphError):
    status = 409


class GraphThrottled(GraphError):
    status = 429


class GraphUnavailable(GraphError):
    """5xx: the service failed or is overloaded; may carry Retry-After."""


class GraphUnreachable(GraphError):
    """No HTTP answer at all: connection refused, reset, or timed out."""


class GraphOutcomeUnknown(GraphError):
    """A create may have reached Graph and been acted on, but no answer says whether it was.

    A read timeout, a connection lost after sending, or a 5xx after Graph had the request: the
    meeting may exist. Sending the create again could make a second one.
    """


_BY_STATUS: dict[int, type[GraphError]] = {
    400: GraphBadRequest,
    401: GraphUnauthorized,
    403: GraphForbidden,
    404: GraphNotFound,
    409: GraphConflict,
    429: GraphThrottled,
}


def error_from_response(response: httpx.Response, client_request_id: str) -> GraphError:
    """Turn a non-2xx Graph response into the matching typed error."""
    error = _error_body(response)
    inner = error.get("innerError") or error.get("innererror") or {}
    message = str(error.get("message") or response.reason_phrase or "Graph request failed")
    kind = _BY_STATUS.get(response.status_code)
    if kind is None:
        kind = GraphUnavailable if response.status_code >= 500 else GraphError
    # Graph's words for it: 401 InvalidAuthenticationToken, "Access token validation failure.
    # Invalid audience."
    if kind is GraphUnauthorized and "invalid audience" in message.lower():
        kind = GraphWrongAudience
    return kind(
        message,
        code=str(error.get("code") or ""),
        request_id=response.headers.get("request-id") or _str_or_none(inner.get("request-id")),
        client_request_id=response.headers.get("client-request-id") or client_request_id,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        status=response.status_code,
    )


# The longest wait a Retry-After may ask for, as far as we are concerned: a user is told at most
# "try again in 120 seconds", and retries never wait past their own (much shorter) budget.
# Without a cap, "1e9" reached the chat as "try again in 1000000000 seconds".
MAX_RETRY_AFTER_SECONDS = 120.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (whole or fractional), capped at
    MAX_RETRY_AFTER_SECONDS; None when absent or not a finite, non-negative number."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # the HTTP-date form is used by neither Graph nor the Bot Connector
    # float() also reads "inf", "nan" and 400-digit numbers (as inf): inf crashed the reply
    # that says when to try again, and nan made every budget comparison false, so retries
    # went on waiting.
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER_SECONDS)


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
