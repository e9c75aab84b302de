"""Graph tokens through MSAL: per-user delegated tokens (cached, encrypted at rest) or app-only.

MSAL is synchronous, so every MSAL call runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
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

from bot.clouds import GraphScopes
from bot.credentials import AppTokenUnavailable, ManagedIdentityTokens
from bot.identity.users import SignInRequired, TeamsUser
from bot.state.keyring import Cipher

log = logging.getLogger(__name__)

CONSUMER_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"  # personal Microsoft accounts
# Authorities that sign a person in to their home tenant, whichever tenant Teams runs in.
MULTI_TENANT_AUTHORITIES = ("common", "organizations")
# A tenant id as it may stand in an authority's path: a GUID (or a domain name), nothing else.
_TENANT_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z.-]{0,99}")
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
    """One shared ConfidentialClientApplication (app-only), and apps for per-user work.

    MSAL binds a token cache to an application object. Sharing one app across users would mean one
    cache for everyone (or a lock around every call), so per-user calls use a light app over the
    user's own cache, at the authority of the user's tenant; they share the HTTP session and
    MSAL's http_cache, so building one costs no network round trip (after a tenant's first).
    """

    def __init__(self, config: MsalConfig, scopes: GraphScopes) -> None:
        self._config = config
        self.scopes = scopes  # for the Graph the bot calls: a token for another is refused
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
        """The shared app (app-only tokens). Call from a worker thread: may do I/O."""
        if self._shared is None:
            self._shared = self._build(msal.TokenCache(), self._config.authority)
        return self._shared

    def for_user(
        self, user: TeamsUser, cache: msal.TokenCache | None = None
    ) -> msal.ConfidentialClientApplication:
        """An app (over `cache`) that signs `user` in to the tenant Teams runs in for them, or
        NoWorkAccount. Call from a worker thread: may do I/O."""
        _, tenant = _entra_ids(user)
        return self._build(msal.TokenCache() if cache is None else cache, self.authority(tenant))

    def authority(self, tenant_id: str) -> str:
        """Where a user of the tenant Teams runs in signs in: that tenant.

        A guest (B2B) signing in at common or organizations gets their home tenant's identity
        and token; Microsoft's documentation: "for guest scenarios where you sign a user from
        one tenant into another tenant, you must provide the tenant identifier to correctly sign
        them into the resource tenant." A configured single tenant stays as it is.
        """
        base, _, tenant = self._config.authority.rpartition("/")
        if tenant.lower() in MULTI_TENANT_AUTHORITIES:
            return f"{base}/{tenant_id}"
        return self._config.authority

    def _build(self, cache: msal.TokenCache, authority: str) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            self._config.client_id,
            client_credential=self._config.client_credential,
            authority=authority,
            token_cache=cache,
            http_client=self._session,
            http_cache=self._http_cache,
            # Known Microsoft hosts skip this anyway; any other host (the sandbox, a stand-in
            # named by AUTH_AUTHORITY) is known to the operator, not to Microsoft.
            instance_discovery=False,
        )


class TokenCacheStore:
    """Each user's MSAL cache in the bot's storage, encrypted with Fernet (AES-128-CBC + HMAC),
    beside the MSAL account it holds for them (its home account id, encrypted too).

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
        return StoredCache(item["blob"], item["e_tag"], item.get("account")) if item else None

    def open(self, stored: StoredCache | None) -> OpenCache:
        """Decrypt a stored cache (CPU work: call from a worker thread)."""
        cache = msal.SerializableTokenCache()
        account = None
        if stored is not None:
            try:
                cache.deserialize(self._fernet.decrypt(stored.blob.encode()).decode())
                if stored.account is not None:
                    account = self._fernet.decrypt(stored.account.encode()).decode()
            except InvalidToken:
                # Sealed under a key TOKEN_CACHE_KEY no longer holds: the user signs in again.
                log.warning("a stored token cache could not be decrypted; ignoring it")
                cache = msal.SerializableTokenCache()
        return OpenCache(cache, account)

    async def save(self, user: TeamsUser, opened: OpenCache) -> None:
        """Store the cache if it changed, with the account it holds for `user`."""
        if opened.cache.has_state_changed:
            # Sealed under the newest key, whichever key sealed what was read.
            item: dict[str, Any] = {
                "blob": self._fernet.encrypt(opened.cache.serialize().encode()).decode(),
                "expires": self._clock() + TOKEN_CACHE_DAYS * 86400,
                "e_tag": "*",
            }
            if opened.account is not None:
                item["account"] = self._fernet.encrypt(opened.account.encode()).decode()
            await self._storage.write({_cache_key(user): item})

    async def delete(self, user: TeamsUser) -> None:
        await self._storage.delete([_cache_key(user)])


@dataclass(frozen=True)
class StoredCache:
    blob: str = field(repr=False)
    e_tag: str
    # The MSAL home account id, encrypted; None in caches stored before the bot kept it.
    account: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class OpenCache:
    """A user's decrypted MSAL cache, and the home account id of the account it holds for them
    (None: not known yet)."""

    cache: msal.SerializableTokenCache
    account: str | None


class DelegatedTokenProvider:
    """The requester's own Graph token, silently refreshed; SignInRequired when it can't be.

    MSAL names an account in its cache by the account's home tenant (`<uid>.<utid>` from the
    sign-in's client_info), while Teams names the person by their object id in the tenant Teams
    runs in. For a guest (B2B) the two differ, so the account that signed in is bound to the
    Teams user at sign-in and stored beside the cache.

    Recent users' MSAL apps stay open (decrypted, in memory), each tagged with the ETag of the
    stored cache it came from: while the stored cache is unchanged, a turn skips decrypting it
    and building an app. Storage is still read every time, so a sign-out anywhere takes effect.
    """

    def __init__(self, apps: MsalApps, caches: TokenCacheStore, *, warm_users: int = 256) -> None:
        self._apps = apps
        self._caches = caches
        self._warm: LRUCache[str, tuple[str, msal.ConfidentialClientApplication, str | None]] = (
            LRUCache(warm_users)
        )
        self._lock = threading.Lock()  # the warm apps are used from worker threads

    async def token_for(self, user: TeamsUser) -> str:
        stored = await self._caches.read(user)  # NoWorkAccount without Entra ids
        if stored is None:
            raise SignInRequired("You haven't signed in yet.")
        result, opened = await asyncio.to_thread(self._silent, user, stored)
        await self._caches.save(user, opened)  # a refresh rotates the refresh token
        if not result or "access_token" not in result:
            if result:
                log.info("silent token refresh failed: %s", result.get("error"))
            raise SignInRequired("Your sign-in has expired.")
        token: str = result["access_token"]
        return token

    def _silent(
        self, user: TeamsUser, stored: StoredCache
    ) -> tuple[dict[str, Any] | None, OpenCache]:
        key = _cache_key(user)
        app, bound = self._warm_app(key, user, stored)
        cache: msal.SerializableTokenCache = app.token_cache
        account = _signed_in_account(app.get_accounts(), bound, _teams_account_id(user))
        if account is None:
            return None, OpenCache(cache, bound)
        result: dict[str, Any] | None = app.acquire_token_silent(
            self._apps.scopes.delegated, account=account
        )
        if cache.has_state_changed:  # about to be stored under a new ETag
            with self._lock:
                self._warm.pop(key, None)
        return result, OpenCache(cache, account["home_account_id"])

    def _warm_app(
        self, key: str, user: TeamsUser, stored: StoredCache
    ) -> tuple[msal.ConfidentialClientApplication, str | None]:
        with self._lock:
            warm = self._warm.get(key)
            if warm is not None and warm[0] == stored.e_tag:
                return warm[1], warm[2]
        opened = self._caches.open(stored)
        app = self._apps.for_user(user, opened.cache)
        with self._lock:
            self._warm[key] = (stored.e_tag, app, opened.account)
        return app, opened.account

    async def complete_sign_in(
        self, user: TeamsUser, flow: dict[str, Any], auth_response: dict[str, str]
    ) -> str:
        """Redeem the authorization code; keep the tokens only if `user` is who signed in.

        Returns the signed-in account's username.
        """
        oid, tid = _entra_ids(user)
        cache = msal.SerializableTokenCache()
        result, accounts = await asyncio.to_thread(
            lambda: self._redeem(
                self._apps.for_user(user, cache), flow, auth_response, self._apps.scopes.delegated
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
        # The id_token names the account in the tenant it signed in to (the tenant Teams runs
        # in), as Teams' aadObjectId does, a guest's included.
        if (claims.get("oid"), claims.get("tid")) != (oid, tid):
            raise WrongAccount(
                "This sign-in link belongs to another Teams user, so the sign-in was not kept."
            )
        if len(accounts) != 1:  # no client_info: nothing MSAL could find the tokens by again
            log.info("sign-in returned %d accounts; expected the one that signed in", len(accounts))
            raise SignInFailed("The sign-in didn't complete. Please try again.")
        [account] = accounts
        await self._caches.save(user, OpenCache(cache, account["home_account_id"]))
        return str(claims.get("preferred_username") or "")

    @staticmethod
    def _redeem(
        app: msal.ConfidentialClientApplication,
        flow: dict[str, Any],
        auth_response: dict[str, str],
        scopes: list[str],
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The code redeemed, and the accounts now in the app's (fresh) cache: the one that
        signed in, named as MSAL names it. Runs in a worker thread."""
        result: dict[str, Any] = app.acquire_token_by_auth_code_flow(
            flow, auth_response, scopes=scopes
        )
        accounts: list[dict[str, Any]] = [] if "error" in result else app.get_accounts()
        return result, accounts

    async def sign_out(self, user: TeamsUser) -> None:
        await self._caches.delete(user)
        with self._lock:
            self._warm.pop(_cache_key(user), None)


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
            result: dict[str, Any] = self._apps.shared().acquire_token_for_client(
                self._apps.scopes.application
            )
            return result
        resource = self._apps.scopes.application[0].removesuffix("/.default")
        try:
            return {"access_token": self._managed_identity.token(resource)}
        except AppTokenUnavailable as exc:
            return {"error": str(exc)}


def _entra_ids(user: TeamsUser) -> tuple[str, str]:
    # The tenant id names the authority the user signs in at, so it must be one path segment.
    if not user.aad_object_id or not user.tenant_id or not _TENANT_ID.fullmatch(user.tenant_id):
        raise NoWorkAccount("Your chat account has no work or school identity.")
    return user.aad_object_id, user.tenant_id


def _teams_account_id(user: TeamsUser) -> str:
    """The home account id MSAL gives the account of a person who is a member (not a guest) of
    the tenant Teams runs in."""
    oid, tid = _entra_ids(user)
    return f"{oid}.{tid}"


def _signed_in_account(
    accounts: list[dict[str, Any]], bound: str | None, teams_account_id: str
) -> dict[str, Any] | None:
    """The account in a user's cache that signed in for them.

    `bound` is the home account id kept at sign-in. Caches stored before the bot kept it hold
    the one account that signed in for this Teams user (the sign-in checked who it was): named
    by the Teams ids for a member, by their home tenant's for a guest.
    """
    if bound is not None:
        return next((a for a in accounts if a.get("home_account_id") == bound), None)
    candidates = [a for a in accounts if a.get("home_account_id") == teams_account_id] or accounts
    return candidates[0] if len(candidates) == 1 else None


def _cache_key(user: TeamsUser) -> str:
    oid, tid = _entra_ids(user)
    return f"msal-cache/{tid}/{oid}"
