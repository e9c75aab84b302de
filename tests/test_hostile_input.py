"""Hostile and broken input: a clean 4xx or a friendly reply, never a 500 or a crash.

Property-based (hypothesis) over the request parser, the command reader and whole activity
payloads sent to a real `python app.py` in sandbox mode, whose replies go to a local sink.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from botbuilder.schema import Activity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import parse_command
from bot.teams import command_text
from dialogs.request import RequestError, parse_request
from tests.conftest import activity
from tests.sink import Sink
from tests.test_app_process import start

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
NASTY = st.sampled_from(
    [
        "\u202e",
        "\u200f",
        "\x00",
        "\x1b[31m",
        "🎉",
        "<at>",
        "</at>",
        "<at>Meet",
        "\ufeff",
        "\n",
        "\u0301",
        "𝟘",
        "٣",
        "2026-02-30T25:61",
        "for 99999999999h",
        "in -5m",
        "at 99",
        "$(rm)",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=30), NASTY), max_size=12).map("".join)


@given(TEXT)
@settings(max_examples=400, deadline=None)
def test_the_parser_only_ever_explains(text: str) -> None:
    try:
        draft = parse_request(text, now=NOW, tz=BERLIN, default_length=timedelta(minutes=30))
    except RequestError as error:
        explanation = str(error)
    else:
        explanation = ""
    if explanation:
        assert "\n" not in explanation
        return
    if draft.start is not None:
        assert draft.end is not None
        assert draft.end > draft.start
        assert draft.start >= NOW - timedelta(minutes=5)


@given(TEXT, st.lists(st.dictionaries(st.text(max_size=10), st.text(max_size=20)), max_size=3))
@settings(max_examples=300, deadline=None)
def test_reading_a_command_never_fails(text: str, mentions: list[dict[str, str]]) -> None:
    incoming = Activity().deserialize(
        {
            "type": "message",
            "text": text,
            "recipient": {"id": "28:bot"},
            "entities": [
                {"type": "mention", "text": m.get("t", ""), "mentioned": m} for m in mentions
            ],
        }
    )
    command = parse_command(command_text(incoming))
    assert command.word == command.word.lower()


# -- whole payloads against a running bot --------------------------------------------------------


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    sink = Sink()
    app = start({}, tmp_path_factory.mktemp("hostile"))
    yield app.base, sink.url
    output = app.stop()
    sink.close()
    assert "Traceback" not in output, output[-3000:]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            [
                "message",
                "invoke",
                "conversationUpdate",
                "installationUpdate",
                "event",
                "typing",
                "messageReaction",
                "bogus",
                "",
            ]
        )
        | JSON,
        "text": TEXT | JSON,
        "value": JSON,
        "from": JSON,
        "conversation": JSON,
        "recipient": JSON,
        "entities": JSON,
        "channelData": JSON,
        "locale": TEXT,
        "localTimezone": TEXT,
        "localTimestamp": TEXT,
        "replyToId": TEXT,
        "membersAdded": JSON,
        "action": TEXT,
    },
)


@given(FIELDS)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_activity_payload_gets_a_clean_answer(
    running: tuple[str, str], fields: dict[str, Any]
) -> None:
    base, sink = running
    payload = activity("/meet Standup", service_url=sink) | fields
    payload["serviceUrl"] = sink  # replies only ever go to the local sink
    response = httpx.post(f"{base}/api/messages", json=payload, timeout=20)
    # 501 is Bot Framework's own answer to an invoke a bot does not implement.
    unsupported_invoke = response.status_code == 501 and payload.get("type") == "invoke"
    assert response.status_code < 500 or unsupported_invoke, response.text


@pytest.mark.parametrize(
    "text",
    [
        "/meet " + "x" * 50_000,
        "/meet \x00\x01\x02 Standup \x1b[2J tomorrow 9am",
        "/meet \u202eputeerts\u202c tomorrow 9am",
        "/meet 🎉🎉 party 🎉 tomorrow 9am",
        "<at>Meet meet Standup tomorrow 9am",
        "<at></at><at>",
    ],
)
def test_absurd_text_gets_a_friendly_reply(running: tuple[str, str], text: str) -> None:
    base, sink = running
    response = httpx.post(f"{base}/api/messages", json=activity(text, service_url=sink), timeout=20)
    assert response.status_code in (200, 201)


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"x" * 300_000, {"Content-Type": "application/json"}, 413),
        (b"\xff\xfe garbage", {"Content-Type": "application/json"}, 400),
        (json.dumps({"type": "message"}).encode(), {"Content-Type": "text/xml"}, 415),
        (b"{}", {}, 415),
    ],
)
def test_broken_envelopes_get_a_clean_4xx(
    running: tuple[str, str], body: bytes, headers: dict[str, str], status: int
) -> None:
    base, _ = running
    response = httpx.post(f"{base}/api/messages", content=body, headers=headers, timeout=20)
    assert response.status_code == status
    assert httpx.get(f"{base}/healthz").status_code == 200  # and the bot is still there
