"""The Bot Connector calls of every turn (send, reply, update), over the shared HTTP client.

botframework's msrest ConnectorClient sends each activity with `requests` in a worker thread,
after a validating serialiser and a pipeline of policies: about a millisecond of CPU per message,
more than the rest of a /meet turn. `Connector` keeps that client for everything else (rosters,
new conversations) and sends activities itself, the way Teams' rate-limit guidance describes:
429, 412, 502 and 504 are retried with exponential backoff and jitter, honouring Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx
from botbuilder.schema import Activity, ResourceResponse
from botframework.connector.auth import AuthenticationConstants
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential,
    wait_random_exponential,
)

from bot.framework.schema import to_json

log = logging.getLogger(__name__)

# Printable ASCII: what an HTTP header value may hold. Teams' conversation ids always are.
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
# What Teams asks bots to retry: throttling, and two transient gateway answers.
_RETRY_STATUSES = frozenset({412, 429, 502, 504})
_ATTEMPTS = 4
_BUDGET_SECONDS = 10.0  # total waiting across retries
# Exponential, half of each wait random so a burst of bots doesn't retry in step: 0.25 to 0.5 s,
# then 0.5 to 1 s, 1 to 2 s, up to 4 to 8 s.
_BACKOFF = wait_exponential(0.25, 4.0) + wait_random_exponential(0.25, 4.0)


class ConnectorError(Exception):
    """The Bot Connector refused or failed a call."""

    def __init__(self, status: int, code: str = "", retry_after: float | None = None) -> None:
        super().__init__(f"Bot Connector answered {status} {code}".strip())
        self.status = status
        self.code = code
        self.retry_after = retry_after


class Connector:
    """A ConnectorClient for one service URL whose activity calls skip msrest."""

    def __init__(
        self,
        inner: Any,
        http: httpx.AsyncClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,  # between retries
    ) -> None:
        self._inner = inner
        self.conversations = _Conversations(
            inner.conversations,
            http,
            inner.config.base_url.rstrip("/"),
            inner.config.credentials,
            inner.config.user_agent,
            sleep,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # config, attachments, teams…: the msrest client's


class _Conversations:
    def __init__(
        self,
        inner: Any,
        http: httpx.AsyncClient,
        base_url: str,
        credentials: Any,
        user_agent: str,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._inner = inner
        self._http = http
        self._base_url = base_url
        self._credentials = credentials
        self._user_agent = user_agent
        self._sleep = sleep

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)  # the rarer calls go through msrest
        if not asyncio.iscoroutinefunction(attribute):
            return attribute

        async def token_first(*args: Any, **kwargs: Any) -> Any:
            # msrest asks the credentials for the bot's token on the event loop, where a first
            # fetch from Entra ID would block it: fetch it in a worker thread first, and msrest
            # then finds it in MSAL's cache.
            await self._authorization()
            return await attribute(*args, **kwargs)

        return token_first

    async def send_to_conversation(
        self, conversation_id: str, activity: Activity, **_: Any
    ) -> ResourceResponse | None:
        return await self._send("POST", conversation_id, None, activity)

    async def reply_to_activity(
        self, conversation_id: str, activity_id: str, activity: Activity, **_: Any
    ) -> ResourceResponse | None:
        return await self._send("POST", conversation_id, activity_id, activity)

    async def update_activity(
        self, conversation_id: str, activity_id: str, activity: Activity, **_: Any
    ) -> ResourceResponse | None:
        return await self._send("PUT", conversation_id, activity_id, activity)

    async def _send(
        self, method: str, conversation_id: str, activity_id: str | None, activity: Activity
    ) -> ResourceResponse | None:
        url = f"{self._base_url}/v3/conversations/{quote(conversation_id, safe='')}/activities"
        if activity_id:
            url += "/" + quote(activity_id, safe="")
        headers = {"User-Agent": self._user_agent, **await self._authorization()}
        if _HEADER_VALUE.fullmatch(conversation_id):
            # A routing hint (the URL names the conversation too); an id from an activity that
            # is no header value (non-ASCII, CR/LF) would make the HTTP client refuse the send.
            headers["x-ms-conversation-id"] = conversation_id
        body = to_json(activity)
        try:
            # Most sends succeed at once: tenacity's loop is made only for one whose first
            # attempt failed in a way `_retryable` allows.
            response = await self._request(method, url, body, headers)
        except (ConnectorError, httpx.ConnectError, httpx.ConnectTimeout) as error:
            if not _retryable(error):
                raise
            failed = error
        else:
            return _resource(response)
        try:
            return _resource(await self._retried(failed, method, url, body, headers))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConnectorError(0, "unreachable") from exc

    async def _retried(
        self,
        failed: Exception,
        method: str,
        url: str,
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> httpx.Response:
        """The rest of a send whose first attempt failed: tenacity's loop, starting from that
        failure, so that its waits and its limits count the attempt already made."""
        made = [failed]

        async def attempt(*args: Any) -> httpx.Response:
            if made:
                raise made.pop()  # the first attempt's failure, for tenacity to weigh
            return await self._request(*args)

        retrying = AsyncRetrying(  # made for each call: it keeps the call's state
            retry=retry_if_exception(_retryable),
            wait=_wait,
            stop=_stop,
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        response: httpx.Response = await retrying(attempt, method, url, body, headers)
        return response

    async def _request(
        self, method: str, url: str, body: dict[str, Any], headers: dict[str, str]
    ) -> httpx.Response:
        response = await self._http.request(method, url, json=body, headers=headers)
        if not response.is_success:
            raise ConnectorError(
                response.status_code, _error_code(response), _retry_after(response)
            )
        return response

    async def _authorization(self) -> dict[str, str]:
        app_id = getattr(self._credentials, "microsoft_app_id", None)
        # No app id (the sandbox, the Emulator) or an anonymous skill: Bot Framework sends none.
        if not app_id or app_id == AuthenticationConstants.ANONYMOUS_SKILL_APP_ID:
            return {}
        # MSAL underneath is synchronous and may go to the network: off the event loop.
        token = await asyncio.to_thread(self._credentials.get_access_token)
        return {"Authorization": f"Bearer {token}"}


def _retryable(error: BaseException) -> bool:
    """What Teams asks bots to retry, or a send that never left: it cannot post twice."""
    if isinstance(error, ConnectorError):
        return error.status in _RETRY_STATUSES
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def _wait(state: RetryCallState) -> float:
    """What the Bot Connector asked for (Retry-After), or else the backoff."""
    error = state.outcome.exception() if state.outcome else None
    asked = error.retry_after if isinstance(error, ConnectorError) else None
    return _BACKOFF(state) if asked is None else asked


def _stop(state: RetryCallState) -> bool:
    return (
        state.attempt_number >= _ATTEMPTS or state.idle_for + state.upcoming_sleep > _BUDGET_SECONDS
    )


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.info(
        "bot connector %s: %s, retry %d in %.1f s",
        state.args[0],  # the method
        error.status if isinstance(error, ConnectorError) else 0,
        state.attempt_number,
        state.upcoming_sleep,
    )


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds when it is a finite, non-negative number (never a date here)."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if 0 <= seconds < math.inf else None  # also false for nan


def _resource(response: httpx.Response) -> ResourceResponse | None:
    """What msrest would answer: the sent activity's id, or None so the adapter uses its own."""
    sent = _sent_id(response)
    return None if sent is None else ResourceResponse(id=sent)


def _sent_id(response: httpx.Response) -> str | None:
    """The id the Bot Connector gave the activity (202 and some channels send no body)."""
    try:
        answer = response.json() if response.content else {}
    except ValueError:
        return None
    sent = answer.get("id") if isinstance(answer, dict) else None
    return sent if isinstance(sent, str) else None


def _error_code(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return ""
    return str(error.get("code", "")) if isinstance(error, dict) else ""
