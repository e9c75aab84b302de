"""gunicorn's worker for the bot: aiohttp's, serving the way `python app.py` serves.

    gunicorn --worker-class bot.web.worker.Worker app:gunicorn_app

gunicorn binds the sockets (`$PORT`, else its `--bind`) and runs `$WEB_CONCURRENCY` workers;
each worker builds its own app from the environment and serves it on those sockets with the
bot's own server (bot.web.server.serve): its cap on open connections, the parser warmed up and
start-up's objects frozen before the first turn, requests in flight finished at a stop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket

from aiohttp import web
from aiohttp.worker import GunicornWebWorker

from bot.credentials import CredentialError
from bot.settings import Mode
from bot.web.keys import SETTINGS
from bot.web.server import DatabaseUnavailable, serve

# gunicorn's exit code for a worker that failed to boot: its arbiter then stops, rather than
# starting the same worker again and again (gunicorn.arbiter.Arbiter.WORKER_BOOT_ERROR).
WORKER_BOOT_ERROR = 3


class SandboxNotOnLoopback(RuntimeError):
    """Sandbox mode accepts unauthenticated activities: it may listen on loopback only."""


class Worker(GunicornWebWorker):
    _accepting = False

    async def _run(self) -> None:
        try:
            await self._serve()
        except (CredentialError, DatabaseUnavailable, SandboxNotOnLoopback) as exc:
            if self._accepting:
                raise
            # What is wrong, in one line, as `python app.py` says it: a traceback adds nothing.
            self.log.error("cannot start: %s", exc)  # noqa: TRY400
            self.exit_code = WORKER_BOOT_ERROR
        except BaseException:
            if not self._accepting:
                self.exit_code = WORKER_BOOT_ERROR  # settings, storage, sockets: don't retry
            raise

    async def _serve(self) -> None:
        app = self.wsgi if isinstance(self.wsgi, web.Application) else await self.wsgi()
        _check_sandbox_listens_on_loopback(app, self.sockets)
        # SIGTERM and SIGINT stop the server directly (serve takes them over from gunicorn);
        # gunicorn's SIGQUIT, and a parent that went away, stop it through `stop`.
        stop = asyncio.Event()
        serving = asyncio.create_task(
            serve(app, sockets=self.sockets, stop=stop, listening=self._listening)
        )
        parent = os.getppid()
        while not serving.done():
            self.notify()  # the arbiter restarts a worker that stops notifying
            if not self.alive or os.getppid() != parent:
                stop.set()
            await asyncio.wait([serving], timeout=1.0)
        await serving  # its error, if it failed

    def _listening(self) -> None:
        self._accepting = True
        self.booted = True  # aiohttp 3.13's worker waits for this to tell a boot failure


def _check_sandbox_listens_on_loopback(app: web.Application, sockets: list[socket.socket]) -> None:
    if app[SETTINGS].mode is not Mode.SANDBOX:
        return
    for sock in sockets:
        address = sock.getsockname()
        host = address[0] if isinstance(address, tuple) else ""
        if sock.family is socket.AF_UNIX:
            continue
        if not ipaddress.ip_address(host).is_loopback:
            raise SandboxNotOnLoopback(
                f"gunicorn listens on {host}, which is not a loopback address. Without "
                "MicrosoftAppId the bot accepts unauthenticated activities, so sandbox mode only "
                "listens on loopback: bind to 127.0.0.1, or configure Bot Framework credentials."
            )
