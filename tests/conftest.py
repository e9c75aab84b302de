"""Shared fixtures: the real app over HTTP, a recording Bot Connector, the sandbox Graph."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft202012Validator

from bot.framework.transport import open_client
from bot.settings import Settings
from bot.web.keys import SANDBOX, SETTINGS
from bot.web.server import create_app
from graph import GraphClient
from graph.client import RetryPolicy
from sandbox.graph import SandboxGraph
from sandbox.identity import DEFAULT_USERS, SANDBOX_TENANT_ID, SandboxIdentity, SandboxUser
from sandbox.server import SandboxServer
from tests.bot_framework_issuer import BotLogin
from tests.browser import Browser
from tests.sink import BotTokenCheck

pytest_plugins = ["tests.network_guard", "tests.postgres_server", "tests.storages"]

DATA = Path(__file__).parent / "data"
BotClient = TestClient[web.Request, web.Application]
ALEX = DEFAULT_USERS[0]
MEGAN = DEFAULT_USERS[1]
UNLICENSED = next(u for u in DEFAULT_USERS if not u.teams_licensed)
NO_AUDIO = next(u for u in DEFAULT_USERS if not u.audio_conferencing)


@dataclass
class Connector:
    """A stand-in Bot Connector service: records every activity the bot sends, and answers
    roster look-ups for the sandbox directory's users (as Teams does with their UPN)."""

    url: str = ""
    activities: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    typing: int = 0  # typing indicators: shown as "…", not as messages
    refuse: list[int] = field(default_factory=list)  # statuses for the next messages sent
    check: BotTokenCheck | None = None  # the bot's token, checked as the Bot Connector does

    def app(self) -> web.Application:
        @web.middleware
        async def authorized(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            if self.check is not None and self.check.problem(request.headers.get("Authorization")):
                self.check.refused += 1
                return web.json_response(
                    {"error": {"code": "Unauthorized", "message": "Authorization denied"}},
                    status=401,
                )
            return await handler(request)

        async def receive(request: web.Request) -> web.Response:
            sent = await request.json()
            if sent.get("type") == "typing":
                self.typing += 1
                return web.json_response({"id": f"typing-{self.typing}"})
            if self.refuse:
                status = self.refuse.pop(0)
                return web.json_response({"error": {"code": "ServiceError"}}, status=status)
            sent["id"] = f"reply-{len(self.activities) + 1}"
            self.activities.append(sent)
            self.paths.append(request.path)
            return web.json_response({"id": sent["id"]})

        async def update(request: web.Request) -> web.Response:
            self.updates.append({**await request.json(), "id": request.match_info["activity"]})
            self.paths.append(request.path)
            return web.json_response({"id": request.match_info["activity"]})

        async def member(request: web.Request) -> web.Response:
            oid = request.match_info["member"].removeprefix("29:")
            user = next((u for u in DEFAULT_USERS if u.oid == oid), None)
            if user is None:
                return web.json_response({"error": {"code": "MemberNotFound"}}, status=404)
            return web.json_response(
                {
                    "id": request.match_info["member"],
                    "aadObjectId": user.oid,
                    "name": user.name,
                    "userPrincipalName": user.upn,
                    "tenantId": user.tenant_id,
                }
            )

        app = web.Application(middlewares=[authorized])
        app.router.add_post("/v3/conversations/{conversation}/activities", receive)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", receive)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", update)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", member)
        return app


@pytest.fixture
async def connector(aiohttp_server: Callable[..., Any]) -> Connector:
    recorder = Connector()
    server: TestServer = await aiohttp_server(recorder.app())
    recorder.url = str(server.make_url("")).rstrip("/")
    return recorder


MakeBot = Callable[..., Awaitable[BotClient]]


@pytest.fixture
def make_bot(
    aiohttp_client: Callable[..., Any], tmp_path: Path, unused_tcp_port_factory: Callable[[], int]
) -> MakeBot:
    """Start the real app (CloudAdapter, sandbox Graph and IdP) with extra settings, and
    optionally the clock that dates what it keeps (seconds since the epoch)."""

    async def start(*, clock: Callable[[], float] = time.time, **env: str) -> BotClient:
        port = unused_tcp_port_factory()
        settings = Settings.from_env(
            {
                "PORT": str(port),
                "SANDBOX_PORT": "0",
                "DATA_DIR": str(tmp_path / "data"),
                "PUBLIC_URL": f"http://127.0.0.1:{port}",
            }
            | env
        )
        app = create_app(settings, clock=clock)
        client: BotClient = await aiohttp_client(TestServer(app, port=port))
        return client

    return start


@pytest.fixture
async def bot(make_bot: MakeBot) -> BotClient:
    return await make_bot()


@pytest.fixture
def sandbox(bot: BotClient) -> SandboxServer:
    return bot.app[SANDBOX]


@pytest.fixture
def sandbox_graph(sandbox: SandboxServer) -> SandboxGraph:
    return sandbox.graph


def activity(
    text: str,
    *,
    service_url: str,
    user: SandboxUser | None = ALEX,
    timezone: str | None = "Europe/Berlin",
    locale: str = "en-US",
    conversation_id: str = "a:personal-chat",
    conversation_type: str = "personal",
    reply_to_id: str | None = None,
) -> dict[str, Any]:
    """A message activity shaped like the ones Teams (and the Agents Playground) send."""
    sender: dict[str, Any] = {"id": f"29:{user.oid if user else 'anonymous'}", "name": "Test User"}
    if user is not None:
        sender["aadObjectId"] = user.oid
    entities = [{"type": "clientInfo", "locale": locale, "platform": "Web"}]
    if timezone:
        entities[0]["timezone"] = timezone
    return {
        "type": "message",
        "id": str(uuid.uuid4()),
        "text": text,
        "textFormat": "plain",
        "from": sender,
        "recipient": {"id": "28:bot", "name": "Meet"},
        "conversation": {
            "id": conversation_id,
            "conversationType": conversation_type,
            "tenantId": SANDBOX_TENANT_ID,
        },
        "channelId": "msteams",
        "serviceUrl": service_url,
        "locale": locale,
        "entities": entities,
        "channelData": {"tenant": {"id": SANDBOX_TENANT_ID}},
        **({"replyToId": reply_to_id} if reply_to_id else {}),
    }


async def say(
    bot: BotClient,
    connector: Connector,
    text: str,
    *,
    value: dict[str, Any] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Send `text` (or a card's submitted `value`) through /api/messages; return the replies."""
    before = len(connector.activities)
    payload = activity(text, service_url=connector.url, **kwargs)
    if value is not None:
        payload["value"] = value
    response = await bot.post("/api/messages", json=payload)
    assert response.status in (200, 201), await response.text()
    return connector.activities[before:]


async def post(
    bot: BotClient, connector: Connector, payload: dict[str, Any], **activity_args: Any
) -> list[dict[str, Any]]:
    """Send a message activity with `payload`'s fields laid over it; return the replies."""
    before = len(connector.activities)
    body = activity("", service_url=connector.url, **activity_args) | payload
    response = await bot.post("/api/messages", json=body)
    assert response.status in (200, 201), await response.text()
    return connector.activities[before:]


async def press(
    bot: BotClient,
    connector: Connector,
    message: dict[str, Any],
    title: str,
    *,
    inputs: dict[str, Any] | None = None,
    verb: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Press the card button `title` (Action.Execute) on `message`, as Teams does: an
    adaptiveCard/action invoke. Returns the card the invoke answers with (the presser's view).

    `verb` instead of a title: the card's refresh action (what Teams sends by itself).
    """
    payload = pressing(connector, message, title, inputs=inputs, verb=verb, **kwargs)
    response = await bot.post("/api/messages", json=payload)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    assert body["statusCode"] == 200, body
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    shown: dict[str, Any] = body["value"]
    return shown


def pressing(
    connector: Connector,
    message: dict[str, Any],
    title: str,
    *,
    inputs: dict[str, Any] | None = None,
    verb: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """The adaptiveCard/action invoke Teams sends when the button `title` on `message` is
    pressed (`verb`: the card's refresh action instead)."""
    card = card_of(message)
    if verb is not None:
        action = card["refresh"]["action"]
    else:
        [action] = [a for a in card["actions"] if a["title"] == title]
    assert action["type"] == "Action.Execute"
    payload = activity("", service_url=connector.url, reply_to_id=message.get("id"), **kwargs)
    payload |= {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "value": {
            "action": {
                "type": "Action.Execute",
                "verb": action["verb"],
                "data": {**action.get("data", {}), **(inputs or {})},
            },
            "trigger": "automatic" if verb else "manual",
        },
    }
    del payload["text"]
    return payload


def form_inputs(card: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for element in card["body"]:
        if element["type"].startswith("Input."):
            found.append(element)
        for column in element.get("columns", []):
            found.extend(e for e in column["items"] if e["type"].startswith("Input."))
    return found


def titles(card: dict[str, Any]) -> list[str]:
    """The card's button titles."""
    return [action["title"] for action in card.get("actions", [])]


def sign_in_url(reply: dict[str, Any]) -> str:
    card = card_of(reply)
    [action] = card["actions"]
    assert action["type"] == "Action.OpenUrl"
    assert action["title"] == "Sign in"
    url: str = action["url"]
    return url


async def complete_sign_in(url: str, *, username: str) -> httpx.Response:
    """Open a sign-in link and sign in as `username`, as a person would; the bot's last page."""
    async with Browser() as browser:
        authorize_page = await browser.open(url)
        assert authorize_page.status_code == 200, authorize_page.text
        answer = await browser.submit(authorize_page, username=username)
        assert answer.status_code == 200, answer.text
        return await browser.submit(answer)  # the form_post page, without its script


async def sign_in(
    bot: BotClient, connector: Connector, user: SandboxUser = ALEX
) -> list[dict[str, Any]]:
    """/signin and the whole browser round trip for `user`, as set-up for a test.

    Returns what the bot then said. The /signin card's own change to "Signed in" is part of
    signing in: it is checked in test_signin and left out of `connector.updates`.
    """
    [card] = await say(bot, connector, "/signin", user=user)
    before, updates = len(connector.activities), len(connector.updates)
    page = await complete_sign_in(sign_in_url(card), username=user.account.upn)
    assert page.status_code == 200, page.text
    [signed_in] = connector.updates[updates:]
    assert signed_in["id"] == card["id"]
    del connector.updates[updates:]
    return connector.activities[before:]


def card_of(reply: dict[str, Any]) -> dict[str, Any]:
    attachments = reply.get("attachments") or []
    assert len(attachments) == 1, reply
    assert attachments[0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    content: dict[str, Any] = attachments[0]["content"]
    return content


def facts_of(card: dict[str, Any]) -> dict[str, str]:
    return {
        fact["title"]: fact["value"]
        for element in card["body"]
        if element["type"] == "FactSet"
        for fact in element["facts"]
    }


# -- the sandbox Graph on its own, for the Graph client ----------------------------------------


@pytest.fixture
def login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BotLogin]:
    """A local Bot Framework login (the bot's own tokens), trusted by requests' CA bundle."""
    server = BotLogin(tmp_path / "login")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_bundle)
    yield server
    server.close()


@pytest.fixture
def identity() -> SandboxIdentity:
    return SandboxIdentity()


@pytest.fixture
async def graph_server(
    aiohttp_server: Callable[..., Any], identity: SandboxIdentity
) -> tuple[SandboxGraph, str]:
    graph = SandboxGraph(identity)
    server: TestServer = await aiohttp_server(graph.app())
    return graph, str(server.make_url("/v1.0"))


@pytest.fixture
async def graph_client(graph_server: tuple[SandboxGraph, str]) -> AsyncIterator[GraphClient]:
    """A client that reports Graph's first answer (retries have their own tests)."""
    async with open_client(timeout=httpx.Timeout(5.0), max_connections=10) as http:
        yield GraphClient(http, graph_server[1], retry=RetryPolicy(max_attempts=1))


@pytest.fixture(scope="session")
def meeting_schema() -> Draft202012Validator:
    schema = json.loads((DATA / "graph-v1.0-onlineMeeting.schema.json").read_text())
    return Draft202012Validator(schema)


async def database_at_rest(bot: BotClient) -> tuple[list[Path], bytes]:
    """Close the bot (cleanup closes its database), then its SQLite files and their bytes."""
    data_dir = bot.app[SETTINGS].data_dir
    await bot.close()
    files = sorted(data_dir.glob("bot.sqlite3*"))
    return files, b"".join(path.read_bytes() for path in files)
