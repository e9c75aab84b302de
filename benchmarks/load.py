"""Load benchmark: one-shot /meet turns through /api/messages, against a stock echo bot.

    python benchmarks/load.py [--turns 3000] [--concurrency 50] [--soak 20000] [--no-postgres]

Each bot runs in a process of its own (this script re-runs itself with --serve); this process
holds the load generator and the Bot Connector sink the bots reply to. Virtual users are sandbox
directory users, signed in beforehand through the same HTTP sign-in a person uses. Prints one table.

The sandbox-mode runs give each bot its own in-process sandbox. The last section runs the bot in
live mode against one shared sandbox (`python -m sandbox`): two instances on one throwaway
PostgreSQL, driven alternately, beside one instance on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TENANT = "00000000-0000-0000-0000-0000000000001"
# The live-mode bots' app registration, as the shared sandbox is told of it (--client).
APP_ID = "5f1c8e2a-7b3d-4c6e-9a0f-1d2e3f4a5b6c"
APP_SECRET = "bench-secret"
# Every bot under test, in either mode: no confirmation step, no Graph retries, time to answer.
BOT_SETTINGS = {
    "SKIP_CONFIRMATION": "true",
    "GRAPH_RETRY_BUDGET_SECONDS": "0",
    "ANSWER_WITHIN_SECONDS": "8",  # the most it may be
    "LOG_LEVEL": "WARNING",
}
Check = tuple[str, bool, str]  # what is checked, whether it held, what was measured


# -- the bots under test (run with --serve) --------------------------------------------------------


class Stalls(logging.Handler):
    """Event-loop stalls, two ways.

    The longest single callback: asyncio's slow-callback detection times each `Handle._run`,
    but only in debug mode, whose stack capture for every callback and future halves the bot's
    speed. The same timing is done here without it; in debug mode, asyncio's own reports are
    collected too (`emit`). And the longest a 10 ms timer waited past its time, which also
    counts many short callbacks run back to back in one pass of the loop.
    """

    def __init__(self) -> None:
        super().__init__()
        self.reset()
        run = asyncio.events.Handle._run

        def timed(handle: asyncio.Handle) -> None:
            started = time.perf_counter()
            run(handle)
            self._took(handle, time.perf_counter() - started)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]

    def reset(self) -> None:
        self.lag_ms = 0.0
        self.callback_ms = 0.0
        self.callback = ""

    def _took(self, handle: object, seconds: float) -> None:
        if seconds * 1000 > self.callback_ms:
            self.callback_ms = seconds * 1000
            self.callback = str(handle)[:300]

    def emit(self, record: logging.LogRecord) -> None:
        # asyncio: logger.warning("Executing %s took %.3f seconds", handle, seconds)
        if str(record.msg).startswith("Executing") and isinstance(record.args, tuple):
            handle, seconds = record.args
            self._took(handle, float(seconds))

    async def watch_timer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.lag_ms = max(self.lag_ms, (loop.time() - before - 0.01) * 1000)


def _stats_route(app: web.Application, extra: Any) -> None:
    stalls = Stalls()
    logging.getLogger("asyncio").addHandler(stalls)

    async def stats(request: web.Request) -> web.Response:
        status = await asyncio.to_thread(Path("/proc/self/status").read_text)
        memory = {
            line.split(":")[0]: int(line.split()[1])
            for line in status.splitlines()
            if line.startswith(("VmRSS", "VmHWM"))
        }
        times = os.times()
        return web.json_response(
            {
                "max_lag_ms": stalls.lag_ms,
                "max_callback_ms": stalls.callback_ms,
                "slowest_callback": stalls.callback,
                "rss_kb": memory["VmRSS"],
                "hwm_kb": memory["VmHWM"],
                "cpu_seconds": times.user + times.system,
                **extra(app),
            }
        )

    async def reset(request: web.Request) -> web.Response:
        stalls.reset()
        return web.json_response({})

    async def debug_loop(request: web.Request) -> web.Response:
        # asyncio's slow-callback detection: every callback over 5 ms is reported to Stalls.
        loop = asyncio.get_running_loop()
        loop.slow_callback_duration = 0.005
        loop.set_debug(request.query["on"] == "1")
        return web.json_response({})

    app.router.add_get("/_bench/stats", stats)
    app.router.add_post("/_bench/reset-lag", reset)
    app.router.add_post("/_bench/debug-loop", debug_loop)

    async def monitor(app: web.Application) -> Any:
        task = asyncio.create_task(stalls.watch_timer())
        yield
        task.cancel()

    app.cleanup_ctx.append(monitor)


def _count_round_trips(*storages: type[Any]) -> Counter[str]:
    """Count every call the bot makes to its storage, by method: each is one round trip to the
    database (one transaction, in PostgreSQL). One counter for all of `storages`."""
    from bot.state.postgres import PostgresStorage

    count: Counter[str] = Counter()
    # `_read_stored` rather than `read`: a read answered from a turn's prefetch is no round trip.
    names = ("_read_stored", "write", "delete", "create", "delete_if", "keys", "expired", "purge")
    for storage in storages:
        for name in names:
            call = getattr(storage, name)

            async def counted(
                self: Any, *args: Any, _call: Any = call, _name: str = name, **kwargs: Any
            ) -> Any:
                count[_name] += 1
                return await _call(self, *args, **kwargs)

            setattr(storage, name, counted)
    if PostgresStorage in storages:
        # PostgreSQL's turn takes its lock and makes its first read in one round trip (SQLite's
        # turn is the read alone, counted above).
        turn = PostgresStorage.turn

        @contextlib.asynccontextmanager
        async def counted_turn(self: Any, key: str, keys: list[str]) -> AsyncIterator[None]:
            count["turn"] += 1
            async with turn(self, key, keys):
                yield

        PostgresStorage.turn = counted_turn  # type: ignore[method-assign]
    return count


def _count_statements() -> list[int]:
    """Count the statements asyncpg sends PostgreSQL, each one round trip on the wire: BEGIN,
    COMMIT and ROLLBACK included (a pooled connection's reset too, were there one)."""
    from asyncpg.connection import Connection

    count = [0]
    for name in ("execute", "executemany", "fetch", "fetchval", "fetchrow"):
        call = getattr(Connection, name)

        async def counted(self: Any, *args: Any, _call: Any = call, **kwargs: Any) -> Any:
            count[0] += 1
            return await _call(self, *args, **kwargs)

        setattr(Connection, name, counted)
    return count


def serve_meet(port: int, users: int, data_dir: str) -> None:
    from bot.settings import Settings
    from bot.state.storage import SqliteStorage
    from bot.web.keys import SANDBOX
    from bot.web.server import create_app, serve

    settings = Settings.from_env(
        {
            "PORT": str(port),
            "SANDBOX_PORT": "0",
            "DATA_DIR": data_dir,
            "SANDBOX_VIRTUAL_USERS": str(users),
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            **BOT_SETTINGS,
        }
    )
    round_trips = _count_round_trips(SqliteStorage)
    app = create_app(settings)

    def meetings(app: web.Application) -> dict[str, Any]:
        return {"creates": app[SANDBOX].graph.created, "storage_calls": round_trips}

    async def latency(request: web.Request) -> web.Response:
        request.app[SANDBOX].graph.faults.latency = float(request.query["seconds"])
        return web.json_response({})

    app.router.add_post("/_bench/graph-latency", latency)
    _stats_route(app, meetings)
    asyncio.run(serve(app, "127.0.0.1", port))  # as app.py serves it: connection cap included


def serve_live(port: int, data_dir: str) -> None:
    """The bot in live mode, its settings (shared sandbox, DATABASE_URL) from the environment."""
    from bot.settings import Settings
    from bot.state.postgres import PostgresStorage
    from bot.state.storage import SqliteStorage
    from bot.web.server import create_app, serve

    own = {"PORT": str(port), "DATA_DIR": data_dir, "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    settings = Settings.from_env({**os.environ, **own})
    round_trips = _count_round_trips(SqliteStorage, PostgresStorage)
    statements = _count_statements()
    app = create_app(settings)
    _stats_route(
        app,
        lambda app: {"storage_calls": round_trips, "sql_statements": statements[0]},
    )
    asyncio.run(serve(app, "127.0.0.1", port))


def serve_echo(port: int) -> None:
    """The baseline: botbuilder's own CloudAdapter and an echo bot, as its samples build them."""
    from botbuilder.core import ActivityHandler, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    class EchoBot(ActivityHandler):  # type: ignore[misc]
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await turn_context.send_activity(f"Echo: {turn_context.activity.text}")

    class Config:
        APP_ID = ""
        APP_PASSWORD = ""

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(Config()))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.StreamResponse:
        response = await adapter.process(request, bot)
        return response if response is not None else web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    _stats_route(app, lambda app: {})
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- the load generator ----------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    turns: int
    seconds: float
    latencies: list[float]
    stats: dict[str, Any]
    cpu_seconds: float  # the bot process's own CPU time for these turns
    calls: Counter[str]  # the bot's calls to its storage during these turns, by method
    statements: int  # the SQL statements sent to PostgreSQL during these turns

    @property
    def round_trips_per_turn(self) -> float:
        return self.calls.total() / self.turns

    @property
    def cpu_ms_per_turn(self) -> float:
        return self.cpu_seconds / self.turns * 1000

    @property
    def rate(self) -> float:
        return self.turns / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


class Sink:
    """The Bot Connector the bots reply to: answers at once, counts the cards it gets."""

    def __init__(self) -> None:
        self.cards: dict[str, list[str]] = {}

    def app(self) -> web.Application:
        async def receive(request: web.Request) -> web.Response:
            body = await request.json()
            if body.get("attachments"):
                card = body["attachments"][0]["content"]
                if card.get("actions") and card["actions"][0].get("title") == "Join meeting":
                    self.cards.setdefault(body["conversation"]["id"], []).append(
                        card["actions"][0]["url"]
                    )
            return web.json_response({"id": uuid.uuid4().hex})

        app = web.Application()
        app.router.add_post("/v3/conversations/{c}/activities", receive)
        app.router.add_post("/v3/conversations/{c}/activities/{a}", receive)
        app.router.add_put("/v3/conversations/{c}/activities/{a}", receive)
        app.router.add_get("/v3/conversations/{c}/members/{m}", self._member)
        return app

    async def _member(self, request: web.Request) -> web.Response:
        member = request.match_info["m"]
        number = int(member.rsplit("-", 1)[1])
        return web.json_response({"id": member, "userPrincipalName": f"vu{number:04d}@example.com"})


def user_activity(text: str, user: int, conversation: str, sink_url: str) -> dict[str, Any]:
    oid = f"10000000-0000-4000-8000-{user:012d}"
    return {
        "type": "message",
        "id": uuid.uuid4().hex,
        "text": text,
        "textFormat": "plain",
        "from": {"id": f"29:vu-{user}", "aadObjectId": oid, "name": f"VU {user}"},
        "recipient": {"id": "28:bot", "name": "Meet"},
        "conversation": {"id": conversation, "conversationType": "personal", "tenantId": TENANT},
        "channelId": "msteams",
        "serviceUrl": sink_url,
        "locale": "en-US",
        "entities": [{"type": "clientInfo", "timezone": "Europe/Berlin"}],
        "channelData": {"tenant": {"id": TENANT}},
    }


async def sign_in_all(
    bases: Sequence[str], users: int, sink_url: str, headers: dict[str, str] | None = None
) -> None:
    """Each virtual user signs in for real: /signin, the sign-in page, the callback (through
    `bases` in turn: instances sharing a database share its sign-ins)."""
    from tests.browser import Browser  # the same no-JavaScript browser the tests use

    async with httpx.AsyncClient(timeout=30) as http, Browser() as browser:
        for user in range(users):
            conversation = f"a:bench-{user}"
            await http.post(
                f"{bases[user % len(bases)]}/api/messages",
                json=user_activity("/signin", user, conversation, sink_url),
                headers=headers,
            )
            page = await browser.open(SIGN_IN_LINKS.pop(conversation))
            answer = await browser.submit(page, username=f"vu{user:04d}@example.com")
            done = await browser.submit(answer)
            assert done.status_code == 200, done.text


# The sign-in link of each conversation, as the sink saw it in the bot's sign-in card.
SIGN_IN_LINKS: dict[str, str] = {}


async def drive(
    name: str,
    bases: Sequence[str],
    sink_url: str,
    *,
    turns: int,
    concurrency: int,
    users: int,
    text: str,
    headers: dict[str, str] | None = None,
) -> Result:
    """`turns` turns, spread over `bases` in turn (instances sharing one database)."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(turns):
        queue.put_nowait(n)
    # aiohttp rather than httpx: httpx's pool scans all its connections for every request, which
    # at 200 connections would make this load generator, not the bot, the slow part.
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def stats() -> dict[str, Any]:
            answers = []
            for base in bases:
                async with http.get(f"{base}/_bench/stats") as answer:
                    answers.append(await answer.json())
            return _combined(answers)

        before = await stats()
        for base in bases:
            await http.post(f"{base}/_bench/reset-lag")

        async def worker() -> None:
            while True:
                try:
                    n = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                user = n % users
                body = user_activity(text, user, f"a:bench-{user}-{n % 7}", sink_url)
                # Alternately, and each user's next turn to the next instance (n % len(bases)
                # alone would send each user to one instance whenever len(bases) divides users).
                url = f"{bases[(user + n // users) % len(bases)]}/api/messages"
                started = time.perf_counter()
                async with http.post(url, json=body, headers=headers) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                assert response.status in (200, 201), response.status

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        after = await stats()
    return Result(
        name,
        turns,
        elapsed,
        latencies,
        after,
        after["cpu_seconds"] - before["cpu_seconds"],
        Counter(after.get("storage_calls", {})) - Counter(before.get("storage_calls", {})),
        after.get("sql_statements", 0) - before.get("sql_statements", 0),
    )


def _combined(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """Several instances' stats as one: counts summed, the worst of the rest."""
    counts = ("cpu_seconds", "sql_statements", "creates")
    combined = {
        key: max(one[key] for one in stats)
        for key in stats[0]
        if key not in (*counts, "storage_calls")
    }
    combined |= {key: sum(one[key] for one in stats) for key in counts if key in stats[0]}
    calls = (Counter(one.get("storage_calls", {})) for one in stats)
    combined["storage_calls"] = sum(calls, Counter[str]())
    worst = max(stats, key=lambda one: one["max_callback_ms"])
    combined["slowest_callback"] = worst["slowest_callback"]
    return combined


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def server(kind: str, *extra: str, env: dict[str, str] | None = None) -> AsyncIterator[str]:
    """A bot (`--serve kind`) in a process of its own; its base URL once it answers."""
    port = free_port()
    with tempfile.TemporaryFile() as log:  # its errors, shown if it does not come up
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            kind,
            "--port",
            str(port),
            *extra,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await _answers(f"{base}/_bench/stats", process, log)
            yield base
        finally:
            if process.returncode is None:
                process.terminate()
            await asyncio.wait_for(process.wait(), 20)


async def _answers(url: str, process: asyncio.subprocess.Process, log: Any) -> None:
    """Wait for `url` to answer, for up to 60 seconds; what `process` said if it ends first."""
    async with httpx.AsyncClient(timeout=1) as http:
        for _ in range(600):
            if process.returncode is not None:
                break
            try:
                await http.get(url)
            except httpx.TransportError:
                await asyncio.sleep(0.1)
            else:
                return
    log.seek(0)
    output = log.read().decode(errors="replace")[-3000:]
    raise RuntimeError(f"{url} did not come up (exit code {process.returncode}):\n{output}")


async def main_async(args: argparse.Namespace) -> int:
    sink = Sink()
    runner = web.AppRunner(_with_link_capture(sink.app()), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sink_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    users = args.users
    rows: list[Result] = []
    checks: list[Check] = []
    live: list[Result] = []

    async def run(
        bases: Sequence[str],
        name: str,
        text: str,
        turns: int,
        concurrency: int = args.concurrency,
        headers: dict[str, str] | None = None,
    ) -> Result:
        return await drive(
            name,
            bases,
            sink_url,
            turns=turns,
            concurrency=concurrency,
            users=users,
            text=text,
            headers=headers,
        )

    async def measured(
        bases: Sequence[str], name: str, text: str, headers: dict[str, str] | None = None
    ) -> Result:
        await run(bases, f"{name} (warm-up)", text, args.turns // 3, headers=headers)
        return await run(bases, name, text, args.turns, headers=headers)

    try:
        async with server("echo") as echo:
            rows.append(await measured([echo], "echo bot (stock CloudAdapter)", "hello"))
        async with contextlib.AsyncExitStack() as stack:
            data = stack.enter_context(tempfile.TemporaryDirectory())
            meet = await stack.enter_async_context(
                server("meet", "--users", str(users), "--data", data)
            )
            await sign_in_all([meet], users, sink_url)
            rows.append(
                await measured([meet], "/meet, Graph latency 0", "/meet Standup tomorrow 9am")
            )

            # 200 concurrent users, Graph answering in 300 ms: every meeting exactly once.
            async with httpx.AsyncClient() as http:
                await http.post(f"{meet}/_bench/graph-latency", params={"seconds": "0.3"})
                before = (await http.get(f"{meet}/_bench/stats")).json()
            sink.cards.clear()
            slow = await run(
                [meet],
                "/meet, Graph latency 300 ms, 200 users",
                "/meet Planning tomorrow 10am",
                turns=200,
                concurrency=200,
            )
            rows.append(slow)
            created = slow.stats["creates"] - before["creates"]
            delivered = sum(len(v) for v in sink.cards.values())
            checks.append(
                (
                    "200 meetings, each created once",
                    created == 200 and delivered == 200,
                    f"{created} created, {delivered} cards",
                )
            )

            # The same burst with asyncio's debug mode and slow-callback detection on: a
            # diagnostic (debug mode's own bookkeeping makes every callback slower).
            async with httpx.AsyncClient() as http:
                await http.post(f"{meet}/_bench/debug-loop", params={"on": "1"})
            debug = await run(
                [meet], "burst again, asyncio debug mode", "/meet Retro tomorrow 4pm", 200, 200
            )
            async with httpx.AsyncClient() as http:
                await http.post(f"{meet}/_bench/debug-loop", params={"on": "0"})
                await http.post(f"{meet}/_bench/graph-latency", params={"seconds": "0"})
            if args.soak:
                # /meet, as people use it: every turn creates a meeting and keeps its record.
                warm = await run([meet], "soak warm-up", "/meet Soak tomorrow 11am", 2000)
                soak = await run(
                    [meet], f"soak: {args.soak} turns", "/meet Soak tomorrow 11am", args.soak
                )
                growth = (soak.stats["rss_kb"] - warm.stats["rss_kb"]) / 1024
                checks.append(
                    (
                        f"RSS growth over {args.soak} turns <= 50 MB",
                        growth <= 50,
                        f"{growth:+.1f} MB",
                    )
                )
        if not args.no_postgres:
            live, more = await live_runs(measured, args, sink, sink_url)
            checks += more
    finally:
        await runner.cleanup()

    echo_rate = rows[0].rate
    print(
        "| run | turns/s | p50 ms | p95 ms | p99 ms | peak RSS MB | vs echo "
        "| bot CPU ms/turn | storage round trips/turn | longest callback ms "
        "| longest timer delay ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows + live:
        print(
            f"| {row.name} | {row.rate:.0f} | {row.percentile(50):.1f} | "
            f"{row.percentile(95):.1f} | {row.percentile(99):.1f} | "
            f"{row.stats['hwm_kb'] / 1024:.0f} | {row.rate / echo_rate:.2f}x | "
            f"{row.cpu_ms_per_turn:.2f} | {row.round_trips_per_turn:.1f} | "
            f"{row.stats['max_callback_ms']:.1f} | "
            f"{row.stats['max_lag_ms']:.1f} |"
        )
    print()
    for row in [*rows[1:2], *live]:
        calls = ", ".join(f"{name} {n / row.turns:.1f}" for name, n in sorted(row.calls.items()))
        print(f"{row.name}: storage calls a turn: {calls}")
        if row.statements:
            print(
                f"  {row.statements / row.turns:.1f} SQL statements a turn on the wire "
                "(BEGIN, COMMIT and ROLLBACK included)"
            )
    slowest = max(rows[1:], key=lambda row: row.stats["max_callback_ms"])
    print(f"Slowest callback ({slowest.name}): {slowest.stats['slowest_callback']}")
    print(
        f"asyncio debug mode, slow-callback detection on ({debug.name}): "
        f"longest callback {debug.stats['max_callback_ms']:.1f} ms, p99 "
        f"{debug.percentile(99):.0f} ms, {debug.cpu_ms_per_turn:.2f} ms CPU/turn "
        "(debug mode's bookkeeping included)"
    )
    checks.insert(
        0,
        (
            "/meet turns/s >= 2x echo",
            rows[1].rate >= 2 * echo_rate,
            f"{rows[1].rate / echo_rate:.2f}x",
        ),
    )
    checks.insert(
        1,
        (
            "p99 <= 1.0 s at 200 users, 300 ms Graph",
            rows[2].percentile(99) <= 1000,
            f"{rows[2].percentile(99):.0f} ms",
        ),
    )
    worst_stall = max(
        max(row.stats["max_callback_ms"], row.stats["max_lag_ms"]) for row in rows[1:]
    )
    checks.insert(
        2,
        (
            "longest event-loop stall <= 50 ms (callback or timer delay)",
            worst_stall <= 50,
            f"{worst_stall:.1f} ms",
        ),
    )
    print()
    for label, ok, value in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {value}")
    return 0 if all(ok for _, ok, _ in checks) else 1


Measure = Callable[[Sequence[str], str, str, dict[str, str]], Awaitable[Result]]


async def live_runs(
    measured: Measure, args: argparse.Namespace, sink: Sink, sink_url: str
) -> tuple[list[Result], list[Check]]:
    """The bot in live mode against one shared sandbox process: two instances on one
    PostgreSQL, driven in turn with the same users, and one instance on SQLite."""
    from cryptography.fernet import Fernet

    from tests.bot_framework_issuer import BotFrameworkIssuer

    issuer = BotFrameworkIssuer()  # signs the inbound activities, as Bot Framework does
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(issuer.close)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sandbox, endpoints = await stack.enter_async_context(shared_sandbox(args.users, folder))
        database = await stack.enter_async_context(postgres_database())
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("Microsoft")},
            **endpoints,
            **BOT_SETTINGS,
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": APP_SECRET,
            # One key for all: instances on one database decrypt what the others stored.
            "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
            "BotOpenIdMetadata": issuer.metadata_url,
            "HOST": "127.0.0.1",
        }

        async def instance(database_url: str) -> str:
            data = stack.enter_context(tempfile.TemporaryDirectory())
            bot = server("live", "--data", data, env=env | {"DATABASE_URL": database_url})
            return await stack.enter_async_context(bot)

        postgres = [await instance(database), await instance(database)]
        sqlite = await instance("")
        # A channel signs a token once and sends it for its lifetime: one for the whole run.
        token = issuer.token(audience=APP_ID, service_url=sink_url)
        headers = {"Authorization": f"Bearer {token}"}
        await sign_in_all(postgres, args.users, sink_url, headers)  # once per database
        await sign_in_all([sqlite], args.users, sink_url, headers)
        sink.cards.clear()
        rows = [
            await measured(
                postgres, "/meet, PostgreSQL, 2 instances", "/meet Standup tomorrow 9am", headers
            ),
            await measured(
                [sqlite],
                "/meet, SQLite, 1 instance (live mode)",
                "/meet Standup tomorrow 9am",
                headers,
            ),
        ]
        async with httpx.AsyncClient() as http:
            created = (await http.get(f"{sandbox}/sandbox/graph")).json()["created"]
    sent = 2 * (args.turns + args.turns // 3)  # measured: a warm-up, then the run
    delivered = sum(len(cards) for cards in sink.cards.values())
    return rows, [
        (
            "PostgreSQL: <= 4 storage round trips per /meet",
            rows[0].round_trips_per_turn <= 4,
            f"{rows[0].round_trips_per_turn:.1f}",
        ),
        (
            "live mode: every meeting created once",
            created == sent and delivered == sent,
            f"{sent} /meet sent, {created} created, {delivered} cards",
        ),
    ]


@contextlib.asynccontextmanager
async def shared_sandbox(users: int, folder: Path) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """`python -m sandbox` in a process of its own: its origin, and the settings it wrote
    that point a live-mode bot at it."""
    env_file = folder / "sandbox.env"
    with (folder / "sandbox.log").open("wb+") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            "0",
            "--client",
            f"{APP_ID}={APP_SECRET}",
            "--virtual-users",
            str(users),
            "--env-file",
            str(env_file),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            for _ in range(600):  # written whole, once it listens
                if env_file.exists() or process.returncode is not None:
                    break
                await asyncio.sleep(0.1)
            if not env_file.exists():
                log.seek(0)
                raise RuntimeError(f"the sandbox did not start:\n{log.read().decode()[-3000:]}")
            lines = env_file.read_text().splitlines()
            endpoints = dict(line.split("=", 1) for line in lines if "=" in line)
            yield endpoints["GRAPH_BASE_URL"].removesuffix("/graph/v1.0"), endpoints
        finally:
            if process.returncode is None:
                process.terminate()
            await asyncio.wait_for(process.wait(), 20)


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A throwaway PostgreSQL server (the tests' own); its database's URL."""
    from tests.postgres_server import throwaway_server

    with contextlib.ExitStack() as stack:
        # initdb and pg_ctl take seconds: in a thread, not on the event loop.
        server = await asyncio.to_thread(stack.enter_context, throwaway_server())
        try:
            yield server.url("postgres")
        finally:
            await asyncio.to_thread(stack.close)


def _with_link_capture(app: web.Application) -> web.Application:
    """Remember each conversation's sign-in link, so virtual users can sign in."""

    @web.middleware
    async def capture(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "POST" and request.can_read_body:
            body = await request.json()
            with contextlib.suppress(KeyError, IndexError, TypeError):
                action = body["attachments"][0]["content"]["actions"][0]
                if action["title"] == "Sign in":
                    SIGN_IN_LINKS[body["conversation"]["id"]] = action["url"]
        return await handler(request)

    app.middlewares.append(capture)
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument(
        "--soak", type=int, default=20_000, help="turns for the RSS check (0: skip)"
    )
    parser.add_argument(
        "--no-postgres",
        action="store_true",
        help="skip the live-mode runs (two instances on PostgreSQL, one on SQLite)",
    )
    parser.add_argument("--serve", choices=["meet", "live", "echo"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "meet":
        serve_meet(args.port, args.users, args.data)
        return 0
    if args.serve == "live":
        serve_live(args.port, args.data)
        return 0
    if args.serve == "echo":
        serve_echo(args.port)
        return 0
    if not args.no_postgres:
        from tests.postgres_server import INSTALL_HINT, find_binaries

        if find_binaries() is None:
            print(
                f"{INSTALL_HINT}\nOr leave the PostgreSQL runs out: --no-postgres", file=sys.stderr
            )
            return 2
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
