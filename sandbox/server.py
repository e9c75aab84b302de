"""Runs the sandbox services on loopback beside the bot (sandbox mode and tests)."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import hdrs, web

from sandbox.graph import SandboxGraph
from sandbox.identity import DEFAULT_USERS, SANDBOX_CLIENT_ID, SandboxIdentity
from sandbox.identity import virtual_users as make_virtual_users
from sandbox.idp import GRAPH_RESOURCE, SANDBOX_CLIENT_SECRET, SandboxIdentityProvider
from sandbox.managed_identity import ManagedIdentityEndpoint
from sandbox.tls import make_certificate

# Names of this machine's loopback interface, as a browser writes them in a Host header.
_LOOPBACK_HOST = re.compile(r"(?:localhost|127\.0\.0\.1|\[::1\])(?::[0-9]{1,5})?", re.I | re.A)


@web.middleware
async def _loopback_host_only(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    # Without it a web page could reach the sign-in pages and Graph by DNS rebinding.
    if not _LOOPBACK_HOST.fullmatch(request.headers.get(hdrs.HOST, "")):
        raise web.HTTPMisdirectedRequest(text="The sandbox answers only loopback names.")
    return await handler(request)


class SandboxServer:
    """The sandbox Graph (under /graph/v1.0), identity provider and managed-identity endpoint
    (/msi/token), on 127.0.0.1.

    One app on two sites: plain HTTP on `port` for Graph and the browser's sign-in page, and
    HTTPS on a free port for MSAL's back channel (discovery, tokens), with a certificate made now.
    `GET /sandbox/graph` shows what its Graph holds (tests and benchmarks in other processes).
    """

    client_id = SANDBOX_CLIENT_ID
    client_secret = SANDBOX_CLIENT_SECRET

    def __init__(
        self, *, port: int = 0, state_dir: Path | None = None, virtual_users: int = 0
    ) -> None:
        # With a state_dir the signing key and refresh tokens outlive a restart, as Entra's do.
        state = state_dir / "sandbox" if state_dir is not None else None
        if state is not None:
            state.mkdir(mode=0o700, parents=True, exist_ok=True)  # signing key, token hashes
        self.identity = SandboxIdentity(
            (*DEFAULT_USERS, *make_virtual_users(virtual_users)),
            key_file=state / "signing-key.pem" if state else None,
        )
        self.graph = SandboxGraph(self.identity)
        # The sandbox tenant's admin has granted the sandbox app a tenant-wide access policy.
        self.graph.grant_access_policy(SANDBOX_CLIENT_ID)
        self.idp = SandboxIdentityProvider(
            self.identity, state_file=state / "refresh-tokens.json" if state else None
        )
        # App Service's managed-identity endpoint; its tokens' v2.0 issuer is this IdP's.
        self.managed_identity = ManagedIdentityEndpoint(
            self.identity, lambda tenant: f"{self.idp.tls_origin}/{tenant}/v2.0"
        )
        self._port = port
        self._runner: web.AppRunner | None = None
        self._cert_dir: Path | None = None
        self.origin = ""
        self.ca_bundle = Path()

    @property
    def graph_url(self) -> str:
        return f"{self.origin}/graph/v1.0"

    # The Graph the sandbox stands in for, at a loopback address: the public cloud's. Its
    # identity provider issues tokens for that Graph's scopes, as Entra does, and its Graph
    # accepts them; a loopback URL is not a resource Entra knows.
    graph_resource = GRAPH_RESOURCE.rstrip("/")

    def authority(self, tenant: str = "organizations") -> str:
        return f"{self.idp.tls_origin}/{tenant}"

    @property
    def identity_environment(self) -> dict[str, str]:
        """IDENTITY_ENDPOINT and IDENTITY_HEADER, as App Service sets them for the app."""
        return {
            "IDENTITY_ENDPOINT": f"{self.origin}{self.managed_identity.path}",
            "IDENTITY_HEADER": self.managed_identity.header,
        }

    async def start(self) -> None:
        root = web.Application(middlewares=[_loopback_host_only])
        root.add_subapp("/graph", self.graph.app())
        self.idp.add_routes(root)
        self.managed_identity.add_routes(root)
        root.router.add_get("/sandbox/graph", self._graph_state)
        self._runner = web.AppRunner(root, access_log=None)
        await self._runner.setup()
        self._cert_dir = Path(tempfile.mkdtemp(prefix="meet-bot-sandbox-"))
        certificate = make_certificate(self._cert_dir)
        self.ca_bundle = certificate.cert_path
        http = web.TCPSite(self._runner, "127.0.0.1", self._port)
        tls = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=certificate.server_context())
        await http.start()
        await tls.start()
        http_port, tls_port = (address[1] for address in self._runner.addresses)
        self.origin = f"http://127.0.0.1:{http_port}"
        self.idp.browser_origin = self.origin
        self.idp.tls_origin = f"https://127.0.0.1:{tls_port}"

    async def _graph_state(self, request: web.Request) -> web.Response:
        # Not Graph: the stand-in's own record, for tests and benchmarks across processes.
        return web.json_response({"created": self.graph.created, "meetings": self.graph.meetings()})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._cert_dir is not None:
            shutil.rmtree(self._cert_dir, ignore_errors=True)
            self._cert_dir = None
