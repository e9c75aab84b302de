"""Typed keys for what the app factory stores on the aiohttp application."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from aiohttp import web
from botbuilder.integration.aiohttp import CloudAdapter

from bot.conversation.router import MeetingBot
from bot.conversation.sign_in import SignIn
from bot.framework.turnstile import Turnstile
from bot.settings import Settings
from bot.state.store import Store

if TYPE_CHECKING:
    from sandbox.server import SandboxServer

try:
    VERSION = version("teams-meet-bot")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0+unknown"

SETTINGS = web.AppKey("settings", Settings)
ADAPTER = web.AppKey("adapter", CloudAdapter)
BOT = web.AppKey("bot", MeetingBot)
SANDBOX: web.AppKey[SandboxServer] = web.AppKey("sandbox")
STORAGE = web.AppKey("storage", Store)
SIGN_IN = web.AppKey("sign_in", SignIn)
TURNSTILE = web.AppKey("turnstile", Turnstile)
# Seconds since the epoch: when records expire, and when the purge deletes them.
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
