"""The application factory: wires settings, clients, sandbox and bot into an aiohttp app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
from aiohttp import web

from bot import routes
from bot.adapter import create_adapter
from bot.identity import SignInNotConfigured, TokenProvider
from bot.keys import ADAPTER, BOT, SANDBOX, SETTINGS
from bot.meeting_bot import MeetingBot
from bot.meetings import MeetingScheduler
from bot.settings import Mode, PasscodePolicy, Settings
from graph import GraphClient

log = logging.getLogger(__name__)

# Bot Framework activities are small; anything near this is garbage or an attack.
MAX_ACTIVITY_BYTES = 256 * 1024


def create_app(settings: Settings) -> web.Application:
    """The bot's aiohttp application; its clients open on startup and close on cleanup."""
    app = web.Application(client_max_size=MAX_ACTIVITY_BYTES)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_services)
    app.router.add_post("/api/messages", routes.messages)
    app.router.add_get("/healthz", routes.healthz)
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with AsyncExitStack() as stack:
        tokens: TokenProvider
        if settings.mode is Mode.SANDBOX:
            # Imported here: product code reaches the sandbox only when wiring sandbox mode.
            from sandbox.server import SandboxServer
            from sandbox.tokens import SandboxTokenProvider

            sandbox = SandboxServer(port=settings.sandbox_port)
            await sandbox.start()
            stack.push_async_callback(sandbox.stop)
            app[SANDBOX] = sandbox
            graph_url = sandbox.graph_url
            tokens = SandboxTokenProvider(sandbox.identity)
            log.info("sandbox Graph listening at %s", graph_url)
        else:
            graph_url = settings.graph_base_url
            tokens = SignInNotConfigured()
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                timeout=httpx.Timeout(settings.graph_timeout_seconds, connect=5.0),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            )
        )
        scheduler = MeetingScheduler(
            GraphClient(http, graph_url),
            tokens,
            passcode_required=settings.passcode_policy is PasscodePolicy.REQUIRED,
        )
        app[BOT] = MeetingBot(
            scheduler,
            default_minutes=settings.default_meeting_minutes,
            default_timezone=settings.default_timezone,
        )
        app[ADAPTER] = create_adapter(settings)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        yield
