"""A stand-in for Microsoft Graph v1.0's onlineMeetings endpoints.

Follows Microsoft's documentation (create, createOrGet, get, delete; error envelope; throttling).
Where the documentation is silent, the choice made is noted beside the code.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import string
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web

from sandbox.identity import SandboxIdentity, SandboxUser, TokenRejected

WRITE_SCOPE = "OnlineMeetings.ReadWrite"
READ_SCOPES = frozenset({"OnlineMeetings.Read", WRITE_SCOPE})
WRITE_ROLE = "OnlineMeetings.ReadWrite.All"
READ_ROLES = frozenset({"OnlineMeetings.Read.All", WRITE_ROLE})
# Members createOrGet accepts (CSDL action parameters); anything else is ignored.
CREATE_OR_GET_PARAMETERS = frozenset(
    {"externalId", "subject", "startDateTime", "endDateTime", "participants", "chatInfo"}
)
# Read-only members a client may echo back; Graph ignores them on create.
READ_ONLY = frozenset(
    {
        "id",
        "joinWebUrl",
        "creationDateTime",
        "audioConferencing",
        "joinInformation",
        "videoTeleconferenceId",
        "meetingType",
        "expiryDateTime",
    }
)
# The stand-in lives in the bot's process in sandbox mode, so what it keeps is bounded: the newest
# requests of its record (tests read the last few) and the newest meetings (an older one answers
# 404, as a meeting past its expiryDateTime does in Graph). Memory stays flat over any soak.
REQUESTS_KEPT = 1000
MEETINGS_KEPT = 2000
_STATUS_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class GraphFault(Exception):
    """An error answer in Graph's format."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox received it (the bearer token redacted) and its status."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int
    request_id: str


@dataclass
class Faults:
    """Fault injection: added latency and a queue of forced error answers."""

    latency: float = 0.0
    _queue: deque[GraphFault] = field(default_factory=deque)
    _lost: deque[tuple[int, float]] = field(default_factory=deque)

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: float | str | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `times` meeting requests with `status` instead of serving them."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        default_message = (
            "Please retry again later." if status == 429 else "The service is unavailable."
        )
        for _ in range(times):
            self._queue.append(
                GraphFault(
                    status,
                    code or _STATUS_CODES.get(status, "UnknownError"),
                    message or default_message,
                    headers=headers,
                )
            )

    def act_then_fail(self, status: int = 504, *, hang: float = 0.0) -> None:
        """Serve the next create (the meeting is made), then lose its answer: wait `hang`
        seconds (past the client's read timeout, say), then answer `status` instead."""
        self._lost.append((status, hang))

    def clear(self) -> None:
        self.latency = 0.0
        self._queue.clear()
        self._lost.clear()

    def take_lost(self) -> tuple[int, float] | None:
        return self._lost.popleft() if self._lost else None

    def take(self) -> GraphFault | None:
        return self._queue.popleft() if self._queue else None


@dataclass(frozen=True)
class _Caller:
    claims: dict[str, Any]

    @property
    def is_app(self) -> bool:
        return self.claims.get("idtyp") == "app" or "scp" not in self.claims

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(str(self.claims.get("scp", "")).split())

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.claims.get("roles") or ())


@dataclass
class _Stored:
    # As JSON text: thousands of meetings as nested dicts would be thousands of objects for the
    # garbage collector of the bot process that hosts the sandbox to walk.
    text: str
    tenant_id: str
    organizer_oid: str
    external_key: tuple[str, str, str] | None = None

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.text)
        return body


class SandboxGraph:
    """State of the stand-in: meetings, access policies, faults and the request record."""

    def __init__(
        self,
        identity: SandboxIdentity,
        *,
        tenant_passcode_default: bool = False,
        requests_kept: int = REQUESTS_KEPT,
        meetings_kept: int = MEETINGS_KEPT,
    ) -> None:
        self.identity = identity
        self._requests_kept = requests_kept
        self._meetings_kept = meetings_kept
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []  # the newest `requests_kept` at most
        self.created = 0  # meetings created since start, kept or not
        # Tenant default for meetings whose request does not say (createOrGet never can).
        self.tenant_passcode_default = tenant_passcode_default
        self._meetings: dict[str, _Stored] = {}
        self._external_ids: dict[tuple[str, str, str], str] = {}
        self._access_policies: set[tuple[str, str | None]] = set()

    def grant_access_policy(self, app_id: str, user_id: str | None = None) -> None:
        """An application access policy for `app_id`, for one user or (None) tenant-wide."""
        self._access_policies.add((app_id, user_id))

    def revoke_access_policies(self) -> None:
        self._access_policies.clear()

    def meetings(self) -> list[dict[str, Any]]:
        """Every meeting that exists now, as Graph would return it."""
        return [stored.body for stored in self._meetings.values()]

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        for prefix in ("/v1.0/me/onlineMeetings", "/v1.0/users/{user}/onlineMeetings"):
            app.router.add_post(prefix, self._create)
            app.router.add_post(prefix + "/createOrGet", self._create_or_get)
            app.router.add_get(prefix + "/{meeting_id}", self._get)
            app.router.add_delete(prefix + "/{meeting_id}", self._delete)
        return app

    # -- the HTTP edge: ids, record, faults, error format ----------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        # Graph echoes client-request-id, and uses its own request-id when none was sent.
        client_request_id = request.headers.get("client-request-id") or request_id
        try:
            if self.faults.latency:
                await asyncio.sleep(self.faults.latency)
            response = await handler(request)
            if request.method == "POST" and response.status < 300:
                response = await self._lose_answer(response)
        except GraphFault as fault:
            response = _error_response(fault, request_id, client_request_id)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = _error_response(
                GraphFault(exc.status, _STATUS_CODES.get(exc.status, "BadRequest"), exc.reason),
                request_id,
                client_request_id,
            )
        response.headers["request-id"] = request_id
        response.headers["client-request-id"] = client_request_id
        response.headers["x-ms-ags-diagnostic"] = json.dumps(
            {
                "ServerInfo": {
                    "DataCenter": "Sandbox",
                    "Slice": "E",
                    "Ring": "0",
                    "ScaleUnit": "000",
                    "RoleInstance": "SANDBOX",
                }
            }
        )
        self.requests.append(await _record(request, response.status, request_id))
        if len(self.requests) > self._requests_kept:  # halved at once: appends stay O(1)
            del self.requests[: -(self._requests_kept // 2)]
        return response

    async def _lose_answer(self, response: web.StreamResponse) -> web.StreamResponse:
        """The answer to a create that was served, unless a fault says it gets lost."""
        if (lost := self.faults.take_lost()) is None:
            return response
        status, hang = lost
        await asyncio.sleep(hang)
        raise GraphFault(status, _STATUS_CODES.get(status, "UnknownError"), "Timeout.")

    def _authorize(self, request: web.Request, *, write: bool) -> tuple[_Caller, SandboxUser]:
        """The caller and the user whose meetings the path addresses, or a Graph error."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("Access token is empty.")
        try:
            caller = _Caller(self.identity.verify(token.strip()))
        except TokenRejected as exc:
            raise _unauthenticated(str(exc)) from exc

        path_user = request.match_info.get("user")
        if path_user is None:  # /me
            if caller.is_app:
                raise GraphFault(
                    400,
                    "BadRequest",
                    "/me request is only valid with delegated authentication flow.",
                )
            self._require_scope(caller, write)
            target = self.identity.user(caller.claims["oid"])
        elif caller.is_app:
            if not caller.roles & ({WRITE_ROLE} if write else READ_ROLES):
                raise GraphFault(
                    403, "Forbidden", "Insufficient privileges to complete the operation."
                )
            target = self.identity.user(path_user) or self.identity.user_by_upn(path_user)
            if target is None or target.tenant_id != caller.claims["tid"]:
                raise GraphFault(404, "NotFound", f"User '{path_user}' was not found.")
            if not self._policy_allows(caller.claims["appid"], target.oid):
                raise GraphFault(
                    403, "Forbidden", "No application access policy found for this app."
                )
        else:
            self._require_scope(caller, write)
            target = self.identity.user(path_user) or self.identity.user_by_upn(path_user)
            # A delegated token reaches only its own user's meetings.
            if target is None or target.oid != caller.claims["oid"]:
                raise GraphFault(403, "Forbidden", "")
        if target is None or not target.teams_licensed:
            # Graph's answer for personal accounts and users without a Teams licence.
            raise GraphFault(400, "AuthenticationError", "Error authenticating with resource")
        if fault := self.faults.take():
            raise fault
        return caller, target

    def _require_scope(self, caller: _Caller, write: bool) -> None:
        # Graph's 403 for a missing delegated permission usually carries an empty message.
        if not caller.scopes & ({WRITE_SCOPE} if write else READ_SCOPES):
            raise GraphFault(403, "Forbidden", "")

    def _policy_allows(self, app_id: str, user_oid: str) -> bool:
        return (app_id, None) in self._access_policies or (
            app_id,
            user_oid,
        ) in self._access_policies

    # -- endpoints ---------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        _, organizer = self._authorize(request, write=True)
        body = await _json_object(request)
        settings = body.get("joinMeetingIdSettings") or {}
        if not isinstance(settings, dict):
            raise GraphFault(400, "BadRequest", "Invalid value for 'joinMeetingIdSettings'.")
        if settings.get("passcode") is not None:
            # Graph generates passcodes; a custom one is not supported (docs, create example 2).
            # The exact wording of the real refusal is undocumented.
            raise GraphFault(400, "BadRequest", "Custom passcode is not supported.")
        passcode = settings.get("isPasscodeRequired")
        meeting = self._new_meeting(
            request,
            organizer,
            body,
            passcode_required=self.tenant_passcode_default if passcode is None else bool(passcode),
        )
        return _json(meeting, status=201)

    async def _create_or_get(self, request: web.Request) -> web.Response:
        _, organizer = self._authorize(request, write=True)
        body = await _json_object(request)
        external_id = body.get("externalId")
        if not isinstance(external_id, str) or not external_id:
            raise GraphFault(400, "BadRequest", "The parameter 'externalId' is required.")
        key = (organizer.tenant_id, organizer.oid, external_id)
        if (existing := self._external_ids.get(key)) and existing in self._meetings:
            # The docs say only that the existing meeting is returned; it is not updated.
            return _json(self._localized(self._meetings[existing].body, request), status=200)
        parameters = {k: v for k, v in body.items() if k in CREATE_OR_GET_PARAMETERS}
        meeting = self._new_meeting(
            request,
            organizer,
            parameters,
            passcode_required=self.tenant_passcode_default,
            external_key=key,
        )
        return _json(meeting, status=201)

    async def _get(self, request: web.Request) -> web.Response:
        _, target = self._authorize(request, write=False)
        stored = self._find(request, target)
        return _json(self._localized(stored.body, request))

    async def _delete(self, request: web.Request) -> web.Response:
        _, target = self._authorize(request, write=True)
        self._forget(self._find(request, target).body["id"])
        return web.Response(status=204)

    def _forget(self, meeting_id: str) -> None:
        stored = self._meetings.pop(meeting_id)
        if stored.external_key is not None:
            self._external_ids.pop(stored.external_key, None)

    def _find(self, request: web.Request, target: SandboxUser) -> _Stored:
        stored = self._meetings.get(request.match_info["meeting_id"])
        if stored is None or (stored.tenant_id, stored.organizer_oid) != (
            target.tenant_id,
            target.oid,
        ):
            raise GraphFault(404, "NotFound", "The requested meeting was not found.")
        return stored

    # -- the meeting resource ----------------------------------------------------------------

    def _new_meeting(
        self,
        request: web.Request,
        organizer: SandboxUser,
        body: dict[str, Any],
        *,
        passcode_required: bool,
        external_key: tuple[str, str, str] | None = None,
    ) -> dict[str, Any]:
        start, end = _meeting_times(body)
        created = datetime.now(UTC)
        thread_id = (
            "19:meeting_" + base64.b64encode(str(uuid.uuid4()).encode()).decode() + "@thread.v2"
        )
        meeting_id = base64.b64encode(f"1*{organizer.oid}*0**{thread_id}".encode()).decode()
        join_meeting_id = str(10**12 + secrets.randbelow(9 * 10**12))  # 13 digits
        context = quote(
            json.dumps({"Tid": organizer.tenant_id, "Oid": organizer.oid}, separators=(",", ":")),
            safe="",
        )
        join_web_url = (
            "https://teams.microsoft.com/l/meetup-join/"
            f"{quote(thread_id, safe='')}/0?context={context}"
        )
        audio = None
        if organizer.audio_conferencing:
            conference_id = str(secrets.randbelow(900_000_000) + 100_000_000)
            audio = {
                "conferenceId": conference_id,
                "tollNumber": "+1 425-555-0123",
                "tollFreeNumber": None,
                "tollNumbers": ["+1 425-555-0123"],
                "tollFreeNumbers": [],
                "dialinUrl": f"https://dialin.teams.microsoft.com/{uuid.uuid4()}?id={conference_id}",
            }
        subject = body.get("subject")
        meeting: dict[str, Any] = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users"
            f"('{organizer.oid}')/onlineMeetings/$entity",
            "id": meeting_id,
            "creationDateTime": _graph_time(created),
            "startDateTime": _graph_time(start),
            "endDateTime": _graph_time(end),
            "expiryDateTime": _graph_time(end + timedelta(days=60)),
            "subject": subject if isinstance(subject, str) else None,
            "externalId": body.get("externalId"),
            "isBroadcast": False,
            "joinWebUrl": join_web_url,
            "meetingOptionsWebUrl": "https://teams.microsoft.com/meetingOptions/?organizerId="
            f"{organizer.oid}&tenantId={organizer.tenant_id}&threadId={quote(thread_id)}&messageId=0",
            "videoTeleconferenceId": None,
            "meetingSpokenLanguageTag": None,
            "allowedPresenters": "everyone",
            "allowMeetingChat": "enabled",
            "allowTeamworkReactions": True,
            "allowAttendeeToEnableCamera": True,
            "allowAttendeeToEnableMic": True,
            "allowRecording": True,
            "allowTranscription": True,
            "allowParticipantsToChangeName": False,
            "isEntryExitAnnounced": True,
            "recordAutomatically": False,
            "shareMeetingChatHistoryDefault": "all",
            "watermarkProtection": None,
            "chatRestrictions": None,
            "audioConferencing": audio,
            "chatInfo": {"threadId": thread_id, "messageId": "0", "replyChainMessageId": None},
            "participants": {
                "organizer": {
                    "upn": organizer.upn,
                    "role": "presenter",
                    "identity": {
                        "user": {
                            "id": organizer.oid,
                            "displayName": None,
                            "tenantId": organizer.tenant_id,
                            "identityProvider": "AAD",
                        }
                    },
                },
                "attendees": [],
            },
            "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": False},
            "joinMeetingIdSettings": {
                "isPasscodeRequired": passcode_required,
                "joinMeetingId": join_meeting_id,
                "passcode": _passcode() if passcode_required else None,
            },
        }
        self._meetings[meeting_id] = _Stored(
            json.dumps(meeting), organizer.tenant_id, organizer.oid, external_key
        )
        self.created += 1
        if external_key is not None:
            self._external_ids[external_key] = meeting_id
        if len(self._meetings) > self._meetings_kept:
            self._forget(next(iter(self._meetings)))  # the oldest: dicts keep insertion order
        return self._localized(meeting, request)

    def _localized(self, meeting: dict[str, Any], request: web.Request) -> dict[str, Any]:
        return {**meeting, "joinInformation": _join_information(meeting, request)}


# -- helpers ------------------------------------------------------------------------------------

_JOIN_TEXT = {
    "en": (
        "Microsoft Teams meeting",
        "Join on your computer, mobile app or room device",
        "Click here to join the meeting",
        "Meeting ID",
        "Passcode",
        "Or call in (audio only)",
        "Phone conference ID",
    ),
    "de": (
        "Microsoft Teams-Besprechung",
        "Auf dem Computer, der mobilen App oder dem Raumgerät teilnehmen",
        "Klicken Sie hier, um an der Besprechung teilzunehmen",
        "Besprechungs-ID",
        "Kennung",
        "Oder telefonisch teilnehmen (nur Audio)",
        "Konferenz-ID für Telefon",
    ),
    "fr": (
        "Réunion Microsoft Teams",
        "Rejoindre sur votre ordinateur, application mobile ou appareil de salle",
        "Cliquez ici pour participer à la réunion",
        "ID de la réunion",
        "Code secret",
        "Ou appelez (audio uniquement)",
        "ID de conférence téléphonique",
    ),
    "es": (
        "Reunión de Microsoft Teams",
        "Unirse desde el equipo, la aplicación móvil o el dispositivo de sala",
        "Haga clic aquí para unirse a la reunión",
        "Id. de reunión",
        "Código de acceso",
        "O llame (solo audio)",
        "Id. de conferencia telefónica",
    ),
}


def _join_information(meeting: dict[str, Any], request: web.Request) -> dict[str, str]:
    """The HTML join blurb, in the language of Accept-Language (English when unknown)."""
    accept = request.headers.get("Accept-Language", "")
    language = accept.split(",")[0].split(";")[0].strip().split("-")[0].lower()
    title, join_on, click, id_label, code_label, call_in, conf_label = _JOIN_TEXT.get(
        language, _JOIN_TEXT["en"]
    )
    settings = meeting["joinMeetingIdSettings"]
    parts = [
        f"<p>{title}</p><p>{join_on}</p>",
        f'<p><a href="{meeting["joinWebUrl"]}">{click}</a></p>',
        f"<p>{id_label}: {settings['joinMeetingId']}</p>",
    ]
    if settings["passcode"]:
        parts.append(f"<p>{code_label}: {settings['passcode']}</p>")
    if audio := meeting.get("audioConferencing"):
        parts.append(
            f"<p>{call_in}</p><p>{audio['tollNumber']}</p>"
            f"<p>{conf_label}: {audio['conferenceId']}#</p>"
        )
    html = "<html><body>" + "".join(parts) + "</body></html>"
    return {"content": "data:text/html," + quote(html, safe=""), "contentType": "html"}


def _meeting_times(body: dict[str, Any]) -> tuple[datetime, datetime]:
    """Documented defaults: start now, end an hour after start; end alone or end < start fails."""
    start = _parse_time(body.get("startDateTime"), "startDateTime")
    end = _parse_time(body.get("endDateTime"), "endDateTime")
    if start is None:
        if end is not None:
            raise GraphFault(
                400, "BadRequest", "startDateTime is required when endDateTime is set."
            )
        start = datetime.now(UTC)
    if end is None:
        end = start + timedelta(hours=1)
    if end < start:
        # Graph documents only that "an error is thrown"; status and wording are ours.
        raise GraphFault(400, "BadRequest", "The endDateTime must be later than the startDateTime.")
    return start, end


def _parse_time(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise GraphFault(400, "BadRequest", f"Invalid value for '{name}'.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise GraphFault(400, "BadRequest", f"Cannot convert '{value}' for '{name}'.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _graph_time(value: datetime) -> str:
    # Graph writes UTC with seven fractional digits and a Z.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _passcode() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise GraphFault(400, "BadRequest", "Unable to read JSON request payload.") from None
    if not isinstance(body, dict):
        raise GraphFault(400, "BadRequest", "Unable to read JSON request payload.")
    return {k: v for k, v in body.items() if k not in READ_ONLY}


def _json(body: dict[str, Any], *, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        charset="utf-8",
    )


def _unauthenticated(message: str) -> GraphFault:
    return GraphFault(
        401,
        "InvalidAuthenticationToken",
        message,
        headers={
            "WWW-Authenticate": 'Bearer realm="", authorization_uri='
            '"https://login.microsoftonline.com/common/oauth2/authorize", '
            'client_id="00000003-0000-0000-c000-000000000000"'
        },
    )


def _error_response(fault: GraphFault, request_id: str, client_request_id: str) -> web.Response:
    inner: dict[str, str] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),  # Graph sends no offset here
        "request-id": request_id,
        "client-request-id": client_request_id,
    }
    if fault.status == 429:
        inner |= {"code": "429", "status": "429", "message": fault.message}
    response = _json(
        {"error": {"code": fault.code, "message": fault.message, "innerError": inner}},
        status=fault.status,
    )
    response.headers.update(fault.headers)
    return response


async def _record(request: web.Request, status: int, request_id: str) -> RecordedRequest:
    headers = dict(request.headers)
    if "Authorization" in headers:
        headers["Authorization"] = "Bearer <redacted>"
    raw = await request.read()
    try:
        body = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = raw.decode(errors="replace")
    return RecordedRequest(
        request.method, request.path, dict(request.query), headers, body, status, request_id
    )
