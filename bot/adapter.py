"""Bot Framework's CloudAdapter, configured from our settings, with our error edge."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import CallerIdConstants
from botframework.connector.auth import AuthenticationConstants

from bot.replies import explain
from bot.settings import Settings

log = logging.getLogger(__name__)


class FailClosedAuthentication(ConfigurationBotFrameworkAuthentication):
    """Bot Framework authentication that refuses, rather than crashes, on any bad token.

    botbuilder 4.17 raises JWT, IndexError and AttributeError for an empty header, a malformed
    token or an unknown signing key, which would be 500s; every such failure is a refusal (401).
    """

    async def authenticate_request(self, activity: Any, auth_header: str) -> Any:
        try:
            return await super().authenticate_request(activity, auth_header)
        except PermissionError:
            raise
        except Exception as exc:
            log.info("activity refused: %s", type(exc).__name__)
            raise PermissionError("invalid Bot Framework token") from exc


def create_adapter(settings: Settings) -> CloudAdapter:
    """A CloudAdapter; with an empty app id the SDK accepts unauthenticated (sandbox) traffic."""
    configuration = SimpleNamespace(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password,
        APP_TYPE=settings.app_type,
        APP_TENANTID=settings.app_tenant_id,
    )
    if settings.bot_openid_metadata:
        # Where the keys that sign Bot Framework's tokens are published (other clouds, tests).
        # Naming one endpoint puts the SDK in its parameterized mode, which needs them all:
        # the public cloud's for the rest.
        configuration.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = settings.bot_openid_metadata
        configuration.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = (
            AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
        )
        configuration.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = (
            AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
        )
        configuration.TO_CHANNEL_FROM_BOT_LOGIN_URL = (
            AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL
        )
        configuration.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = (
            AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
        )
        configuration.OAUTH_URL = AuthenticationConstants.OAUTH_URL
        configuration.CALLER_ID = CallerIdConstants.public_azure_channel
    adapter = CloudAdapter(FailClosedAuthentication(configuration))
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
