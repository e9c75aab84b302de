"""Sending activities over the shared HTTP client: the body msrest would send, Teams' retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials

from bot.framework.connector import Connector, ConnectorError
from bot.framework.transport import open_client
from tests.sleeps import Sleeps

CONVERSATION = "19:abc@thread.tacv2;messageid=1700000000000"


@dataclass
class Service:
    """A Bot Connector that answers each call with the next scripted response."""

    url: str = ""
    script: list[web.Response] = field(default_factory=list)
    calls: list[tuple[str, str, dict[str, Any], dict[str, str]]] = field(default_factory=list)

    def app(self) -> web.Application:
        async def handle(request: web.Request) -> web.Response:
            body = await request.json() if request.can_read_body else {}
            self.calls.append((request.method, request.raw_path, body, dict(request.headers)))
            return self.script.pop(0) if self.script else web.json_response({"id": "sent-1"})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        return app


@pytest.fixture
async def service(aiohttp_server: Callable[..., Any]) -> Service:
    service = Service()
    server: TestServer = await aiohttp_server(service.app())
    service.url = str(server.make_url("")).rstrip("/")
    return service


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with open_client(timeout=httpx.Timeout(5.0), max_connections=10) as client:
        yield client


def connector(
    service: Service, http: httpx.AsyncClient, sleeps: Sleeps, credentials: Any = None
) -> Connector:
    inner = ConnectorClient(credentials or MicrosoftAppCredentials(None, None), service.url)
    return Connector(inner, http, sleep=sleeps)


def reply() -> Activity:
    return Activity(
        type="message",
        text="Your meeting is ready",
        from_property=ChannelAccount(id="28:bot", name="Meet"),
        recipient=ChannelAccount(id="29:alex", aad_object_id="a1"),
        conversation=ConversationAccount(id=CONVERSATION, is_group=True),
        reply_to_id="1700000000000",
        attachments=[],
    )


async def test_a_reply_sends_what_msrest_would_send_to_the_documented_path(
    service: Service, http: httpx.AsyncClient
) -> None:
    sent = await connector(service, http, Sleeps()).conversations.reply_to_activity(
        CONVERSATION, "1700000000000", reply()
    )

    assert sent is not None
    assert sent.id == "sent-1"
    [(method, path, body, headers)] = service.calls
    assert method == "POST"
    assert path == (
        "/v3/conversations/19%3Aabc%40thread.tacv2%3Bmessageid%3D1700000000000"
        "/activities/1700000000000"
    )
    assert body == reply().serialize()
    assert body["from"] == {"id": "28:bot", "name": "Meet"}  # REST names, not Python's
    assert headers["x-ms-conversation-id"] == CONVERSATION
    assert "botbuilder" in headers["User-Agent"].lower() or "msrest" in headers["User-Agent"]
    assert "Authorization" not in headers  # no app id: the sandbox or the Emulator


async def test_send_and_update_use_their_own_paths(
    service: Service, http: httpx.AsyncClient
) -> None:
    conversations = connector(service, http, Sleeps()).conversations
    await conversations.send_to_conversation("a:1", reply())
    await conversations.update_activity("a:1", "m-7", reply())
    assert [(m, p) for m, p, _, _ in service.calls] == [
        ("POST", "/v3/conversations/a%3A1/activities"),
        ("PUT", "/v3/conversations/a%3A1/activities/m-7"),
    ]


@pytest.mark.parametrize("status", [412, 429, 502, 504])
async def test_what_teams_asks_bots_to_retry_is_retried(
    service: Service, http: httpx.AsyncClient, status: int
) -> None:
    sleeps = Sleeps()
    service.script = [web.json_response({}, status=status, headers={"Retry-After": "1.5"})]

    sent = await connector(service, http, sleeps).conversations.reply_to_activity(
        "a:1", "m-1", reply()
    )

    assert sent is not None
    assert sent.id == "sent-1"
    assert len(service.calls) == 2
    assert sleeps.delays == [1.5]


async def test_throttling_without_retry_after_backs_off_then_gives_up(
    service: Service, http: httpx.AsyncClient
) -> None:
    sleeps = Sleeps()
    service.script = [web.json_response({}, status=429) for _ in range(4)]

    with pytest.raises(ConnectorError) as caught:
        await connector(service, http, sleeps).conversations.send_to_conversation("a:1", reply())

    assert caught.value.status == 429
    assert len(service.calls) == 4
    first, second, third = sleeps.delays
    assert first < second < third


@pytest.mark.parametrize("status", [400, 403, 404, 500])
async def test_other_failures_are_reported_at_once(
    service: Service, http: httpx.AsyncClient, status: int
) -> None:
    sleeps = Sleeps()
    service.script = [
        web.json_response({"error": {"code": "BotNotInConversationRoster"}}, status=status)
    ]

    with pytest.raises(ConnectorError) as caught:
        await connector(service, http, sleeps).conversations.send_to_conversation("a:1", reply())

    assert (caught.value.status, caught.value.code) == (status, "BotNotInConversationRoster")
    assert len(service.calls) == 1  # a 500 may have posted the message: never post it twice
    assert sleeps.delays == []


class Credentials(MicrosoftAppCredentials):  # type: ignore[misc]
    """Bot Framework credentials whose token comes from here rather than Entra ID."""

    def __init__(self) -> None:
        super().__init__("00000000-0000-0000-0000-00000000b07", "secret")
        self.tokens = 0

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.tokens += 1
        return "bot-framework-token"


async def test_with_an_app_id_every_call_carries_the_bots_token(
    service: Service, http: httpx.AsyncClient
) -> None:
    credentials = Credentials()
    conversations = connector(service, http, Sleeps(), credentials).conversations
    await conversations.send_to_conversation("a:1", reply())
    [(_, _, _, headers)] = service.calls
    assert headers["Authorization"] == "Bearer bot-framework-token"


async def test_other_calls_go_through_botframeworks_own_client(
    service: Service, http: httpx.AsyncClient
) -> None:
    client = connector(service, http, Sleeps())
    service.script = [web.json_response({"id": "29:alex", "name": "Alex Wilber"})]
    member = await client.conversations.get_conversation_member("a:1", "29:alex")
    assert member.name == "Alex Wilber"
    assert service.calls[0][:2] == ("GET", "/v3/conversations/a%3A1/members/29%3Aalex")
    assert client.config.base_url == service.url


@pytest.mark.parametrize(
    "answer", [web.Response(status=202), web.Response(status=200, text="OK")], ids=["202", "text"]
)
async def test_a_send_without_an_id_in_the_answer_still_succeeds(
    service: Service, http: httpx.AsyncClient, answer: web.Response
) -> None:
    service.script = [answer]
    conversations = connector(service, http, Sleeps()).conversations
    assert await conversations.send_to_conversation("a:1", reply()) is None


@pytest.mark.parametrize(
    "retry_after",
    ["inf", "-inf", "nan", "-5", "soon", pytest.param("1" * 400, id="400-digits"), ""],
)
async def test_a_retry_after_that_is_no_number_of_seconds_falls_back_to_backoff(
    service: Service, http: httpx.AsyncClient, retry_after: str
) -> None:
    sleeps = Sleeps()
    service.script = [web.json_response({}, status=429, headers={"Retry-After": retry_after})]

    sent = await connector(service, http, sleeps).conversations.send_to_conversation("a:1", reply())

    assert sent is not None
    [delay] = sleeps.delays
    assert 0.25 <= delay <= 0.5  # the first backoff step, as without any Retry-After


async def test_a_retry_after_beyond_the_budget_gives_up_without_waiting(
    service: Service, http: httpx.AsyncClient
) -> None:
    sleeps = Sleeps()
    service.script = [web.json_response({}, status=429, headers={"Retry-After": "1e9"})]

    with pytest.raises(ConnectorError) as caught:
        await connector(service, http, sleeps).conversations.send_to_conversation("a:1", reply())

    assert caught.value.status == 429
    assert len(service.calls) == 1
    assert sleeps.delays == []


@pytest.mark.parametrize("conversation", ["a:ünïcode", "a:🎉", "a:\x00", "a:\tX-Injected: 1"])
async def test_a_conversation_id_that_is_no_header_value_still_gets_its_reply(
    service: Service, http: httpx.AsyncClient, conversation: str
) -> None:
    sent = await connector(service, http, Sleeps()).conversations.reply_to_activity(
        conversation, "m-1", reply()
    )

    assert sent is not None
    [(_, path, _, headers)] = service.calls
    assert path == f"/v3/conversations/{quote(conversation, safe='')}/activities/m-1"
    assert "x-ms-conversation-id" not in headers
