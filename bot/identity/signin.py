"""Sign-in attempts: the authorization-code flow with PKCE, bound to one Teams user."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from botbuilder.core import Storage
from cryptography.fernet import InvalidToken

from bot.framework.address import ReplyAddress
from bot.identity.tokens import MsalApps, NoWorkAccount
from bot.identity.users import TeamsUser
from bot.state.keyring import Cipher
from bot.state.store import ETagConflict

SIGN_IN_TTL_SECONDS = 600


class SignInLinkInvalid(Exception):
    """The sign-in link or state is unknown, expired or already used."""


@dataclass(frozen=True)
class SignInAttempt:
    id: str
    user: TeamsUser
    address: ReplyAddress  # the chat where the user asked to sign in
    login_hint: str


class SignInFlows:
    """Creates sign-in links and turns their callbacks back into the Teams user who asked.

    The attempt id doubles as OAuth `state`: unguessable, bound to one Teams user and
    conversation, valid for ten minutes, and consumed by an ETag-guarded write so it works once.
    The MSAL flow (with the PKCE verifier) is stored encrypted.
    """

    def __init__(
        self,
        storage: Storage,
        fernet: Cipher,
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

    async def begin(self, user: TeamsUser, address: ReplyAddress, login_hint: str) -> str:
        """A new attempt for `user`; returns the link that starts it."""
        attempt_id = secrets.token_urlsafe(32)
        created = self._clock()
        await self._storage.write(
            {
                _key(attempt_id): {
                    "user": asdict(user),
                    "address": address.to_json(),
                    "login_hint": login_hint,
                    "created": created,
                    "expires": created + SIGN_IN_TTL_SECONDS,
                    "flow": None,
                }
            }
        )
        return f"{self._public_url}/auth/start?id={attempt_id}"

    async def start(self, attempt_id: str) -> str:
        """Begin the authorization-code flow for an attempt; returns the authorize URL."""
        item = await self._read_valid(attempt_id)
        if item.get("flow"):
            # Opened again (a second tab, a reload): the same flow, so either tab can finish.
            flow: dict[str, Any] = self._open_flow(item)
            return str(flow["auth_uri"])
        hint = item["login_hint"] or None
        user = TeamsUser(**item["user"])
        try:
            flow = await asyncio.to_thread(
                # At the tenant Teams runs in: a guest gets that tenant's token, not their home's.
                lambda: self._apps.for_user(user).initiate_auth_code_flow(
                    self._apps.scopes.delegated,
                    redirect_uri=self.redirect_uri,
                    state=attempt_id,
                    login_hint=hint,
                    # The code comes back in a POST body: never in a URL, a history or an
                    # access log.
                    response_mode="form_post",
                )
            )
        except NoWorkAccount:
            raise SignInLinkInvalid("This sign-in link is not valid.") from None
        item["flow"] = self._fernet.encrypt(json.dumps(flow).encode()).decode()
        try:
            await self._storage.write({_key(attempt_id): item})
        except ETagConflict:
            # Opened twice at once: the other request stored its flow first; use that one.
            return await self.start(attempt_id)
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
        flow = self._open_flow(item)
        attempt = SignInAttempt(
            id=state,
            user=TeamsUser(**item["user"]),
            address=ReplyAddress.from_json(item["address"]),
            login_hint=item["login_hint"],
        )
        return attempt, flow

    def _open_flow(self, item: dict[str, Any]) -> dict[str, Any]:
        try:
            flow: dict[str, Any] = json.loads(self._fernet.decrypt(item["flow"].encode()))
        except InvalidToken:
            # Sealed under a key TOKEN_CACHE_KEY no longer holds: a new link is needed.
            raise SignInLinkInvalid("This sign-in link is no longer valid.") from None
        return flow

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


def _key(attempt_id: str) -> str:
    return f"signin/{attempt_id}"
