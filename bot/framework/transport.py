"""The one shared HTTP client: httpx's interface over aiohttp's connection pool.

httpx's own pool (httpcore 1.0) scans every pooled connection for every request and checks each
idle socket with a system call; with a couple of hundred meetings in flight that scan cost more
than everything else the bot did. aiohttp's pool is a dict of idle connections per host.
"""

from __future__ import annotations

import aiohttp
import httpx
import yarl
from aiohttp.helpers import get_env_proxy_for_url

from bot.framework.turnstile import Turnstile


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests through an aiohttp session; responses are read in full (small JSON).

    Errors keep the one distinction the Graph client relies on: ConnectError and ConnectTimeout
    only when the request never left this process; anything later (a reset, a disconnect, a read
    timeout) may have reached the server.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        keepalive_seconds: float = 30.0,
        turnstile: Turnstile | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_seconds = keepalive_seconds
        self._turnstile = turnstile
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[
            tuple[str, str | None, int | None], tuple[yarl.URL | None, aiohttp.BasicAuth | None]
        ] = {}

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop, as aiohttp requires.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_seconds,
                ssl=httpx.create_ssl_context(),  # the same CA bundle httpx itself would trust
            )
            # Bodies stay encoded: httpx decodes them by their Content-Encoding, as it always does.
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    def _proxy(self, url: yarl.URL) -> tuple[yarl.URL | None, aiohttp.BasicAuth | None]:
        """HTTPS_PROXY, NO_PROXY and friends, as httpx's own transport would apply them.

        Looked up once per host: aiohttp's trust_env reads the whole environment per request.
        """
        key = (url.scheme, url.host, url.port)
        if key not in self._proxies:
            try:
                self._proxies[key] = get_env_proxy_for_url(url)
            except LookupError:
                self._proxies[key] = (None, None)
        return self._proxies[key]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        # Already encoded by httpx; yarl would otherwise decode %3A and the like.
        url = yarl.URL(str(request.url), encoded=True)
        proxy, proxy_auth = self._proxy(url)
        try:
            async with self._open().request(
                request.method,
                url,
                proxy=proxy,
                proxy_auth=proxy_auth,
                headers=request.headers.multi_items(),
                data=await request.aread() or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    connect=timeouts.get("pool"),
                    sock_connect=timeouts.get("connect"),
                    sock_read=timeouts.get("read"),
                ),
            ) as response:
                content = await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc), request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except TimeoutError as exc:  # aiohttp's read timeouts are TimeoutErrors
            raise httpx.ReadTimeout(str(exc) or "read timeout", request=request) from exc
        except aiohttp.InvalidURL as exc:
            raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        if self._turnstile is not None:
            # Answers that arrive together (Graph answering a burst) resume their turns a few
            # per pass of the event loop.
            await self._turnstile.enter()
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            content=content,
            request=request,
            extensions={"reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def open_client(
    *, timeout: httpx.Timeout, max_connections: int, turnstile: Turnstile | None = None
) -> httpx.AsyncClient:
    """The shared client for Graph and the Bot Connector; close it with `aclose`."""
    transport = AiohttpTransport(max_connections=max_connections, turnstile=turnstile)
    return httpx.AsyncClient(timeout=timeout, transport=transport)
