"""`python app.py` against clients that misbehave at the HTTP level, and a damaged database:
slow bodies, too many connections, foreign Host headers (DNS rebinding), a corrupt file."""

from __future__ import annotations

import json
import resource
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.web.routes import BODY_TIMEOUT_SECONDS
from bot.web.server import MAX_OPEN_CONNECTIONS
from tests.conftest import ALEX, activity, complete_sign_in, sign_in_url
from tests.processes import RunningApp, run_until_it_stops, start
from tests.sink import Sink


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


# -- slow clients -----------------------------------------------------------------------------


def test_a_body_that_dribbles_in_gets_408_while_healthz_answers(sandbox_app: RunningApp) -> None:
    port = port_of(sandbox_app)
    health_seconds: list[float] = []
    answer = b""
    with socket.create_connection(("127.0.0.1", port)) as slow:
        slow.sendall(head(port, 10_000))
        started = time.monotonic()
        # One byte every half second: the 10,000 promised would take well over an hour.
        while time.monotonic() - started < BODY_TIMEOUT_SECONDS + 5:
            readable, _, _ = select.select([slow], [], [], 0.5)
            if readable:
                answer = slow.recv(4096)
                break
            slow.sendall(b" ")
            asked = time.monotonic()
            assert httpx.get(f"{sandbox_app.base}/healthz", timeout=5).status_code == 200
            health_seconds.append(time.monotonic() - asked)
        waited = time.monotonic() - started

    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"Connection: close" in answer
    assert BODY_TIMEOUT_SECONDS - 1 <= waited <= BODY_TIMEOUT_SECONDS + 3
    assert max(health_seconds) < 1.0


@pytest.mark.parametrize(
    "shortfall",
    [pytest.param(50, id="body-shorter-than-its-length"), pytest.param(-10, id="longer")],
)
def test_a_content_length_that_lies_gets_a_4xx_or_a_closed_connection(
    sandbox_app: RunningApp, sink: Sink, shortfall: int
) -> None:
    port = port_of(sandbox_app)
    body = json.dumps(activity("/help", service_url=sink.url)).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as liar:
        liar.sendall(head(port, len(body) + shortfall) + body)
        liar.shutdown(socket.SHUT_WR)  # and then says no more
        answer = liar.recv(4096)
    status = int(answer.split(b" ", 2)[1]) if answer else None
    assert status is None or 400 <= status < 500, answer
    assert httpx.get(f"{sandbox_app.base}/healthz").status_code == 200


@pytest.fixture
def descriptors_for_the_test() -> None:
    """Enough file descriptors in this process to open more connections than the bot takes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * MAX_OPEN_CONNECTIONS + 100
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"needs {wanted} file descriptors, the limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@pytest.mark.usefixtures("descriptors_for_the_test")
def test_connections_beyond_the_cap_get_503_and_the_bot_recovers_when_they_go(
    sandbox_app: RunningApp,
) -> None:
    port = port_of(sandbox_app)
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(MAX_OPEN_CONNECTIONS)]
    try:
        deadline = time.monotonic() + 5
        while True:  # the bot sets each connection up a moment after the kernel accepts it
            with socket.create_connection(("127.0.0.1", port), timeout=5) as one_more:
                one_more.sendall(
                    f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
                )
                answer = one_more.recv(4096)
            if answer.startswith(b"HTTP/1.1 503 ") or time.monotonic() > deadline:
                break
    finally:
        for connection in idle:
            connection.close()

    assert answer.startswith(b"HTTP/1.1 503 "), answer
    assert b"Retry-After: 1" in answer
    deadline = time.monotonic() + 5
    while httpx.get(f"{sandbox_app.base}/healthz").status_code != 200:
        assert time.monotonic() < deadline, "the bot did not serve again after the flood"
        time.sleep(0.1)
    assert "connections open: refusing new ones" in sandbox_app.output()


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
            "MicrosoftAppTenantId": "22222222-2222-2222-2222-222222222222",
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


# -- a damaged database -------------------------------------------------------------------------


def test_a_corrupt_database_stops_the_start_with_one_clear_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    database = data / "bot.sqlite3"
    garbage = b"this is not a database, whatever it once was\n" * 200
    database.write_bytes(garbage)

    result = run_until_it_stops({"DATA_DIR": str(data)}, tmp_path)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.endswith(
        f"cannot open the bot's database at {database}: file is not a database; "
        "move it aside or restore a backup"
    )
    assert database.read_bytes() == garbage  # left as it was, for whoever looks into it
