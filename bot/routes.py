"""HTTP routes: the Bot Framework messaging endpoint and a health check."""

from __future__ import annotations

import json

from aiohttp import web

from bot.keys import ADAPTER, BOT, SETTINGS, VERSION


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
    response = await request.app[ADAPTER].process(request, request.app[BOT])
    return response if response is not None else web.Response(status=201)


async def healthz(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return web.json_response({"status": "ok", "mode": settings.mode.value, "version": VERSION})


def _problem(kind: type[web.HTTPException], detail: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": detail}), content_type="application/json")
