"""An async client for Graph's onlineMeetings endpoints over one shared httpx.AsyncClient."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential,
    wait_random_exponential,
)

from graph.errors import GraphError, GraphOutcomeUnknown, GraphUnreachable, error_from_response
from graph.models import OnlineMeeting, OnlineMeetingRequest

log = logging.getLogger(__name__)

# The client-request-id of the latest Graph call in this task (a turn), for its log lines.
current_client_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "current_client_request_id", default=None
)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying when Graph throttles or is briefly unavailable."""

    budget_seconds: float = 8.0  # total waiting across retries; Teams users are waiting too
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def retrying(self, before_sleep: Callable[[RetryCallState], None]) -> AsyncRetrying:
        """tenacity's loop for one call: retries what `_retryable` allows, waiting what Graph
        asked for (Retry-After) or else exponential backoff; never beyond the budget."""
        # Half of each wait fixed, half random, so a burst of clients doesn't retry in step.
        half, most = self.base_delay / 2, self.max_delay / 2
        backoff = wait_exponential(half, most) + wait_random_exponential(half, most)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            asked = error.retry_after if isinstance(error, GraphError) else None
            return backoff(state) if asked is None else asked

        def stop(state: RetryCallState) -> bool:
            # Waiting beyond the budget would hold the user up longer than an answer is worth.
            return (
                state.attempt_number >= self.max_attempts
                or state.idle_for + state.upcoming_sleep > self.budget_seconds
            )

        return AsyncRetrying(
            retry=retry_if_exception(_retryable),
            wait=wait,
            stop=stop,
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )


class GraphClient:
    """Creates, fetches and deletes online meetings with a caller-supplied bearer token.

    `user_id=None` addresses `/me` (delegated token); a user id addresses `/users/{id}`
    (application token with an access policy, or the user's own delegated token).
    """

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, *, retry: RetryPolicy | None = None
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._retry = retry or RetryPolicy()

    async def create_meeting(
        self,
        token: str,
        request: OnlineMeetingRequest,
        *,
        user_id: str | None = None,
        locale: str = "",
    ) -> OnlineMeeting:
        """POST /onlineMeetings: always a new meeting."""
        body = await self._call(
            "POST",
            _meetings(user_id),
            token,
            json=request.to_graph(),
            locale=locale,
            idempotent=False,  # repeating a create after it arrived would make a second meeting
        )
        return _created_meeting(body)

    async def create_or_get_meeting(
        self,
        token: str,
        request: OnlineMeetingRequest,
        *,
        user_id: str | None = None,
        locale: str = "",
    ) -> OnlineMeeting:
        """POST /onlineMeetings/createOrGet: one meeting per (user, externalId)."""
        if request.external_id is None:
            raise ValueError("createOrGet needs an external id")
        body = await self._call(
            "POST",
            _meetings(user_id) + "/createOrGet",
            token,
            json=request.to_graph(),
            locale=locale,
        )
        return _created_meeting(body)

    async def get_meeting(
        self, token: str, meeting_id: str, *, user_id: str | None = None, locale: str = ""
    ) -> OnlineMeeting:
        body = await self._call("GET", _meeting(user_id, meeting_id), token, locale=locale)
        return _parse_meeting(body)

    async def delete_meeting(
        self, token: str, meeting_id: str, *, user_id: str | None = None
    ) -> None:
        await self._call("DELETE", _meeting(user_id, meeting_id), token)

    async def _call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        json: dict[str, Any] | None = None,
        locale: str = "",
        idempotent: bool = True,
    ) -> dict[str, Any]:
        client_request_id = str(uuid.uuid4())  # one id across retries, to trace them together
        current_client_request_id.set(client_request_id)
        headers = {"client-request-id": client_request_id, "Accept": "application/json"}
        if token:  # without one Graph answers 401 "Access token is empty", which is the truth
            headers["Authorization"] = f"Bearer {token}"
        if locale:
            headers["Accept-Language"] = locale
        attempt = functools.partial(
            self._attempt, method, path, headers, json, client_request_id, idempotent
        )
        try:
            # Most calls succeed at once: tenacity's loop is made only for one whose first
            # attempt failed in a way `_retryable` allows.
            return await attempt()
        except GraphError as error:
            if not _retryable(error):
                raise
            failed = error
        return await self._retried(failed, attempt, method, path)

    async def _retried(
        self,
        failed: GraphError,
        attempt: Callable[[], Awaitable[dict[str, Any]]],
        method: str,
        path: str,
    ) -> dict[str, Any]:
        """The rest of a call whose first attempt failed: tenacity's loop, starting from that
        failure, so that its waits and its limits count the attempt already made."""
        made = [failed]
        tried_again: list[GraphError] = []  # failed attempts that were followed by another

        async def again() -> dict[str, Any]:
            if made:
                raise made.pop()  # the first attempt's failure, for tenacity to weigh
            return await attempt()

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            assert isinstance(error, GraphError)  # only those are retried
            tried_again.append(error)
            log.info(
                "graph %s %s: %s, retry %d in %.1f s",
                method,
                _template(path),
                type(error).__name__,
                state.attempt_number,
                state.upcoming_sleep,
            )

        retrying = self._retry.retrying(before_sleep)  # made for this call: not shareable
        try:
            return await retrying(again)
        except GraphError as error:
            # A final refusal says nothing of what an earlier attempt may have done.
            if isinstance(error, GraphOutcomeUnknown) or not any(map(_may_have_acted, tried_again)):
                raise
            raise _outcome_unknown(error) from error

    async def _attempt(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        json: dict[str, Any] | None,
        client_request_id: str,
        idempotent: bool,
    ) -> dict[str, Any]:
        """One request: the body, or the error, typed by whether sending it again is safe."""
        started = time.perf_counter()
        try:
            response = await self._http.request(
                method, self._base_url + path, headers=headers, json=json
            )
        except httpx.TransportError as exc:
            log.warning(
                "graph %s %s failed: %s (client-request-id %s)",
                method,
                _template(path),
                type(exc).__name__,
                client_request_id,
            )
            # A request that never connected did nothing; one that may have arrived is only
            # sent again when repeating it cannot create a second meeting.
            never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            kind = GraphUnreachable if never_sent or idempotent else GraphOutcomeUnknown
            raise kind(
                f"Microsoft Graph could not be reached ({type(exc).__name__}).",
                client_request_id=client_request_id,
            ) from exc
        log.info(
            "graph %s %s -> %d in %.0f ms (request-id %s, client-request-id %s)",
            method,
            _template(path),
            response.status_code,
            (time.perf_counter() - started) * 1000,
            response.headers.get("request-id"),
            client_request_id,
        )
        if response.is_error:
            error: GraphError = error_from_response(response, client_request_id)
            if response.status_code >= 500 and not idempotent:
                # A gateway's 504 or a 500 can come after the service created the meeting.
                raise _outcome_unknown(error) from error
            raise error
        return _body(response, client_request_id)


def _retryable(error: BaseException) -> bool:
    """Whether sending again is safe and may help: Graph was unreachable (GraphUnreachable is
    only raised when repeating is safe), throttled (429: it did not act) or briefly
    unavailable (503, 504: only retried when repeating cannot make a second meeting)."""
    if isinstance(error, GraphOutcomeUnknown) or not isinstance(error, GraphError):
        return False
    return isinstance(error, GraphUnreachable) or error.status in (429, 503, 504)


def _may_have_acted(error: GraphError) -> bool:
    """Whether the failed attempt may have reached Graph and been acted on."""
    if isinstance(error, GraphOutcomeUnknown):
        return True
    if isinstance(error, GraphUnreachable):
        return not isinstance(error.__cause__, httpx.ConnectError | httpx.ConnectTimeout)
    return error.status is not None and error.status >= 500


def _created_meeting(body: dict[str, Any]) -> OnlineMeeting:
    """The meeting a create answered with; unreadable, it still exists: the outcome is unknown."""
    try:
        return _parse_meeting(body)
    except GraphError as error:
        raise _outcome_unknown(error) from error


def _outcome_unknown(error: GraphError) -> GraphOutcomeUnknown:
    if isinstance(error, GraphOutcomeUnknown):
        return error
    unknown = GraphOutcomeUnknown(
        error.message,
        code=error.code,
        request_id=error.request_id,
        client_request_id=error.client_request_id,
        status=error.status,
    )
    unknown.__cause__ = error
    return unknown


def _body(response: httpx.Response, client_request_id: str) -> dict[str, Any]:
    # A success whose body can't be read: Graph acted, and what it made is unknown to us.
    if response.status_code == 204 or not response.content:
        return {}
    try:
        body = response.json()
    except ValueError as exc:
        raise GraphOutcomeUnknown(
            "Microsoft Graph sent a response that is not JSON.",
            request_id=response.headers.get("request-id"),
            client_request_id=client_request_id,
            status=response.status_code,
        ) from exc
    if not isinstance(body, dict):
        raise GraphOutcomeUnknown(
            "Microsoft Graph sent an unexpected response.",
            client_request_id=client_request_id,
            status=response.status_code,
        )
    return body


def _parse_meeting(body: dict[str, Any]) -> OnlineMeeting:
    try:
        return OnlineMeeting.from_graph(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise GraphError("Microsoft Graph sent a meeting this bot cannot read.") from exc


def _meetings(user_id: str | None) -> str:
    return (
        "/me/onlineMeetings"
        if user_id is None
        else f"/users/{quote(user_id, safe='')}/onlineMeetings"
    )


def _meeting(user_id: str | None, meeting_id: str) -> str:
    return f"{_meetings(user_id)}/{quote(meeting_id, safe='')}"


def _template(path: str) -> str:
    """The path with ids replaced, so logs carry no user or meeting identifiers."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        if i > 0 and parts[i - 1] in ("users", "onlineMeetings") and part != "createOrGet":
            parts[i] = "{id}"
    return "/".join(parts)
