"""Bot Framework's CloudAdapter, configured from our settings, with our error edge."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import requests
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botframework.connector.auth import (
    ConnectorFactory,
)
from cachetools import FIFOCache

from bot.credentials import AppType
from bot.framework.bot_credentials import BotCredentialsFactory, BotProof
from bot.framework.connector import Connector
from bot.framework.signing_keys import SigningKeysUnavailable, install_signing_keys
from bot.settings import Settings

log = logging.getLogger(__name__)

# Words an error that ended a turn for that turn's sender.
Explain = Callable[[TurnContext, Exception], str]

_MAX_CACHED_CLIENTS = 64


class FailClosedAuthentication(ConfigurationBotFrameworkAuthentication):
    """Bot Framework authentication that refuses rather than crashes, and reuses its clients.

    botbuilder 4.17 raises JWT, IndexError and AttributeError for an empty header, a malformed
    token or an unknown signing key, which would be 500s; every such failure is a refusal (401).
    Signing keys that could not be fetched are not the token's fault: SigningKeysUnavailable
    passes through (a 503, which Bot Framework retries).
    It also builds a connector client and a user-token client on every turn, each spending
    milliseconds on msrest configuration; both are kept and reused per app, service URL and
    audience, as botbuilder's older BotFrameworkAdapter did, and activities are sent over the
    shared HTTP client (bot.framework.connector).
    """

    def __init__(
        self, configuration: Any, http: httpx.AsyncClient, *, credentials_factory: Any = None
    ) -> None:
        super().__init__(configuration, credentials_factory=credentials_factory)
        self._http = http
        # Service URLs are few in practice; without credentials (sandbox) they come from the
        # caller, so the caches stay bounded.
        self._connectors: FIFOCache[tuple[str, str, str], Any] = FIFOCache(_MAX_CACHED_CLIENTS)
        self._user_token_clients: FIFOCache[str, Any] = FIFOCache(_MAX_CACHED_CLIENTS)

    async def authenticate_request(self, activity: Any, auth_header: str) -> Any:
        try:
            result = await super().authenticate_request(activity, auth_header)
        except PermissionError:
            raise
        except SigningKeysUnavailable as exc:
            log.warning("activity deferred: %s", exc)
            raise
        except Exception as exc:
            log.info("activity refused: %s", type(exc).__name__)
            raise PermissionError("invalid Bot Framework token") from exc
        # CloudAdapter replies through the factory that comes with the authentication result.
        result.connector_factory = _ReusedConnectors(
            result.connector_factory,
            self._connectors,
            _app_id(result.claims_identity),
            self._http,
        )
        return result

    def create_connector_factory(self, claims_identity: Any) -> ConnectorFactory:
        return _ReusedConnectors(
            super().create_connector_factory(claims_identity),
            self._connectors,
            _app_id(claims_identity),
            self._http,
        )

    async def create_user_token_client(self, claims_identity: Any) -> Any:
        app_id = _app_id(claims_identity)
        client = self._user_token_clients.get(app_id)
        if client is None:
            client = await super().create_user_token_client(claims_identity)
            self._user_token_clients[app_id] = client
        return client


class _ReusedConnectors(ConnectorFactory):
    def __init__(
        self,
        inner: ConnectorFactory,
        cache: FIFOCache[tuple[str, str, str], Any],
        app_id: str,
        http: httpx.AsyncClient,
    ) -> None:
        self._inner = inner
        self._cache = cache
        self._app_id = app_id
        self._http = http

    async def create(self, service_url: str, audience: str) -> Any:
        key = (self._app_id, service_url, audience or "")
        client = self._cache.get(key)
        if client is None:
            client = Connector(await self._inner.create(service_url, audience), self._http)
            self._cache[key] = client
        return client


def _app_id(claims_identity: Any) -> str:
    claims = getattr(claims_identity, "claims", None) or {}
    return str(claims.get("aud") or claims.get("appid") or "")


def bot_framework_endpoints(settings: Settings) -> dict[str, str | None]:
    """botbuilder's parameterized settings for the cloud in use, with the operator's overrides."""
    cloud = settings.cloud
    return {
        "TO_CHANNEL_FROM_BOT_LOGIN_URL": settings.bot_login_url,
        "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": settings.bot_oauth_scope,
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": settings.bot_token_issuer,
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": settings.bot_openid_metadata,
        "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": cloud.bot_emulator_openid_metadata,
        "OAUTH_URL": cloud.bot_oauth_url,
        "CALLER_ID": cloud.bot_caller_id,
    }


def create_adapter(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    explain: Explain,
    proof: BotProof | None = None,
    session: requests.Session | None = None,
    redeliver: tuple[type[Exception], ...] = (),
) -> CloudAdapter:
    """A CloudAdapter; with an empty app id the SDK accepts unauthenticated (sandbox) traffic.

    `explain` words an unexpected error for the turn's sender (the conversation knows how);
    `proof` is what the bot gets its Bot Connector tokens with (bot.framework.bot_credentials),
    over `session`. An error of a `redeliver` type ends the turn unanswered and leaves
    `process_activity`: the sender is to deliver the activity again later (a 503), not be told
    of a failure.
    """
    configuration = SimpleNamespace(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password,
        APP_TYPE=settings.app_type,
        APP_TENANTID=settings.app_tenant_id,
    )
    if settings.app_id:
        # botbuilder's parameterized mode, with every endpoint from the cloud in use (or the
        # setting that overrides it): its built-in modes know only the public and US Government
        # clouds. Not without an app id: that mode then refuses an activity without a token
        # (it looks for None, where the adapter passes ""), and sandbox traffic carries none.
        vars(configuration).update(bot_framework_endpoints(settings))
    # Ours in every mode: botbuilder's own would want a password for any app type but
    # UserAssignedMSI, and an app id even where there is none (sandbox).
    single_tenant = settings.app_type is AppType.SINGLE_TENANT
    credentials_factory = BotCredentialsFactory(
        settings.app_id,
        settings.app_tenant_id if single_tenant else "",
        proof if proof is not None else "",
        session=session or requests.Session(),
    )
    install_signing_keys(
        [settings.bot_openid_metadata, settings.cloud.bot_emulator_openid_metadata], http
    )
    adapter = CloudAdapter(
        FailClosedAuthentication(configuration, http, credentials_factory=credentials_factory)
    )
    adapter.on_turn_error = functools.partial(_on_turn_error, explain=explain, redeliver=redeliver)
    return adapter


async def _on_turn_error(
    turn_context: TurnContext,
    error: Exception,
    *,
    explain: Explain,
    redeliver: tuple[type[Exception], ...],
) -> None:
    if isinstance(error, redeliver):
        log.warning(
            "activity %s deferred: %s", turn_context.activity.id, error or type(error).__name__
        )
        raise error
    # The traceback goes to the log (no tokens or message text in it); the chat gets one line.
    log.error(
        "unhandled error in turn for activity %s",
        turn_context.activity.id,
        exc_info=(type(error), error, error.__traceback__),
    )
    try:
        await turn_context.send_activity(explain(turn_context, error))
    except Exception:
        log.exception(
            "could not tell the user about the error in activity %s", turn_context.activity.id
        )
