"""The bot's own Bot Connector tokens: from its secret, its certificate or its managed identity.

botbuilder has a credentials factory per kind (password, certificate, managed identity), each
with its own idea of the login URL; this one covers all three, gets tokens from the login URL the
operator named (another cloud, or a local stand-in) and keeps MSAL's work in worker threads
(bot.framework.connector calls `get_access_token` through asyncio.to_thread).
"""

from __future__ import annotations

import threading
from typing import Any

import msal
import requests
from botframework.connector.auth import (
    AppCredentials,
    AuthenticationConstants,
    GovernmentConstants,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
)

from bot.credentials import AppTokenUnavailable, ManagedIdentityTokens

# How the bot proves itself: a client secret, MSAL's certificate credential, or its identity.
BotProof = str | dict[str, Any] | ManagedIdentityTokens

_MICROSOFT_LOGIN_PREFIXES = (
    AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX,
    GovernmentConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX,
)


class BotCredentialsFactory(ServiceClientCredentialsFactory):
    """Credentials for the bot's one app id; `tenant_id` is set for a single-tenant bot."""

    def __init__(
        self, app_id: str, tenant_id: str, proof: BotProof, *, session: requests.Session
    ) -> None:
        self.app_id = app_id
        self._tenant_id = tenant_id
        self._proof = proof
        # One MSAL app (and token cache) per login authority, shared by every connector client:
        # a new service URL or conversation does not cost a new token.
        self._apps = (
            _SharedApps(app_id, proof, session)
            if not isinstance(proof, ManagedIdentityTokens)
            else None
        )

    async def is_valid_app_id(self, app_id: str) -> bool:
        return app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        return not self.app_id

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        if not self.app_id:
            return MicrosoftAppCredentials.empty()
        if not await self.is_valid_app_id(app_id):
            raise PermissionError("token for another app id")
        if isinstance(self._proof, ManagedIdentityTokens):
            return _ManagedIdentityCredentials(app_id, oauth_scope, self._proof)
        assert self._apps is not None  # made for every other proof
        return _MsalCredentials(
            app_id, self._apps, login_authority(login_endpoint, self._tenant_id), oauth_scope
        )


def login_authority(login_endpoint: str, tenant_id: str) -> str:
    """Where the bot's token comes from, as botbuilder decides: on Microsoft's login hosts, the
    bot's tenant (single-tenant) or botframework.com (multi-tenant); any other URL as named."""
    endpoint = login_endpoint or AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX
    prefix = next((p for p in _MICROSOFT_LOGIN_PREFIXES if endpoint.lower().startswith(p)), None)
    if prefix is not None:
        return prefix + (tenant_id or AuthenticationConstants.DEFAULT_CHANNEL_AUTH_TENANT)
    return endpoint.rstrip("/")


class _SharedApps:
    """The bot's MSAL apps, one per authority, built on first use (in a worker thread)."""

    def __init__(self, app_id: str, proof: str | dict[str, Any], session: requests.Session) -> None:
        self._app_id = app_id
        self._proof = proof
        self._session = session  # closed by its owner, on shutdown
        self._apps: dict[str, msal.ConfidentialClientApplication] = {}
        self._lock = threading.Lock()

    def for_authority(self, authority: str) -> msal.ConfidentialClientApplication:
        with self._lock:
            app = self._apps.get(authority)
            if app is None:
                app = self._apps[authority] = msal.ConfidentialClientApplication(
                    self._app_id,
                    client_credential=self._proof,
                    authority=authority,
                    http_client=self._session,
                    # Microsoft's hosts skip the check anyway; another is the operator's choice.
                    instance_discovery=False,
                )
            return app


class _MsalCredentials(AppCredentials):
    """Client-credential tokens from Entra ID, with a secret or a certificate."""

    def __init__(self, app_id: str, apps: _SharedApps, authority: str, oauth_scope: str) -> None:
        super().__init__(app_id=app_id, oauth_scope=oauth_scope)
        self.oauth_endpoint = authority
        self._apps = apps

    def get_access_token(self, force_refresh: bool = False) -> str:
        scope: str = self.oauth_scope
        scopes = [scope if scope.endswith("/.default") else f"{scope}/.default"]
        app = self._apps.for_authority(self.oauth_endpoint)
        result: dict[str, Any] = app.acquire_token_for_client(scopes)  # the cache comes first
        if "access_token" not in result:
            raise AppTokenUnavailable(
                f"no Bot Connector token for the bot: {result.get('error')}, "
                f"{result.get('error_description')}"
            )
        token: str = result["access_token"]
        return token


class _ManagedIdentityCredentials(AppCredentials):
    """Tokens from the user-assigned managed identity whose client id is the bot's app id."""

    def __init__(self, app_id: str, oauth_scope: str, tokens: ManagedIdentityTokens) -> None:
        super().__init__(app_id=app_id, oauth_scope=oauth_scope)
        self._tokens = tokens

    def get_access_token(self, force_refresh: bool = False) -> str:
        return self._tokens.token(self.oauth_scope.removesuffix("/.default"))
