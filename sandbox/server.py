"""Runs the sandbox services on loopback beside the bot (sandbox mode and tests)."""

from __future__ import annotations

from aiohttp import web

from sandbox.graph import SandboxGraph
from sandbox.identity import SandboxIdentity


class SandboxServer:
    """The sandbox Graph served on 127.0.0.1, under /graph/v1.0."""

    def __init__(self, *, port: int = 0) -> None:
        self.identity = SandboxIdentity()
        self.graph = SandboxGraph(self.identity)
        self._port = port
        self._runner: web.AppRunner | None = None
        self.origin = ""

    @property
    def graph_url(self) -> str:
        return f"{self.origin}/graph/v1.0"

    async def start(self) -> None:
        root = web.Application()
        root.add_subapp("/graph", self.graph.app())
        self._runner = web.AppRunner(root, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port).start()
        self.origin = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
