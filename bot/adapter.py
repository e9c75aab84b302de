"""Bot Framework's CloudAdapter, configured from our settings, with our error edge."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)

from bot.replies import explain
from bot.settings import Settings

log = logging.getLogger(__name__)


def create_adapter(settings: Settings) -> CloudAdapter:
    """A CloudAdapter; with an empty app id the SDK accepts unauthenticated (sandbox) traffic."""
    configuration = SimpleNamespace(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password,
        APP_TYPE=settings.app_type,
        APP_TENANTID=settings.app_tenant_id,
    )
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(configuration))
    adapter.on_turn_error = _on_turn_error
    return adapter


async def _on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    # The traceback goes to the log (no tokens or message text in it); the chat gets one line.
    log.error(
        "unhandled error in turn for activity %s",
        turn_context.activity.id,
        exc_info=(type(error), error, error.__traceback__),
    )
    try:
        await turn_context.send_activity(explain(error))
    except Exception:
        log.exception(
            "could not tell the user about the error in activity %s", turn_context.activity.id
        )
