"""The shared HTTP client: httpx's interface over aiohttp, as an admin's network expects it."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.framework.transport import open_client

TIMEOUT = httpx.Timeout(5.0)


async def serve(aiohttp_server: Callable[..., Any], seen: list[str]) -> str:
    """A server that records the request line's target: a path, or a whole URL when proxying."""

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        body = gzip.compress(b'{"id": "1"}')
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server: TestServer = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def test_a_compressed_answer_is_read_as_json(aiohttp_server: Callable[..., Any]) -> None:
    url = await serve(aiohttp_server, [])
    async with open_client(timeout=TIMEOUT, max_connections=4) as http:
        response = await http.get(f"{url}/v1.0/me")
    assert response.json() == {"id": "1"}


async def test_the_environments_proxy_carries_requests(
    aiohttp_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxied: list[str] = []
    proxy = await serve(aiohttp_server, proxied)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    async with open_client(timeout=TIMEOUT, max_connections=4) as http:
        response = await http.get("http://graph.example/v1.0/me/onlineMeetings")

    assert response.json() == {"id": "1"}
    assert proxied == ["http://graph.example/v1.0/me/onlineMeetings"]


async def test_no_proxy_hosts_are_reached_directly(
    aiohttp_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxied: list[str] = []
    proxy = await serve(aiohttp_server, proxied)
    direct = await serve(aiohttp_server, [])
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")

    async with open_client(timeout=TIMEOUT, max_connections=4) as http:
        response = await http.get(f"{direct}/v1.0/me")

    assert response.is_success
    assert proxied == []


async def test_a_refused_connection_is_a_connect_error(unused_tcp_port: int) -> None:
    async with open_client(timeout=TIMEOUT, max_connections=4) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{unused_tcp_port}/")


@pytest.mark.parametrize(
    ("hang", "error"),
    [(False, httpx.RemoteProtocolError), (True, httpx.ReadTimeout)],
    ids=["hung-up", "read-timeout"],
)
async def test_a_request_lost_after_sending_is_no_connect_error(
    hang: bool, error: type[httpx.TransportError]
) -> None:
    # The Graph client sends a create again only after a connect error: it never arrived.
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        if hang:
            await done.wait()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with open_client(timeout=httpx.Timeout(0.5), max_connections=4) as http:
        with pytest.raises(error) as caught:
            await http.post(f"http://127.0.0.1:{port}/v1.0/me/onlineMeetings", json={})
    done.set()
    server.close()
    await server.wait_closed()
    assert not isinstance(caught.value, httpx.ConnectError | httpx.ConnectTimeout)
