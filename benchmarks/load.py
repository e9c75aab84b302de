"""Load benchmark: one-shot /meet turns through /api/messages, against a stock echo bot.

    python benchmarks/load.py [--turns 3000] [--concurrency 50] [--soak 20000]

Each bot runs in a process of its own (this script re-runs itself with --serve); this process
holds the load generator and the Bot Connector sink the bots reply to. Virtual users are sandbox
directory users, signed in beforehand through the same HTTP sign-in a person uses. Prints one table.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TENANT = "00000000-0000-0000-0000-0000000000001"


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


def _count_round_trips(storage: type[Any]) -> list[int]:
    """Count every call the bot makes to its storage: each is one round trip to the database."""
    count = [0]
    # `_read_stored` rather than `read`: a read answered from a turn's prefetch is no round trip.
    names = ("_read_stored", "write", "delete", "create", "delete_if", "keys", "expired", "purge")
    for name in names:
        call = getattr(storage, name)

        async def counted(self: Any, *args: Any, _call: Any = call, **kwargs: Any) -> Any:
            count[0] += 1
            return await _call(self, *args, **kwargs)

        setattr(storage, name, counted)
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
            "SKIP_CONFIRMATION": "true",
            "SANDBOX_VIRTUAL_USERS": str(users),
            "GRAPH_RETRY_BUDGET_SECONDS": "0",
            "ANSWER_WITHIN_SECONDS": "10",
            "LOG_LEVEL": "WARNING",
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
    )
    round_trips = _count_round_trips(SqliteStorage)
    app = create_app(settings)

    def meetings(app: web.Application) -> dict[str, Any]:
        return {"creates": app[SANDBOX].graph.created, "storage_round_trips": round_trips[0]}

    async def latency(request: web.Request) -> web.Response:
        request.app[SANDBOX].graph.faults.latency = float(request.query["seconds"])
        return web.json_response({})

    app.router.add_post("/_bench/graph-latency", latency)
    _stats_route(app, meetings)
    asyncio.run(serve(app, "127.0.0.1", port))  # as app.py serves it: connection cap included


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
    round_trips: int  # the bot's calls to its storage during these turns

    @property
    def round_trips_per_turn(self) -> float:
        return self.round_trips / self.turns

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


async def sign_in_all(base: str, users: int, sink_url: str) -> None:
    """Each virtual user signs in for real: /signin, the sign-in page, the callback."""
    from tests.browser import Browser  # the same no-JavaScript browser the tests use

    async with httpx.AsyncClient(timeout=30) as http, Browser() as browser:
        for user in range(users):
            conversation = f"a:bench-{user}"
            await http.post(
                f"{base}/api/messages", json=user_activity("/signin", user, conversation, sink_url)
            )
            page = await browser.open(SIGN_IN_LINKS.pop(conversation))
            answer = await browser.submit(page, username=f"vu{user:04d}@example.com")
            done = await browser.submit(answer)
            assert done.status_code == 200, done.text


# The sign-in link of each conversation, as the sink saw it in the bot's sign-in card.
SIGN_IN_LINKS: dict[str, str] = {}


async def drive(
    name: str, base: str, sink_url: str, *, turns: int, concurrency: int, users: int, text: str
) -> Result:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(turns):
        queue.put_nowait(n)
    # aiohttp rather than httpx: httpx's pool scans all its connections for every request, which
    # at 200 connections would make this load generator, not the bot, the slow part.
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        async with http.get(f"{base}/_bench/stats") as answer:
            before = await answer.json()
        await http.post(f"{base}/_bench/reset-lag")

        async def worker() -> None:
            while True:
                try:
                    n = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                user = n % users
                body = user_activity(text, user, f"a:bench-{user}-{n % 7}", sink_url)
                started = time.perf_counter()
                async with http.post(f"{base}/api/messages", json=body) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                assert response.status in (200, 201), response.status

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        async with http.get(f"{base}/_bench/stats") as answer:
            stats = await answer.json()
    return Result(
        name,
        turns,
        elapsed,
        latencies,
        stats,
        stats["cpu_seconds"] - before["cpu_seconds"],
        stats.get("storage_round_trips", 0) - before.get("storage_round_trips", 0),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server(kind: str, *extra: str) -> Any:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/_bench/stats", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


async def main_async(args: argparse.Namespace) -> int:
    sink = Sink()
    runner = web.AppRunner(_with_link_capture(sink.app()), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sink_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    users = args.users
    rows: list[Result] = []
    checks: list[tuple[str, bool, str]] = []

    async def run(
        base: str, name: str, text: str, turns: int, concurrency: int = args.concurrency
    ) -> Result:
        return await drive(
            name, base, sink_url, turns=turns, concurrency=concurrency, users=users, text=text
        )

    async def measured(base: str, name: str, text: str) -> Result:
        await run(base, f"{name} (warm-up)", text, args.turns // 3)
        return await run(base, name, text, args.turns)

    try:
        with server("echo") as echo:
            rows.append(await measured(echo, "echo bot (stock CloudAdapter)", "hello"))
        with (
            tempfile.TemporaryDirectory() as data,
            server("meet", "--users", str(users), "--data", data) as meet,
        ):
            await sign_in_all(meet, users, sink_url)
            rows.append(
                await measured(meet, "/meet, Graph latency 0", "/meet Standup tomorrow 9am")
            )

            # 200 concurrent users, Graph answering in 300 ms: every meeting exactly once.
            async with httpx.AsyncClient() as http:
                await http.post(f"{meet}/_bench/graph-latency", params={"seconds": "0.3"})
                before = (await http.get(f"{meet}/_bench/stats")).json()
            sink.cards.clear()
            slow = await run(
                meet,
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
                meet, "burst again, asyncio debug mode", "/meet Retro tomorrow 4pm", 200, 200
            )
            async with httpx.AsyncClient() as http:
                await http.post(f"{meet}/_bench/debug-loop", params={"on": "0"})
                await http.post(f"{meet}/_bench/graph-latency", params={"seconds": "0"})
            if args.soak:
                # /meet, as people use it: every turn creates a meeting and keeps its record.
                warm = await run(meet, "soak warm-up", "/meet Soak tomorrow 11am", 2000)
                soak = await run(
                    meet, f"soak: {args.soak} turns", "/meet Soak tomorrow 11am", args.soak
                )
                growth = (soak.stats["rss_kb"] - warm.stats["rss_kb"]) / 1024
                checks.append(
                    (
                        f"RSS growth over {args.soak} turns <= 50 MB",
                        growth <= 50,
                        f"{growth:+.1f} MB",
                    )
                )
    finally:
        await runner.cleanup()

    echo_rate = rows[0].rate
    print(
        "| run | turns/s | p50 ms | p95 ms | p99 ms | peak RSS MB | vs echo "
        "| bot CPU ms/turn | storage round trips/turn | longest callback ms "
        "| longest timer delay ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.name} | {row.rate:.0f} | {row.percentile(50):.1f} | "
            f"{row.percentile(95):.1f} | {row.percentile(99):.1f} | "
            f"{row.stats['hwm_kb'] / 1024:.0f} | {row.rate / echo_rate:.2f}x | "
            f"{row.cpu_ms_per_turn:.2f} | {row.round_trips_per_turn:.1f} | "
            f"{row.stats['max_callback_ms']:.1f} | "
            f"{row.stats['max_lag_ms']:.1f} |"
        )
    print()
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
    parser.add_argument("--serve", choices=["meet", "echo"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "meet":
        serve_meet(args.port, args.users, args.data)
        return 0
    if args.serve == "echo":
        serve_echo(args.port)
        return 0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
