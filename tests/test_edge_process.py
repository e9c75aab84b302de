"""`python app.py` against clients that misbehave at the HTTP level: foreign Host headers
(DNS rebinding)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.conftest import ALEX, activity, complete_sign_in, sign_in_url
from tests.sink import Sink
from tests.test_app_process import RunningApp, start


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    sink = Sink()
    yield sink
    sink.close()


@pytest.fixture(scope="module")
def sandbox_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    app = start({}, tmp_path_factory.mktemp("edge"))
    yield app
    output = app.stop()
    assert "Traceback" not in output, output[-3000:]


def port_of(app: RunningApp) -> int:
    return int(app.base.rsplit(":", 1)[1])


def head(port: int, content_length: int) -> bytes:
    return (
        f"POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n"
    ).encode()


# -- DNS rebinding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1.evil.example:{port}",
        "localhost.evil.example",
        "127.0.0.2:{port}",
        "0.0.0.0:{port}",
        "localhost:{port}@evil.example",
        "[::1].evil.example",
        "",
    ],
)
def test_in_sandbox_mode_a_foreign_host_header_is_refused(
    sandbox_app: RunningApp, sink: Sink, host: str
) -> None:
    headers = {"Host": host.format(port=port_of(sandbox_app))}
    payload = activity("/help", service_url=sink.url, conversation_id="a:rebinding")

    health = httpx.get(f"{sandbox_app.base}/healthz", headers=headers)
    message = httpx.post(f"{sandbox_app.base}/api/messages", json=payload, headers=headers)

    assert health.status_code == message.status_code == 421
    assert "sandbox mode" in message.text
    assert not [a for a in sink.activities if a["conversation"]["id"] == "a:rebinding"]


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:{port}", "LocalHost:{port}", "127.0.0.1", "127.0.0.1:{port}", "[::1]"],
)
def test_in_sandbox_mode_loopback_names_are_served(sandbox_app: RunningApp, host: str) -> None:
    headers = {"Host": host.format(port=port_of(sandbox_app))}
    assert httpx.get(f"{sandbox_app.base}/healthz", headers=headers).status_code == 200


async def test_in_sandbox_mode_signing_in_through_localhost_still_works(
    sandbox_app: RunningApp, sink: Sink
) -> None:
    payload = activity("/signin", service_url=sink.url, conversation_id="a:sign-in")
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{sandbox_app.base}/api/messages", json=payload)
    assert response.status_code in (200, 201)
    [card] = [a for a in sink.activities if a["conversation"]["id"] == "a:sign-in"]
    link = sign_in_url(card)
    assert link.startswith("http://localhost:")  # PUBLIC_URL's default in sandbox mode

    page = await complete_sign_in(link, username=ALEX.upn)

    assert page.status_code == 200, page.text
    assert "You&#x27;re signed in" in page.text


def test_in_live_mode_the_host_header_is_not_checked(tmp_path: Path) -> None:
    app = start(
        {
            "PUBLIC_URL": "https://meet.example.com",
            "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
            "MicrosoftAppId": "11111111-1111-1111-1111-111111111111",
            "MicrosoftAppPassword": "not-a-real-secret",
            "HOST": "127.0.0.1",
        },
        tmp_path,
    )
    try:
        headers = {"Host": "meet.example.com"}  # behind a proxy, the public name arrives
        health = httpx.get(f"{app.base}/healthz", headers=headers)
        message = httpx.post(
            f"{app.base}/api/messages",
            json=activity("/help", service_url="http://127.0.0.1:9"),
            headers=headers,
        )
    finally:
        output = app.stop()
    assert health.status_code == 200
    assert message.status_code == 401  # Bot Framework authentication decides, not Host
    assert "Traceback" not in output
