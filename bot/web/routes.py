"""HTTP routes (the Bot Framework messaging endpoint, a health check, pages) and middleware."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Sequence
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from azure.core.exceptions import DeserializationError  # what msrest raises
from botbuilder.core import serializer_helper
from botbuilder.schema import Activity

from bot.conversation.router import WELCOME_DAYS
from bot.framework.schema import InvalidJson, from_json, read_json, without_null_entries
from bot.framework.signing_keys import SigningKeysUnavailable
from bot.identity.signin import SIGN_IN_TTL_SECONDS
from bot.identity.tokens import TOKEN_CACHE_DAYS
from bot.meetings.chosen_zones import ZONE_DAYS
from bot.meetings.outbox import OWED_AT_LEAST_HOURS
from bot.meetings.request import WAIT_HOURS
from bot.settings import Settings
from bot.state.store import UNNAMED_LIFETIME_SECONDS, StorageUnavailable
from bot.web.keys import ADAPTER, BOT, SETTINGS, STORAGE, TURNSTILE, VERSION
from bot.web.logs import activity_id

# The whole body of a request must arrive within this long, or the answer is 408. The Bot
# Connector sends a few KB from Azure at once; a client that dribbles its body holds a
# connection (a file descriptor) open, and 1,100 of those exhausted the process's descriptors.
BODY_TIMEOUT_SECONDS = 10.0

# Host headers sandbox mode answers. Without credentials anything that reaches the port can
# post activities, and a web page can reach it by DNS rebinding: its own name, re-pointed at
# 127.0.0.1, still arrives in Host. The Agents Playground and the sign-in pages use these.
_LOOPBACK_HOST = re.compile(r"(?:localhost|127\.0\.0\.1|\[::1\])(?::[0-9]{1,5})?", re.I | re.A)

# What a 503 asks Bot Framework to wait when the keys that sign its tokens could not be fetched.
SIGNING_KEYS_RETRY_AFTER_SECONDS = 5
# What a 503 asks Bot Framework to wait when the database cannot be reached.
STORAGE_RETRY_AFTER_SECONDS = 5
# /healthz waits this long for the database to answer before calling it unreachable.
HEALTH_CHECK_SECONDS = 2.0

# Bodies above this are parsed in a worker thread. Activities are a few KB; a crafted 256 KB
# body takes tens of milliseconds to parse, which would stall every other turn meanwhile.
PARSE_IN_THREAD_BYTES = 64 * 1024


async def messages(request: web.Request) -> web.StreamResponse:
    """POST /api/messages: check the envelope, then hand the activity to the CloudAdapter."""
    await request.app[TURNSTILE].enter()
    if request.content_type != "application/json":
        raise _problem(web.HTTPUnsupportedMediaType, "Activities must be sent as application/json.")
    # JSON between systems is UTF-8 (RFC 8259); any other charset, real or made up, is refused
    # here rather than looked up (an unknown one raised LookupError: a 500).
    if (request.charset or "utf-8").lower() not in ("utf-8", "utf8"):
        raise _problem(web.HTTPUnsupportedMediaType, "Activities must be UTF-8 JSON.")
    raw = await request.read()  # already in memory: see body_deadline
    try:
        if len(raw) > PARSE_IN_THREAD_BYTES:
            body = await asyncio.to_thread(read_json, raw)
        else:
            body = read_json(raw)
    except InvalidJson as exc:
        raise _problem(web.HTTPBadRequest, str(exc)) from None
    if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
        raise _problem(web.HTTPBadRequest, "The request body is not a Bot Framework activity.")
    if missing := _unanswerable(body):
        raise _problem(web.HTTPBadRequest, f"The activity has no {missing}.")
    activity_id.set(str(body.get("id") or "")[:100] or None)
    try:
        activity = from_json(Activity, without_null_entries(Activity, body))
    except DeserializationError:
        # A field of the wrong type (say, "from": 3): the sender's mistake, not ours.
        raise _problem(web.HTTPBadRequest, "The activity has fields of the wrong type.") from None
    # What CloudAdapter.process does, minus parsing the body a second time.
    try:
        invoke = await request.app[ADAPTER].process_activity(
            request.headers.get("Authorization", ""), activity, request.app[BOT].on_turn
        )
    except PermissionError:
        raise web.HTTPUnauthorized from None
    except SigningKeysUnavailable:
        # Not the sender's fault: Bot Framework retries a 5xx, and drops the message on a 401.
        raise web.HTTPServiceUnavailable(
            headers={hdrs.RETRY_AFTER: str(SIGNING_KEYS_RETRY_AFTER_SECONDS)}
        ) from None
    except StorageUnavailable:
        # The turn stopped before anything it wrote could be half-done (each write is whole or
        # nothing): Teams delivers the activity again, and the request ledger keeps a meeting
        # from being created twice.
        raise web.HTTPServiceUnavailable(
            headers={hdrs.RETRY_AFTER: str(STORAGE_RETRY_AFTER_SECONDS)}
        ) from None
    if invoke is None:
        return web.Response(status=201)
    body = invoke.body
    if body is not None and not isinstance(body, dict | list):  # ActivityHandler serialises
        body = serializer_helper(body)
    return web.json_response(body, status=invoke.status)


@web.middleware
async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read a request's whole body within BODY_TIMEOUT_SECONDS (else 408); handlers then read
    it from memory (aiohttp keeps it for request.json() and request.post())."""
    if request.body_exists:
        try:
            async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
                await request.read()
        except TimeoutError:
            timeout = _problem(web.HTTPRequestTimeout, "The request body came too slowly.")
            timeout.force_close()  # the rest of the body is not worth waiting for
            raise timeout from None
        except (web.RequestPayloadError, ConnectionResetError):
            # A broken chunked or compressed body, or a client gone halfway through (there is
            # then no one to answer): the sender's problem, not a 500 with a traceback.
            raise _problem(web.HTTPBadRequest, "The request body is incomplete.") from None
    return await handler(request)


@web.middleware
async def loopback_host_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """421 for a request whose Host header does not name this machine's loopback interface."""
    if not _LOOPBACK_HOST.fullmatch(request.headers.get(hdrs.HOST, "")):
        raise web.HTTPMisdirectedRequest(
            text="This bot runs in sandbox mode and only answers requests addressed to "
            "localhost, 127.0.0.1 or [::1]."
        )
    return await handler(request)


async def healthz(request: web.Request) -> web.Response:
    """200 while the bot can serve turns; 503 while its database cannot be reached."""
    settings = request.app[SETTINGS]
    health = {"status": "ok", "mode": settings.mode.value, "version": VERSION}
    try:
        async with asyncio.timeout(HEALTH_CHECK_SECONDS):
            await request.app[STORAGE].check()
    except (StorageUnavailable, TimeoutError):
        health |= {"status": "unavailable", "storage": "unreachable"}
        return web.json_response(
            health, status=503, headers={hdrs.RETRY_AFTER: str(STORAGE_RETRY_AFTER_SECONDS)}
        )
    return web.json_response(health)


async def privacy(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return html_page(
        "Privacy",
        "Meet keeps only what it needs to create meetings for you, each thing for as long as "
        "stated here. Where it answers (a chat) is kept as ids only.",
        points=kept(settings),
        closing=f"A pass about every {settings.upkeep_seconds:.0f} seconds deletes whatever has "
        "expired. Meet logs no tokens, passcodes, join links or message text. /signout "
        "deletes your sign-in at once. The organisation running this bot controls where its "
        "data is stored.",
    )


def kept(settings: Settings) -> list[str]:
    """What the bot keeps, and for how long: the periods the code applies, in words."""
    return [
        "Your Microsoft sign-in (an encrypted token cache), so it can create meetings as you: "
        f"until /signout, or {TOKEN_CACHE_DAYS} days after the bot last renewed it (it does "
        "when you use it after your last token, good for about an hour, has run out).",
        "A request while the bot asks you about it in a 1:1 chat: "
        f"{UNNAMED_LIFETIME_SECONDS // 3600} hours after it last changed.",
        "A request on its card (encrypted): until you cancel it or ask for another, or "
        f"{WAIT_HOURS} hours after the card last changed.",
        "A request that waits for you to sign in, or to press Retry or Create another "
        f"(encrypted): {WAIT_HOURS} hours.",
        "An answer the bot still owes you (encrypted): until it is posted; if it cannot be, "
        f"until the meeting's end, and at least {OWED_AT_LEAST_HOURS} hours.",
        "For each request, whether its meeting was created and the meeting itself (its join "
        "link and passcode encrypted), so that a request Teams delivers twice gets the same "
        f"meeting, not a second one: {settings.ledger_retention_days} days after the "
        "meeting's end.",
        "A sign-in link (encrypted) and the card it was sent on: until it is used, at most "
        f"{SIGN_IN_TTL_SECONDS // 60} minutes.",
        f"The time zone you chose with /timezone: until /timezone auto, or {ZONE_DAYS} days "
        "after you last used it.",
        "Which chats it has greeted: until it is removed from the chat, or "
        f"{WELCOME_DAYS} days after it was last installed or updated there.",
    ]


async def terms(request: web.Request) -> web.Response:
    return html_page(
        "Terms of use",
        "Meet creates Microsoft Teams meetings with your own account when you ask it to. Use it "
        "as your organisation's policies for Microsoft Teams allow. It is provided as is, "
        "without warranty.",
    )


def html_page(
    title: str,
    text: str,
    *,
    points: Sequence[str] = (),
    closing: str = "",
    status: int = 200,
) -> web.Response:
    """A short page for a person's browser: a heading, a paragraph, and optionally a list and
    a closing paragraph."""
    body = f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    if points:
        body += "<ul>" + "".join(f"<li>{html.escape(point)}</li>" for point in points) + "</ul>"
    if closing:
        body += f"<p>{html.escape(closing)}</p>"
    return web.Response(
        status=status,
        content_type="text/html",
        text="<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;"
        f"max-width:32rem;margin:4rem auto}}</style></head><body>{body}</body></html>",
    )


def _unanswerable(body: dict[str, Any]) -> str | None:
    """What an activity lacks that every channel sends and that any answer needs."""
    for field in ("serviceUrl", "channelId"):  # without channelId botbuilder fails the turn
        if not isinstance(body.get(field), str) or not body[field]:
            return field
    for field in ("conversation", "from", "recipient"):
        account = body.get(field)
        if not isinstance(account, dict) or not isinstance(account.get("id"), str):
            return f"{field}.id"
    return None


def _problem(kind: type[web.HTTPException], detail: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": detail}), content_type="application/json")
