"""Run the Teams meeting bot: read settings, build the app, serve it."""

from __future__ import annotations

import asyncio
import logging
import sys

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

log = logging.getLogger("app")


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
        log.error("configuration error: %s", exc)  # noqa: TRY400 - a traceback adds nothing here
        return 2
    # One JSON object per line in production; readable lines in sandbox mode.
    configure_logging(settings.log_level, structured=settings.mode is Mode.LIVE)
    log.info("mode: %s", _describe(settings))
    if settings.mode is Mode.LIVE:
        log.info("cloud: %s", describe_cloud(settings))
    for note in startup_notes(settings):
        log.warning("%s", note)
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
