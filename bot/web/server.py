"""The application factory: wires settings, clients, sandbox and bot into an aiohttp app."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import signal
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import httpx
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.clouds import GraphScopes, graph_scopes
from bot.conversation.catalogs import read_catalogs
from bot.conversation.router import MeetingBot
from bot.conversation.sign_in import SignIn
from bot.credentials import Proofs, open_proofs
from bot.framework.adapter import create_adapter
from bot.framework.transport import open_client
from bot.framework.turnstile import Turnstile
from bot.identity.signin import SignInFlows
from bot.identity.tokens import (
    AppTokenProvider,
    DelegatedTokenProvider,
    MsalApps,
    MsalConfig,
    TokenCacheStore,
)
from bot.identity.users import TokenProvider
from bot.meetings.chosen_zones import ChosenZones
from bot.meetings.ledger import RequestLedger
from bot.meetings.open_requests import OpenRequests
from bot.meetings.outbox import Outbox
from bot.meetings.scheduler import MeetingScheduler
from bot.meetings.waiting import WaitingRequests
from bot.settings import GraphPermission, Mode, PasscodePolicy, Settings
from bot.state.data_dir import secure_data_dir
from bot.state.keyring import load_keyring
from bot.state.postgres import PostgresStorage
from bot.state.storage import SqliteStorage
from bot.state.store import StorageUnavailable, Store
from bot.web import auth_routes, routes
from bot.web.keys import ADAPTER, BOT, CLOCK, SANDBOX, SETTINGS, SIGN_IN, STORAGE, TURNSTILE
from bot.web.logs import AccessLogger
from dialogs.request import warm_up
from graph import GraphClient
from graph.client import RetryPolicy

log = logging.getLogger(__name__)

# The locale most Teams clients send: its language is made ready at start-up with the catalogs'.
DEFAULT_LOCALE = "en-US"
# Bot Framework activities are small; anything near this is garbage or an attack.
MAX_ACTIVITY_BYTES = 256 * 1024
# Connections per host to Graph and the Bot Connector: beyond this, requests wait for a free one.
MAX_CONNECTIONS = 256
# Turns that may begin in one pass of the event loop (a burst is spread over several passes).
TURNS_STARTED_PER_LOOP_PASS = 16
# Connections the bot holds open at once. Each is a file descriptor, and a common allowance is
# 1,024 per process: 512 leaves room for the Graph and Bot Connector pools (MAX_CONNECTIONS),
# the database and the sandbox. Past it a new connection is answered 503 and closed before
# anything is read, so slow clients cannot run the process out of descriptors (1,100 did), and
# it serves again as soon as they go.
MAX_OPEN_CONNECTIONS = 512
# aiohttp closes a connection idle for this long, and also one that has not sent a whole request
# head by then: a client that sends nothing, or its headers a byte at a time, is let go this soon.
KEEPALIVE_SECONDS = 15.0
# After an early answer (413, 408) the rest of a body is read and dropped for this long at most,
# so that the client sees the answer rather than a reset, without a slow one holding on.
LINGER_SECONDS = 2.0


class DatabaseUnavailable(Exception):
    """The bot's database can't be opened: a SQLite file that is damaged or not accessible, or
    a PostgreSQL server that cannot be reached or refuses the bot."""


async def _upkeep(
    bot: MeetingBot,
    adapter: object,
    storage: Store,
    *,
    overdue_after: float,
    every: float,
    clock: Callable[[], float],
) -> None:
    """Now and then: answer what a process that died (this one's predecessor, say) still owed,
    end requests that waited too long, then delete every record past its expiry."""
    while True:
        # Taken before the stores' sweeps: whatever the purge deletes, they have seen expire
        # (and closed its card).
        now = clock()
        try:
            await bot.recover(adapter, overdue_after)
        except Exception:
            log.exception("recovering unanswered requests failed; trying again later")
        try:
            await storage.purge(now)
        except Exception:
            log.exception("deleting expired records failed; trying again later")
        await asyncio.sleep(every)


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait until it has ended (a pass may be using the storage)."""
    task.cancel()
    await asyncio.wait({task})


def create_app(settings: Settings, *, clock: Callable[[], float] = time.time) -> web.Application:
    """The bot's aiohttp application; its clients open on startup and close on cleanup.

    `clock` (seconds since the epoch) dates what is kept and decides when it has expired.
    """
    middlewares = [routes.body_deadline]
    if settings.mode is Mode.SANDBOX:  # no inbound authentication: refuse DNS rebinding first
        middlewares.insert(0, routes.loopback_host_only)
    app = web.Application(client_max_size=MAX_ACTIVITY_BYTES, middlewares=middlewares)
    app[SETTINGS] = settings
    app[CLOCK] = clock
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
    settings, clock = app[SETTINGS], app[CLOCK]
    application_mode = settings.graph_permission is GraphPermission.APPLICATION
    await secure_data_dir(
        settings.data_dir, private_files=[] if settings.database_url else ["bot.sqlite3"]
    )
    async with AsyncExitStack() as stack:
        proofs: Proofs | None = None
        if settings.mode is Mode.SANDBOX:
            # Imported here: product code reaches the sandbox only when wiring sandbox mode.
            from sandbox.identity import SANDBOX_TENANT_ID
            from sandbox.server import SandboxServer

            sandbox = SandboxServer(
                port=settings.sandbox_port,
                state_dir=settings.data_dir,
                virtual_users=settings.sandbox_virtual_users,
            )
            sandbox.graph.faults.latency = settings.sandbox_graph_latency_seconds
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
            scopes = GraphScopes(sandbox.graph_resource)
        else:
            graph_url = settings.graph_base_url
            tenant = settings.app_tenant_id
            if settings.app_credential is None:
                raise RuntimeError("live mode without an app credential")  # settings ensure one
            proofs = await asyncio.to_thread(
                functools.partial(
                    open_proofs,
                    settings.app_credential,
                    token_exchange_audience=settings.cloud.token_exchange_audience,
                )
            )
            stack.callback(proofs.close)
            msal_config = MsalConfig(settings.auth_client_id, proofs.sign_in, settings.authority)
            scopes = graph_scopes(graph_url, settings.cloud)

        storage = await _open_storage(settings, clock, stack)
        app[STORAGE] = storage
        apps = MsalApps(msal_config, scopes)
        stack.callback(apps.close)

        # One key ring for everything kept at rest: token caches, the meetings in the ledger,
        # requests and sign-in flows. The newest key seals; older ones still open.
        fernet = await asyncio.to_thread(
            load_keyring,
            settings.token_cache_keys,
            settings.data_dir,
            generate=settings.mode is Mode.SANDBOX,
        )
        tokens: TokenProvider
        sign_in: SignIn | None = None
        if application_mode:
            tokens = AppTokenProvider(
                apps, tenant, managed_identity=proofs.managed_identity if proofs else None
            )
        else:
            delegated = DelegatedTokenProvider(apps, TokenCacheStore(storage, fernet, clock=clock))
            tokens = delegated
            sign_in = SignIn(
                flows=SignInFlows(storage, fernet, apps, settings.public_url, clock=clock),
                tokens=delegated,
            )
            app[SIGN_IN] = sign_in

        http = await stack.enter_async_context(
            open_client(
                timeout=httpx.Timeout(
                    settings.graph_timeout_seconds, connect=min(5.0, settings.graph_timeout_seconds)
                ),
                max_connections=MAX_CONNECTIONS,
                turnstile=app[TURNSTILE],
            )
        )
        # Every language's messages and CLDR data, read once (and before the server freezes
        # what start-up made): a turn only looks its sender's up.
        languages = await asyncio.to_thread(read_catalogs)
        await asyncio.to_thread(languages.warm, [DEFAULT_LOCALE, *languages.codes])
        scheduler = MeetingScheduler(
            GraphClient(
                http,
                graph_url,
                retry=RetryPolicy(budget_seconds=settings.graph_retry_budget_seconds),
            ),
            tokens,
            RequestLedger(
                storage,
                fernet,
                busy_after_seconds=settings.create_deadline_seconds,
                keep_after_end_seconds=settings.ledger_retention_days * 86400,
                clock=clock,
            ),
            passcode_required=settings.passcode_policy.passcode_required,
            on_behalf_of_user=application_mode,
        )
        app[BOT] = MeetingBot(
            scheduler,
            storage,
            waiting=WaitingRequests(storage, fernet, clock=clock),
            outbox=Outbox(storage, fernet, clock=clock),
            open_requests=OpenRequests(storage, fernet, clock=clock),
            chosen_zones=ChosenZones(storage, clock=clock),
            sign_in=sign_in,
            default_minutes=settings.default_meeting_minutes,
            default_timezone=settings.default_timezone,
            languages=languages,
            ask_passcode=settings.passcode_policy is PasscodePolicy.ASK,
            skip_confirmation=settings.skip_confirmation,
            answer_within_seconds=settings.answer_within_seconds,
            app_id=settings.app_id,
            clock=lambda: datetime.fromtimestamp(clock(), UTC),
        )
        stack.push_async_callback(app[BOT].drain)
        app[ADAPTER] = create_adapter(
            settings,
            http,
            explain=app[BOT].explain,
            proof=proofs.bot if proofs else None,
            session=proofs.session if proofs else None,
            redeliver=(StorageUnavailable,),
        )
        upkeep = asyncio.create_task(
            _upkeep(
                app[BOT],
                app[ADAPTER],
                storage,
                overdue_after=settings.create_deadline_seconds,
                every=settings.upkeep_seconds,
                clock=clock,
            )
        )
        stack.push_async_callback(_stop, upkeep)
        yield


async def _open_storage(
    settings: Settings, clock: Callable[[], float], stack: AsyncExitStack
) -> Store:
    """PostgreSQL when DATABASE_URL names one, else the SQLite file in the data folder; closed
    with `stack`."""
    if settings.database_url:
        try:
            postgres = await PostgresStorage.open(
                settings.database_url, pool_size=settings.database_pool_size, clock=clock
            )
        except StorageUnavailable as exc:
            # Its message names the database without the password.
            raise DatabaseUnavailable(f"{exc}; check DATABASE_URL and the server") from None
        stack.push_async_callback(postgres.close)
        return postgres
    sqlite = _open_sqlite(settings.data_dir / "bot.sqlite3", clock)
    stack.callback(sqlite.close)
    return sqlite


def _open_sqlite(path: Path, clock: Callable[[], float]) -> SqliteStorage:
    try:
        return SqliteStorage(path, clock=clock)
    except sqlite3.DatabaseError as exc:
        # What a person should do differs: a damaged file needs setting aside; a locked or
        # unreadable one needs its permissions or the process holding it looked at.
        hint = (
            "check its permissions and whether another process holds it"
            if isinstance(exc, sqlite3.OperationalError)
            else "move it aside or restore a backup"
        )
        raise DatabaseUnavailable(
            f"cannot open the bot's database at {path}: {exc}; {hint}"
        ) from exc


async def serve(
    app: web.Application,
    host: str = "",
    port: int = 0,
    *,
    sockets: Sequence[socket.socket] = (),
    stop: asyncio.Event | None = None,
    listening: Callable[[], None] = lambda: None,
) -> None:
    """Serve `app` on host:port, or on `sockets` already bound (gunicorn's), until SIGINT or
    SIGTERM (or `stop`), then close it cleanly; `listening` is called once it accepts.

    What web.run_app does, plus a cap on open connections, which run_app has no place for:
    the cap sits in the protocol factory, where a connection is refused before aiohttp reads it.
    """
    client_mistakes = _ClientMistakesInOneLine()
    logging.getLogger("aiohttp.server").addFilter(client_mistakes)
    try:
        await _serve(app, host, port, sockets, stop or asyncio.Event(), listening)
    finally:
        logging.getLogger("aiohttp.server").removeFilter(client_mistakes)


async def _serve(
    app: web.Application,
    host: str,
    port: int,
    sockets: Sequence[socket.socket],
    stopping: asyncio.Event,
    listening: Callable[[], None],
) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    runner = web.AppRunner(
        app,
        access_log_class=AccessLogger,
        keepalive_timeout=KEEPALIVE_SECONDS,
        lingering_time=LINGER_SECONDS,
    )
    await runner.setup()  # opens the bot's services (cleanup_ctx)
    await asyncio.to_thread(warm_up)  # the parser's patterns, off the loop and before any turn
    # Everything made so far lives as long as the process. Frozen, the collector stops walking
    # it: a full collection of a warm bot otherwise stalls the event loop for ~100 ms. Done by
    # the server, not the app factory: freezing is the process's business.
    gc.collect()
    gc.freeze()
    listeners: list[asyncio.Server] = []
    try:
        server = runner.server
        if server is None:
            raise RuntimeError("aiohttp's runner has no server after setup")
        capped = _ConnectionCap(server, MAX_OPEN_CONNECTIONS)
        if sockets:
            for sock in sockets:
                listeners.append(await loop.create_server(capped, sock=sock))
        else:
            listeners.append(await loop.create_server(capped, host, port))
        listening()
        await stopping.wait()
    finally:
        for listener in listeners:
            listener.close()
        gc.unfreeze()
        await runner.cleanup()  # finishes requests in flight, then closes the services


class _ClientMistakesInOneLine(logging.Filter):
    """aiohttp logs a request it cannot parse, or a body it cannot decode while dropping it
    after an early answer, at ERROR with a traceback. Both are the client's doing and anyone
    can send them, so each becomes one INFO line, as in the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        client_made = (
            isinstance(error, HttpProcessingError) and 400 <= error.code < 500
        ) or isinstance(error, web.RequestPayloadError)
        if client_made:
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
            # Not aiohttp's message: it quotes the request's bytes.
            record.msg, record.args = "unreadable HTTP request (%s)", (type(error).__name__,)
            record.exc_info, record.exc_text = None, None
            # Levels are checked before filters run: check again for the lower one.
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


class _ConnectionCap:
    """aiohttp's protocol factory, answering 503 to connections beyond `limit`."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self._server = server
        self._limit = limit
        self._quiet_until = 0.0

    def __call__(self) -> asyncio.BaseProtocol:
        # aiohttp counts a connection once it is set up; a burst accepted in one go may
        # overshoot by up to the listen backlog (128), which the allowance leaves room for.
        if len(self._server.connections) < self._limit:
            return self._server()
        if (now := time.monotonic()) >= self._quiet_until:  # once a minute, not per connection
            log.warning("%d connections open: refusing new ones until some close", self._limit)
            self._quiet_until = now + 60
        return _Busy()


_BUSY_TEXT = b"Too many open connections; try again shortly."
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY_TEXT), _BUSY_TEXT)
)


class _Busy(asyncio.Protocol):
    """Answers 503 and hangs up, without reading the request."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        stream = cast(asyncio.Transport, transport)
        stream.write(_BUSY)
        stream.close()
