"""The one shared HTTP client: httpx's interface over aiohttp's connection pool (httpx-aiohttp).

httpx's own pool (httpcore 1.0) scans every pooled connection for every request and checks each
idle socket with a system call; with a couple of hundred meetings in flight that scan cost more
than everything else the bot did. aiohttp's pool is a dict of idle connections per host.
"""

from __future__ import annotations

import contextvars
import functools
import ssl
from collections.abc import Callable
from typing import Any, cast

import aiohttp
import httpx
import yarl
from httpx_aiohttp import AiohttpTransport

from bot.framework.turnstile import Turnstile

# The URL being sent, as httpx encoded it (see _sent_as_encoded).
_encoded_url: contextvars.ContextVar[str] = contextvars.ContextVar("encoded_url")


def open_client(
    *, timeout: httpx.Timeout, max_connections: int, turnstile: Turnstile | None = None
) -> httpx.AsyncClient:
    """The shared client for Graph and the Bot Connector; close it with `aclose`."""
    context = httpx.create_ssl_context()  # the same CA bundle httpx itself would trust
    session = _session(max_connections, 30.0, context)
    return _Client(
        lambda proxy: _Transport(session, turnstile, proxy=proxy, verify=context),
        timeout=timeout,
    )


class _Client(httpx.AsyncClient):
    """httpx's client, routing direct or through the environment's proxies (HTTPS_PROXY,
    NO_PROXY…) exactly as httpx does, with our transport on every route."""

    def __init__(
        self, transport: Callable[[httpx.Proxy | None], httpx.AsyncBaseTransport], **kwargs: Any
    ) -> None:
        self._transport_for = transport  # httpx's __init__ calls the two hooks below
        super().__init__(**kwargs)

    # httpx's hooks for the transports it builds (httpx-aiohttp's own client overrides them too).
    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
        return self._transport_for(None)

    def _init_proxy_transport(
        self, proxy: httpx.Proxy, *args: Any, **kwargs: Any
    ) -> httpx.AsyncBaseTransport:
        return self._transport_for(proxy)


def _session(
    max_connections: int, keepalive_seconds: float, context: ssl.SSLContext
) -> Callable[[], aiohttp.ClientSession]:
    """One aiohttp session for every route: one pool, one connection limit.

    Made on first use, inside the running loop, as aiohttp requires.
    """

    @functools.cache
    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=max_connections, keepalive_timeout=keepalive_seconds, ssl=context
        )
        return aiohttp.ClientSession(connector=connector, middlewares=(_sent_as_encoded,))

    return session


async def _sent_as_encoded(
    request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    # httpx-aiohttp hands aiohttp the URL as text, which yarl requotes: "19%3Aabc%3Bmessageid"
    # would go out as "19:abc;messageid", not what the Bot Framework SDKs send.
    request.url = yarl.URL(_encoded_url.get(), encoded=True)
    return await send(request)


class _Transport(AiohttpTransport):
    """httpx-aiohttp's transport; responses are read in full (small JSON) before a turn resumes.

    Errors keep the one distinction the Graph client relies on: ConnectError and ConnectTimeout
    only when the request never left this process; anything later (a reset, a disconnect, a read
    timeout) may have reached the server.
    """

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        turnstile: Turnstile | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(client=session, **kwargs)
        self._turnstile = turnstile

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _encoded_url.set(str(request.url))
        try:
            response = await super().handle_async_request(request)
            stream = cast(httpx.AsyncByteStream, response.stream)
            try:  # still encoded: httpx decodes the body by its Content-Encoding, as always
                response.stream = httpx.ByteStream(b"".join([part async for part in stream]))
            finally:
                await stream.aclose()  # the connection goes back to the pool, or is closed
        except httpx.TransportError as exc:
            raise _transport_error(exc.__cause__ or exc, request) from exc.__cause__
        except (aiohttp.ClientError, TimeoutError) as exc:  # errors the library lets through
            raise _transport_error(exc, request) from exc
        if self._turnstile is not None:
            # Answers that arrive together (Graph answering a burst) resume their turns a few
            # per pass of the event loop.
            await self._turnstile.enter()
        return response


def _transport_error(error: BaseException, request: httpx.Request) -> httpx.TransportError:
    """httpx's error for aiohttp's. httpx-aiohttp 0.2 reports every aiohttp connection error
    as ConnectTimeout, a disconnect after the request was sent included: mapped again here."""
    message = str(error) or type(error).__name__
    match error:
        case aiohttp.ConnectionTimeoutError():
            return httpx.ConnectTimeout(message, request=request)
        case aiohttp.ClientConnectorError():
            return httpx.ConnectError(message, request=request)
        case TimeoutError():  # aiohttp's read timeouts are TimeoutErrors
            return httpx.ReadTimeout(message, request=request)
        case aiohttp.InvalidURL():
            return httpx.UnsupportedProtocol(message, request=request)
        case aiohttp.ServerDisconnectedError():
            return httpx.RemoteProtocolError(message, request=request)
        case httpx.TransportError():
            return error
    return httpx.ReadError(message, request=request)
