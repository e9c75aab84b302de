"""The application factory: wires settings, clients, sandbox and bot into an aiohttp app."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
from aiohttp import web

from bot import auth_routes, routes
from bot.adapter import create_adapter
from bot.identity import TokenProvider
from bot.keys import ADAPTER, BOT, SANDBOX, SETTINGS, SIGN_IN, STORAGE, TURNSTILE
from bot.ledger import RequestLedger
from bot.meeting_bot import MeetingBot, SignIn
from bot.meetings import MeetingScheduler
from bot.settings import GraphPermission, Mode, PasscodePolicy, Settings
from bot.signin import SignInFlows
from bot.storage import SqliteStorage
from bot.tokens import (
    AppTokenProvider,
    DelegatedTokenProvider,
    MsalApps,
    MsalConfig,
    TokenCacheStore,
    load_cache_key,
)
from bot.transport import open_client
from bot.turnstile import Turnstile
from graph import GraphClient
from graph.client import RetryPolicy

log = logging.getLogger(__name__)

# Bot Framework activities are small; anything near this is garbage or an attack.
MAX_ACTIVITY_BYTES = 256 * 1024
# Connections per host to Graph and the Bot Connector: beyond this, requests wait for a free one.
MAX_CONNECTIONS = 256
# Turns that may begin in one pass of the event loop (a burst is spread over several passes).
TURNS_STARTED_PER_LOOP_PASS = 16


def create_app(settings: Settings) -> web.Application:
    """The bot's aiohttp application; its clients open on startup and close on cleanup."""
    middlewares = []
    if settings.mode is Mode.SANDBOX:  # no inbound authentication: refuse DNS rebinding first
        middlewares.append(routes.loopback_host_only)
    app = web.Application(client_max_size=MAX_ACTIVITY_BYTES, middlewares=middlewares)
    app[SETTINGS] = settings
    app[TURNSTILE] = Turnstile(per_pass=TURNS_STARTED_PER_LOOP_PASS)
    app.cleanup_ctx.append(_services)
    app.router.add_post("/api/messages", routes.messages)
    app.router.add_get("/healthz", routes.healthz)
    app.router.add_get("/privacy", routes.privacy)  # linked from the Teams app manifest
    app.router.add_get("/terms", routes.terms)
    if settings.graph_permission is GraphPermission.DELEGATED:
        app.router.add_get("/auth/start", auth_routes.auth_start)
        app.router.add_post("/auth/callback", auth_routes.auth_callback)
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    application_mode = settings.graph_permission is GraphPermission.APPLICATION
    async with AsyncExitStack() as stack:
        if settings.mode is Mode.SANDBOX:
            # Imported here: product code reaches the sandbox only when wiring sandbox mode.
            from sandbox.identity import SANDBOX_TENANT_ID
            from sandbox.server import SandboxServer

            sandbox = SandboxServer(
                port=settings.sandbox_port,
                state_dir=settings.data_dir,
                virtual_users=settings.sandbox_virtual_users,
            )
            await sandbox.start()
            stack.push_async_callback(sandbox.stop)
            app[SANDBOX] = sandbox
            graph_url = sandbox.graph_url
            tenant = SANDBOX_TENANT_ID
            msal_config = MsalConfig(
                sandbox.client_id,
                sandbox.client_secret,
                sandbox.authority(tenant if application_mode else "organizations"),
                ca_bundle=sandbox.ca_bundle,
            )
            log.info("sandbox Graph at %s, identity provider at %s", graph_url, sandbox.authority())
        else:
            graph_url = settings.graph_base_url
            tenant = settings.app_tenant_id
            msal_config = MsalConfig(settings.app_id, settings.app_password, settings.authority)

        storage = SqliteStorage(settings.data_dir / "bot.sqlite3")
        stack.callback(storage.close)
        app[STORAGE] = storage
        apps = MsalApps(msal_config)
        stack.callback(apps.close)

        # One key for everything kept at rest: token caches and the meetings in the ledger.
        fernet = load_cache_key(
            settings.token_cache_key, settings.data_dir, generate=settings.mode is Mode.SANDBOX
        )
        tokens: TokenProvider
        sign_in: SignIn | None = None
        if application_mode:
            tokens = AppTokenProvider(apps, tenant)
        else:
            delegated = DelegatedTokenProvider(apps, TokenCacheStore(storage, fernet))
            tokens = delegated
            sign_in = SignIn(
                flows=SignInFlows(storage, fernet, apps, settings.public_url), tokens=delegated
            )
            app[SIGN_IN] = sign_in

        http = await stack.enter_async_context(
            open_client(
                timeout=httpx.Timeout(settings.graph_timeout_seconds, connect=5.0),
                max_connections=MAX_CONNECTIONS,
                turnstile=app[TURNSTILE],
            )
        )
        scheduler = MeetingScheduler(
            GraphClient(
                http,
                graph_url,
                retry=RetryPolicy(budget_seconds=settings.graph_retry_budget_seconds),
            ),
            tokens,
            passcode_required=settings.passcode_policy is not PasscodePolicy.NONE,
            on_behalf_of_user=application_mode,
            ledger=RequestLedger(storage, fernet),
        )
        app[BOT] = MeetingBot(
            scheduler,
            storage,
            sign_in=sign_in,
            default_minutes=settings.default_meeting_minutes,
            default_timezone=settings.default_timezone,
            ask_passcode=settings.passcode_policy is PasscodePolicy.ASK,
            skip_confirmation=settings.skip_confirmation,
            answer_within_seconds=settings.answer_within_seconds,
            app_id=settings.app_id,
        )
        stack.push_async_callback(app[BOT].drain)
        app[ADAPTER] = create_adapter(settings, http)
        # Everything made so far lives as long as the app. Frozen, the collector stops walking
        # it: a full collection of a warm bot otherwise stalls the event loop for ~100 ms.
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()
