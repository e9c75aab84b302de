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
import re
from typing import Any
from urllib.parse import quote

import httpx
from botbuilder.schema import Activity, ResourceResponse
from botframework.connector.auth import AuthenticationConstants

from bot.framework.schema import to_json
from graph.client import RetryPolicy
from graph.errors import parse_retry_after

log = logging.getLogger(__name__)

# Printable ASCII: what an HTTP header value may hold. Teams' conversation ids always are.
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
# What Teams asks bots to retry: throttling, and two transient gateway answers.
_RETRY_STATUSES = frozenset({412, 429, 502, 504})


class ConnectorError(Exception):
    """The Bot Connector refused or failed a call."""

    def __init__(self, status: int, code: str = "") -> None:
        super().__init__(f"Bot Connector answered {status} {code}".strip())
        self.status = status
        self.code = code


class Connector:
    """A ConnectorClient for one service URL whose activity calls skip msrest."""

    def __init__(
        self, inner: Any, http: httpx.AsyncClient, retry: RetryPolicy | None = None
    ) -> None:
        self._inner = inner
        self.conversations = _Conversations(
            inner.conversations,
            http,
            inner.config.base_url.rstrip("/"),
            inner.config.credentials,
            inner.config.user_agent,
            retry or RetryPolicy(budget_seconds=10.0),
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
        retry: RetryPolicy,
    ) -> None:
        self._inner = inner
        self._http = http
        self._base_url = base_url
        self._credentials = credentials
        self._user_agent = user_agent
        self._retry = retry

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # the rarer calls go through msrest

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
        attempt, waited = 0, 0.0
        while True:
            try:
                response = await self._http.request(method, url, json=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                # Never sent: trying again cannot post the message twice.
                status, delay = 0, self._retry.backoff(attempt)
            else:
                if response.is_success:
                    # No id: None, as msrest gives, so the adapter falls back to its own.
                    sent = _sent_id(response)
                    return None if sent is None else ResourceResponse(id=sent)
                status = response.status_code
                if status not in _RETRY_STATUSES:
                    raise ConnectorError(status, _error_code(response))
                asked = parse_retry_after(response.headers.get("Retry-After"))
                delay = self._retry.backoff(attempt) if asked is None else asked
            attempt += 1
            if attempt >= self._retry.max_attempts or waited + delay > self._retry.budget_seconds:
                if status:
                    raise ConnectorError(status)
                raise ConnectorError(0, "unreachable")
            log.info("bot connector %s: %s, retry %d in %.1f s", method, status, attempt, delay)
            await self._retry.sleep(delay)
            waited += delay

    async def _authorization(self) -> dict[str, str]:
        app_id = getattr(self._credentials, "microsoft_app_id", None)
        # No app id (the sandbox, the Emulator) or an anonymous skill: Bot Framework sends none.
        if not app_id or app_id == AuthenticationConstants.ANONYMOUS_SKILL_APP_ID:
            return {}
        # MSAL underneath is synchronous and may go to the network: off the event loop.
        token = await asyncio.to_thread(self._credentials.get_access_token)
        return {"Authorization": f"Bearer {token}"}


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
