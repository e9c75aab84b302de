"""Graph tokens through MSAL: per-user delegated tokens (cached, encrypted at rest) or app-only.

MSAL is synchronous, so every MSAL call runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msal
import requests
from botbuilder.core import Storage
from cachetools import LRUCache
from cryptography.fernet import InvalidToken

from bot.credentials import AppTokenUnavailable, ManagedIdentityTokens
from bot.identity.users import SignInRequired, TeamsUser
from bot.state.keyring import Cipher

log = logging.getLogger(__name__)

GRAPH_DELEGATED_SCOPES = ["https://graph.microsoft.com/OnlineMeetings.ReadWrite"]
GRAPH_APP_SCOPES = ["https://graph.microsoft.com/.default"]
CONSUMER_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"  # personal Microsoft accounts
# A stored token cache is deleted this long after it was last written (at sign-in, and whenever
# the bot renews the user's tokens). Entra's refresh tokens lapse after 90 days unused anyway.
TOKEN_CACHE_DAYS = 90


class NoWorkAccount(Exception):
    """The Teams user has no Entra identity (aadObjectId) to create meetings with."""


class SignInFailed(Exception):
    """The identity provider refused the sign-in; the message is safe to show."""


class PersonalAccount(SignInFailed):
    """A personal Microsoft account signed in; online meetings need work or school accounts."""


class WrongAccount(SignInFailed):
    """Someone other than the Teams user who asked completed the sign-in."""


@dataclass(frozen=True)
class MsalConfig:
    client_id: str
    # A secret, or a dict: a certificate, or a client assertion (bot.credentials.Proofs).
    client_credential: str | dict[str, Any] = field(repr=False)
    authority: str
    ca_bundle: Path | None = None  # the sandbox's certificate; None means the system's


class MsalApps:
    """One shared ConfidentialClientApplication, and cache-bound apps for per-user work.

    MSAL binds a token cache to an application object. Sharing one app across users would mean one
    cache for everyone (or a lock around every call), so per-user calls use a light app over the
    user's own cache; they share the HTTP session and MSAL's http_cache, so building one costs no
    network round trip.
    """

    def __init__(self, config: MsalConfig) -> None:
        self._config = config
        self._session = requests.Session()
        if config.ca_bundle is not None:
            self._session.verify = str(config.ca_bundle)
            # requests lets REQUESTS_CA_BUNDLE override Session.verify; the sandbox is on
            # loopback, where no proxy from the environment applies either.
            self._session.trust_env = False
        self._http_cache: dict[Any, Any] = {}
        self._shared: msal.ConfidentialClientApplication | None = None

    def close(self) -> None:
        self._session.close()

    def shared(self) -> msal.ConfidentialClientApplication:
        """The shared app (flows, app-only tokens). Call from a worker thread: may do I/O."""
        if self._shared is None:
            self._shared = self._build(msal.TokenCache())
        return self._shared

    def for_cache(self, cache: msal.TokenCache) -> msal.ConfidentialClientApplication:
        """An app over `cache`. Call from a worker thread."""
        return self._build(cache)

    def _build(self, cache: msal.TokenCache) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            self._config.client_id,
            client_credential=self._config.client_credential,
            authority=self._config.authority,
            token_cache=cache,
            http_client=self._session,
            http_cache=self._http_cache,
            # Known Microsoft hosts skip this anyway; any other host (the sandbox, a stand-in
            # named by AUTH_AUTHORITY) is known to the operator, not to Microsoft.
            instance_discovery=False,
        )


class TokenCacheStore:
    """Each user's MSAL cache in the bot's storage, encrypted with Fernet (AES-128-CBC + HMAC).

    Kept until /signout, or TOKEN_CACHE_DAYS after it was last written.
    """

    def __init__(
        self, storage: Storage, fernet: Cipher, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._storage = storage
        self._fernet = fernet
        self._clock = clock

    async def read(self, user: TeamsUser) -> StoredCache | None:
        """The user's encrypted cache and its ETag, as stored."""
        item = (await self._storage.read([_cache_key(user)])).get(_cache_key(user))
        return StoredCache(item["blob"], item["e_tag"]) if item else None

    def open(self, stored: StoredCache | None) -> msal.SerializableTokenCache:
        """Decrypt a stored cache (CPU work: call from a worker thread)."""
        cache = msal.SerializableTokenCache()
        if stored is not None:
            try:
                cache.deserialize(self._fernet.decrypt(stored.blob.encode()).decode())
            except InvalidToken:
                # Sealed under a key TOKEN_CACHE_KEY no longer holds: the user signs in again.
                log.warning("a stored token cache could not be decrypted; ignoring it")
        return cache

    async def save(self, user: TeamsUser, cache: msal.SerializableTokenCache) -> None:
        if cache.has_state_changed:
            # Sealed under the newest key, whichever key sealed what was read.
            blob = self._fernet.encrypt(cache.serialize().encode()).decode()
            expires = self._clock() + TOKEN_CACHE_DAYS * 86400
            await self._storage.write(
                {_cache_key(user): {"blob": blob, "expires": expires, "e_tag": "*"}}
            )

    async def delete(self, user: TeamsUser) -> None:
        await self._storage.delete([_cache_key(user)])


@dataclass(frozen=True)
class StoredCache:
    blob: str = field(repr=False)
    e_tag: str


class DelegatedTokenProvider:
    """The requester's own Graph token, silently refreshed; SignInRequired when it can't be.

    Recent users' MSAL apps stay open (decrypted, in memory), each tagged with the ETag of the
    stored cache it came from: while the stored cache is unchanged, a turn skips decrypting it
    and building an app. Storage is still read every time, so a sign-out anywhere takes effect.
    """

    def __init__(self, apps: MsalApps, caches: TokenCacheStore, *, warm_users: int = 256) -> None:
        self._apps = apps
        self._caches = caches
        self._warm: LRUCache[str, tuple[str, msal.ConfidentialClientApplication]] = LRUCache(
            warm_users
        )
        self._lock = threading.Lock()  # the warm apps are used from worker threads

    async def token_for(self, user: TeamsUser) -> str:
        account_id = _home_account_id(user)
        stored = await self._caches.read(user)
        if stored is None:
            raise SignInRequired("You haven't signed in yet.")
        result, cache = await asyncio.to_thread(self._silent, stored, account_id)
        await self._caches.save(user, cache)  # a refresh rotates the refresh token
        if not result or "access_token" not in result:
            if result:
                log.info("silent token refresh failed: %s", result.get("error"))
            raise SignInRequired("Your sign-in has expired.")
        token: str = result["access_token"]
        return token

    def _silent(
        self, stored: StoredCache, home_account_id: str
    ) -> tuple[dict[str, Any] | None, msal.SerializableTokenCache]:
        app = self._warm_app(home_account_id, stored)
        cache: msal.SerializableTokenCache = app.token_cache
        account = next(
            (a for a in app.get_accounts() if a.get("home_account_id") == home_account_id), None
        )
        if account is None:
            return None, cache
        result: dict[str, Any] | None = app.acquire_token_silent(
            GRAPH_DELEGATED_SCOPES, account=account
        )
        if cache.has_state_changed:  # about to be stored under a new ETag
            with self._lock:
                self._warm.pop(home_account_id, None)
        return result, cache

    def _warm_app(self, key: str, stored: StoredCache) -> msal.ConfidentialClientApplication:
        with self._lock:
            warm = self._warm.get(key)
            if warm is not None and warm[0] == stored.e_tag:
                return warm[1]
        app = self._apps.for_cache(self._caches.open(stored))
        with self._lock:
            self._warm[key] = (stored.e_tag, app)
        return app

    async def complete_sign_in(
        self, user: TeamsUser, flow: dict[str, Any], auth_response: dict[str, str]
    ) -> str:
        """Redeem the authorization code; keep the tokens only if `user` is who signed in.

        Returns the signed-in account's username.
        """
        oid, tid = _entra_ids(user)
        cache = msal.SerializableTokenCache()
        result = await asyncio.to_thread(
            lambda: self._apps.for_cache(cache).acquire_token_by_auth_code_flow(
                flow, auth_response, scopes=GRAPH_DELEGATED_SCOPES
            )
        )
        if "error" in result:
            log.info("sign-in failed at the identity provider: %s", result.get("error"))
            raise SignInFailed("The sign-in didn't complete. Please try again.")
        claims = result.get("id_token_claims") or {}
        if claims.get("tid") == CONSUMER_TENANT_ID:
            raise PersonalAccount(
                "Personal Microsoft accounts can't create Teams meetings through this bot; "
                "sign in with your work or school account."
            )
        if (claims.get("oid"), claims.get("tid")) != (oid, tid):
            raise WrongAccount(
                "This sign-in link belongs to another Teams user, so the sign-in was not kept."
            )
        await self._caches.save(user, cache)
        return str(claims.get("preferred_username") or "")

    async def sign_out(self, user: TeamsUser) -> None:
        await self._caches.delete(user)
        with self._lock:
            self._warm.pop(_home_account_id(user), None)


class AppTokenProvider:
    """Application mode: one app-only token for the configured tenant, cached by MSAL."""

    def __init__(
        self,
        apps: MsalApps,
        tenant_id: str,
        *,
        managed_identity: ManagedIdentityTokens | None = None,
    ) -> None:
        self._apps = apps
        self._tenant_id = tenant_id
        self._managed_identity = managed_identity  # UserAssignedMSI: its token, not the app's

    async def token_for(self, user: TeamsUser) -> str:
        _, tid = _entra_ids(user)
        if tid.lower() != self._tenant_id.lower():
            raise NoWorkAccount("This bot is set up for another organization's tenant.")
        result = await asyncio.to_thread(self._acquire)
        if "access_token" not in result:
            log.error("app-only token request failed: %s", result.get("error"))
            raise SignInFailed("The bot couldn't get its own Microsoft Graph token.")
        token: str = result["access_token"]
        return token

    def _acquire(self) -> dict[str, Any]:
        if self._managed_identity is None:
            result: dict[str, Any] = self._apps.shared().acquire_token_for_client(GRAPH_APP_SCOPES)
            return result
        resource = GRAPH_APP_SCOPES[0].removesuffix("/.default")
        try:
            return {"access_token": self._managed_identity.token(resource)}
        except AppTokenUnavailable as exc:
            return {"error": str(exc)}


def _entra_ids(user: TeamsUser) -> tuple[str, str]:
    if not user.aad_object_id or not user.tenant_id:
        raise NoWorkAccount("Your chat account has no work or school identity.")
    return user.aad_object_id, user.tenant_id


def _home_account_id(user: TeamsUser) -> str:
    """How MSAL names the user's account in a token cache."""
    oid, tid = _entra_ids(user)
    return f"{oid}.{tid}"


def _cache_key(user: TeamsUser) -> str:
    oid, tid = _entra_ids(user)
    return f"msal-cache/{tid}/{oid}"
