"""HTTP routes: the Bot Framework messaging endpoint and a health check."""

from __future__ import annotations

import json

from aiohttp import web

from bot.keys import ADAPTER, BOT, SETTINGS, VERSION
from bot.logs import activity_id


async def messages(request: web.Request) -> web.StreamResponse:
    """POST /api/messages: check the envelope, then hand the activity to the CloudAdapter."""
    if request.content_type != "application/json":
        raise _problem(web.HTTPUnsupportedMediaType, "Activities must be sent as application/json.")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _problem(web.HTTPBadRequest, "The request body is not valid JSON.") from None
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise _problem(web.HTTPBadRequest, "The request body is not a Bot Framework activity.")
    activity_id.set(str(body.get("id") or "")[:100] or None)
    response = await request.app[ADAPTER].process(request, request.app[BOT])
    return response if response is not None else web.Response(status=201)


async def healthz(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return web.json_response({"status": "ok", "mode": settings.mode.value, "version": VERSION})


async def privacy(request: web.Request) -> web.Response:
    return _page(
        "Privacy",
        "Meet keeps, per Teams user, an encrypted Microsoft sign-in (token cache) so it can create "
        "meetings for you, and the state of an unfinished /meet conversation. It does not keep "
        "meeting details, message text or join links, and logs no tokens, passcodes or join "
        "links. /signout deletes your sign-in. The organisation running this bot controls where "
        "its data is stored.",
    )


async def terms(request: web.Request) -> web.Response:
    return _page(
        "Terms of use",
        "Meet creates Microsoft Teams meetings with your own account when you ask it to. Use it "
        "as your organisation's policies for Microsoft Teams allow. It is provided as is, "
        "without warranty.",
    )


def _page(title: str, text: str) -> web.Response:
    return web.Response(
        content_type="text/html",
        text=f"<!doctype html><html><head><meta charset='utf-8'><title>Meet: {title}</title>"
        f"</head><body><h1>{title}</h1><p>{text}</p></body></html>",
    )


def _problem(kind: type[web.HTTPException], detail: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": detail}), content_type="application/json")
