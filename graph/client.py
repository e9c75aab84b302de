"""An async client for Graph's onlineMeetings endpoints over one shared httpx.AsyncClient."""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from typing import Any
from urllib.parse import quote

import httpx

from graph.errors import GraphError, GraphUnreachable, error_from_response
from graph.models import MeetingRequest, OnlineMeeting

log = logging.getLogger(__name__)

# The client-request-id of the latest Graph call in this task (a turn), for its log lines.
current_client_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "current_client_request_id", default=None
)


class GraphClient:
    """Creates, fetches and deletes online meetings with a caller-supplied bearer token.

    `user_id=None` addresses `/me` (delegated token); a user id addresses `/users/{id}`
    (application token with an access policy, or the user's own delegated token).
    """

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")

    async def create_meeting(
        self, token: str, request: MeetingRequest, *, user_id: str | None = None, locale: str = ""
    ) -> OnlineMeeting:
        """POST /onlineMeetings: always a new meeting."""
        body = await self._call(
            "POST", _meetings(user_id), token, json=request.to_graph(), locale=locale
        )
        return _parse_meeting(body)

    async def create_or_get_meeting(
        self, token: str, request: MeetingRequest, *, user_id: str | None = None, locale: str = ""
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
        return _parse_meeting(body)

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
    ) -> dict[str, Any]:
        client_request_id = str(uuid.uuid4())
        current_client_request_id.set(client_request_id)
        headers = {"client-request-id": client_request_id, "Accept": "application/json"}
        if token:  # without one Graph answers 401 "Access token is empty", which is the truth
            headers["Authorization"] = f"Bearer {token}"
        if locale:
            headers["Accept-Language"] = locale
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
            raise GraphUnreachable(
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
            raise error_from_response(response, client_request_id)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            body = response.json()
        except ValueError as exc:
            raise GraphError(
                "Microsoft Graph sent a response that is not JSON.",
                request_id=response.headers.get("request-id"),
                client_request_id=client_request_id,
                status=response.status_code,
            ) from exc
        if not isinstance(body, dict):
            raise GraphError(
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
