"""Sign-in attempts (authorization-code flow with PKCE) and the requests waiting for them."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from botbuilder.core import Storage
from cryptography.fernet import Fernet

from bot.identity import TeamsUser
from bot.storage import ETagConflict
from bot.tokens import GRAPH_DELEGATED_SCOPES, MsalApps

SIGN_IN_TTL_SECONDS = 600


class SignInLinkInvalid(Exception):
    """The sign-in link or state is unknown, expired or already used."""


@dataclass(frozen=True)
class SignInAttempt:
    id: str
    user: TeamsUser
    reference: dict[str, Any]  # the serialized ConversationReference to answer in
    login_hint: str


@dataclass(frozen=True)
class PendingMeeting:
    """A /meet request kept while its requester signs in."""

    subject: str
    start: str  # ISO 8601 with offset
    end: str
    timezone: str
    locale: str
    reference: dict[str, Any]
    passcode_required: bool | None = None
    request_id: str | None = None


class SignInFlows:
    """Creates sign-in links and turns their callbacks back into the Teams user who asked.

    The attempt id doubles as OAuth `state`: unguessable, bound to one Teams user and
    conversation, valid for ten minutes, and consumed by an ETag-guarded write so it works once.
    The MSAL flow (with the PKCE verifier) is stored encrypted.
    """

    def __init__(
        self,
        storage: Storage,
        fernet: Fernet,
        apps: MsalApps,
        public_url: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._storage = storage
        self._fernet = fernet
        self._apps = apps
        self._public_url = public_url
        self._clock = clock

    @property
    def redirect_uri(self) -> str:
        return f"{self._public_url}/auth/callback"

    async def begin(self, user: TeamsUser, reference: dict[str, Any], login_hint: str) -> str:
        """A new attempt for `user`; returns the link that starts it."""
        attempt_id = secrets.token_urlsafe(32)
        await self._storage.write(
            {
                _key(attempt_id): {
                    "user": asdict(user),
                    "reference": reference,
                    "login_hint": login_hint,
                    "created": self._clock(),
                    "flow": None,
                }
            }
        )
        return f"{self._public_url}/auth/start?id={attempt_id}"

    async def start(self, attempt_id: str) -> str:
        """Begin the authorization-code flow for an attempt; returns the authorize URL."""
        item = await self._read_valid(attempt_id)
        hint = item["login_hint"] or None
        flow = await asyncio.to_thread(
            lambda: self._apps.shared().initiate_auth_code_flow(
                GRAPH_DELEGATED_SCOPES,
                redirect_uri=self.redirect_uri,
                state=attempt_id,
                login_hint=hint,
                # The code comes back in a POST body: never in a URL, a history or an access log.
                response_mode="form_post",
            )
        )
        item["flow"] = self._fernet.encrypt(json.dumps(flow).encode()).decode()
        try:
            await self._storage.write({_key(attempt_id): item})
        except ETagConflict:
            raise SignInLinkInvalid("This sign-in link was just used.") from None
        auth_uri: str = flow["auth_uri"]
        return auth_uri

    async def finish(self, state: str) -> tuple[SignInAttempt, dict[str, Any]]:
        """Consume the attempt named by `state`; returns it with its MSAL flow."""
        item = await self._read_valid(state)
        if item.get("used") or not item.get("flow"):
            raise SignInLinkInvalid("This sign-in link was already used.")
        try:
            await self._storage.write({_key(state): {**item, "used": True}})
        except ETagConflict:
            raise SignInLinkInvalid("This sign-in link was already used.") from None
        await self._storage.delete([_key(state)])
        flow = json.loads(self._fernet.decrypt(item["flow"].encode()))
        attempt = SignInAttempt(
            id=state,
            user=TeamsUser(**item["user"]),
            reference=item["reference"],
            login_hint=item["login_hint"],
        )
        return attempt, flow

    async def _read_valid(self, attempt_id: str) -> dict[str, Any]:
        if not attempt_id or len(attempt_id) > 200:
            raise SignInLinkInvalid("This sign-in link is not valid.")
        item: dict[str, Any] | None = (await self._storage.read([_key(attempt_id)])).get(
            _key(attempt_id)
        )
        if item is None:
            raise SignInLinkInvalid("This sign-in link is not valid or was already used.")
        if self._clock() - item["created"] > SIGN_IN_TTL_SECONDS:
            await self._storage.delete([_key(attempt_id)])
            raise SignInLinkInvalid("This sign-in link has expired (links last 10 minutes).")
        return item


class PendingRequests:
    """At most one waiting /meet request per user, kept in the bot's storage."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def keep(self, user: TeamsUser, meeting: PendingMeeting) -> None:
        await self._storage.write({_pending_key(user): {**asdict(meeting), "e_tag": "*"}})

    async def take(self, user: TeamsUser) -> PendingMeeting | None:
        key = _pending_key(user)
        item = (await self._storage.read([key])).get(key)
        if item is None:
            return None
        try:
            # Guarded by the ETag we read, so two sign-ins racing resume the request once.
            await self._storage.write({key: {**item, "taken": True}})
        except ETagConflict:
            return None
        if item.get("taken"):
            return None
        await self._storage.delete([key])
        fields = {k: v for k, v in item.items() if k not in ("e_tag", "taken")}
        return PendingMeeting(**fields)


def _key(attempt_id: str) -> str:
    return f"signin/{attempt_id}"


def _pending_key(user: TeamsUser) -> str:
    return f"pending/{user.tenant_id}/{user.aad_object_id}"
