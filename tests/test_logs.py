"""What the logs say: structured or readable, turn context on each line, and no secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.web.logs import JsonFormatter, ReadableFormatter, _Redact, _TurnContext, activity_id
from tests.conftest import ALEX, Connector, activity, card_of, complete_sign_in, sign_in_url
from tests.processes import start


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("bot", logging.INFO, __file__, 1, message, args, None)


def test_live_logs_are_one_json_object_per_line_with_the_activity_id() -> None:
    token = activity_id.set("activity-42")
    try:
        entry = record("graph POST %s -> %d", "/me/onlineMeetings", 201)
        _TurnContext().filter(entry)
        line = JsonFormatter().format(entry)
    finally:
        activity_id.reset(token)
    parsed = json.loads(line)
    assert parsed["message"] == "graph POST /me/onlineMeetings -> 201"
    assert parsed["activity_id"] == "activity-42"
    assert parsed["level"] == "INFO"


def test_anything_shaped_like_a_secret_is_masked_as_a_last_resort() -> None:
    entry = record(
        "oops %s %s passcode=AbC123xy code: 0.AXwA",
        "eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiIxIn0.c2lnbmF0dXJl",
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0",
    )
    _Redact().filter(entry)
    text = ReadableFormatter().format(entry)
    for secret in ("eyJ", "meetup-join", "AbC123xy", "0.AXwA"):
        assert secret not in text


async def test_a_full_flow_logs_no_token_code_passcode_or_join_link(
    tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    connector = Connector()
    server = await aiohttp_server(connector.app())
    connector.url = str(server.make_url("")).rstrip("/")
    app = start({"SKIP_CONFIRMATION": "true", "LOG_LEVEL": "INFO"}, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=app.base) as http:

            async def say(text: str) -> dict[str, Any]:
                before = len(connector.activities)
                await http.post(
                    "/api/messages", json=activity(text, service_url=connector.url, user=ALEX)
                )
                return connector.activities[before]

            card = await say("/meet Standup tomorrow 9am")
            state = sign_in_url(card).split("id=", 1)[1]
            await complete_sign_in(sign_in_url(card), username=ALEX.upn)
            meeting = card_of(connector.updates[-1])  # in place of the sign-in card
            await say("/meet Retro tomorrow 4pm")
    finally:
        output = app.stop()

    passcode = next(f["value"] for f in meeting["body"][2]["facts"] if f["title"] == "Passcode")
    join_url = meeting["actions"][0]["url"]
    assert "eyJ" not in output  # no access, id or refresh token
    assert passcode not in output
    assert join_url not in output
    assert "meetup-join" not in output
    assert state not in output  # the sign-in state never reaches a log
    assert "code_verifier" not in output
    graph_lines = [line for line in output.splitlines() if "graph POST" in line]
    assert len(graph_lines) == 2
    assert all("activity_id=" in line and "client_request_id=" in line for line in graph_lines)
