"""Run the Teams meeting bot: read settings, build the app, serve it.

`python app.py` serves one process. In a container, gunicorn runs `gunicorn_app` in each of its
workers (see the Dockerfile and bot.web.worker).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from aiohttp import web

from bot.credentials import CredentialError
from bot.settings import (
    Mode,
    Settings,
    SettingsError,
    describe_cloud,
    load_settings,
    startup_notes,
)
from bot.web.logs import configure_logging
from bot.web.server import DatabaseUnavailable, create_app, serve
from bot.web.worker import WORKER_BOOT_ERROR

log = logging.getLogger("app")


def main() -> int:
    settings = _settings()
    if settings is None:
        return 2
    log.info("listening on http://%s:%d (POST /api/messages)", settings.host, settings.port)
    try:
        asyncio.run(serve(create_app(settings), settings.host, settings.port))
    except CredentialError as exc:
        log.error("the bot's credential: %s", exc)  # noqa: TRY400 - one clear line
        return 2
    except DatabaseUnavailable as exc:
        log.error("%s", exc)  # noqa: TRY400 - the message says what to do; a traceback adds nothing
        return 2
    except OSError as exc:  # typically a port already in use
        log.error("cannot start: %s", exc.strerror or exc)  # noqa: TRY400 - one clear line
        return 1
    return 0


async def gunicorn_app() -> web.Application:
    """The app of one gunicorn worker; gunicorn binds the port (`$PORT`, else `--bind`)."""
    settings = _settings()
    if settings is None:
        raise SystemExit(WORKER_BOOT_ERROR)
    return create_app(settings)


def _settings() -> Settings | None:
    """Settings from the environment, and logging set up by them; None (said in one line) when
    they are wrong."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
        log.error("configuration error: %s", exc)  # noqa: TRY400 - a traceback adds nothing here
        return None
    # One JSON object per line in production; readable lines in sandbox mode.
    configure_logging(settings.log_level, structured=settings.mode is Mode.LIVE)
    log.info("mode: %s", _describe(settings))
    if settings.mode is Mode.LIVE:
        log.info("cloud: %s", describe_cloud(settings))
    for note in startup_notes(settings):
        log.warning("%s", note)
    return settings


def _describe(settings: Settings) -> str:
    if settings.mode is Mode.SANDBOX:
        return (
            "SANDBOX (no MicrosoftAppId): inbound auth off, loopback only, "
            "Graph and sign-in are local stand-ins"
        )
    return (
        f"LIVE ({settings.app_type} app {settings.app_id}): Bot Framework auth on, "
        f"Graph at {settings.graph_base_url}"
    )


if __name__ == "__main__":
    sys.exit(main())
