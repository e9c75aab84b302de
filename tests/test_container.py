"""The container's entry command (the Dockerfile's CMD, ENV and HEALTHCHECK), run here as is."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from tests.processes import ROOT, free_port

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instruction(name: str) -> list[str]:
    """The lines of every `name` instruction, continuation lines joined."""
    text = DOCKERFILE.replace("\\\n", " ")
    return [line[len(name) :].strip() for line in text.splitlines() if line.startswith(name + " ")]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in instruction("ENV"):
        env.update(part.split("=", 1) for part in shlex.split(line))  # type: ignore[misc]
    return env


def entry_command() -> list[str]:
    [cmd] = instruction("CMD")
    command: list[str] = json.loads(cmd)
    return command


def health_check() -> list[str]:
    [check] = instruction("HEALTHCHECK")
    command: list[str] = json.loads(check.split(" CMD ", 1)[1])
    return command


def run_image_command(
    command: list[str], env: dict[str, str], tmp_path: Path
) -> subprocess.Popen[bytes]:
    """`command` as the image runs it: its ENV, from an empty folder, tools from this venv."""
    bin_dir = Path(sys.executable).parent
    full_env = (
        {k: v for k, v in os.environ.items() if not k.startswith("Microsoft")}
        | image_env()
        | {"DATA_DIR": str(tmp_path / "data"), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
        | {"HOME": str(tmp_path)}  # gunicorn 27 makes its control socket in ~/.gunicorn
        | {"PYTHONPATH": str(ROOT)}  # the image installs app.py; here it is the checkout's
        | env
    )
    with (tmp_path / "out.log").open("wb") as output:
        return subprocess.Popen(
            command, cwd=tmp_path, env=full_env, stdout=output, stderr=subprocess.STDOUT
        )


def wait_or_kill(server: subprocess.Popen[bytes]) -> None:
    """Wait for gunicorn to exit. One that does not is killed, and the test fails, rather than
    leaving it running for the rest of the suite (its workers stop once their parent is gone)."""
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        raise


UNSIGNED = {
    "type": "message",
    "id": "1",
    "channelId": "msteams",
    "serviceUrl": "https://smba.trafficmanager.net/emea/",
    "from": {"id": "29:someone"},
    "recipient": {"id": "28:bot"},
    "conversation": {"id": "a:chat"},
    "text": "/help",
}
LIVE = {
    "MicrosoftAppId": "00000000-0000-0000-0000-00000000b07a",
    "MicrosoftAppPassword": "not-a-real-secret",
    "MicrosoftAppTenantId": "00000000-0000-0000-0000-0000000000001",
    "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
    "PUBLIC_URL": "https://meet.example.com",
}


def test_the_image_command_serves_two_workers_passes_its_health_check_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = LIVE | {"PORT": str(port), "WEB_CONCURRENCY": "2"}
    server = run_image_command(entry_command(), env, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, (tmp_path / "out.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "out.log").read_text()
                time.sleep(0.2)
        check = subprocess.run(
            health_check(),
            env=os.environ | image_env() | {"PORT": str(port)},
            capture_output=True,
            timeout=30,
            check=False,
        )
        unsigned = httpx.post(f"http://127.0.0.1:{port}/api/messages", json=UNSIGNED)
    finally:
        server.send_signal(signal.SIGTERM)  # what a platform sends to stop a container
        wait_or_kill(server)
    log = (tmp_path / "out.log").read_text()

    assert (health.status_code, health.json()["mode"]) == (200, "live"), log
    assert check.returncode == 0, check.stderr
    assert unsigned.status_code == 401  # live: Bot Framework's authentication is on
    assert log.count("Booting worker") == 2
    assert server.returncode == 0, log
    assert "Traceback" not in log


def test_sandbox_mode_refuses_to_serve_beyond_loopback_in_the_image(tmp_path: Path) -> None:
    # Without MicrosoftAppId anyone could post activities; the image listens on 0.0.0.0.
    server = run_image_command(entry_command(), {"PORT": str(free_port())}, tmp_path)
    wait_or_kill(server)
    log = (tmp_path / "out.log").read_text()

    assert server.returncode != 0, log
    assert "not a loopback address" in log
    assert "Traceback" not in log  # one line says what is wrong


def test_an_unreachable_database_stops_the_image_in_one_line_without_its_password(
    tmp_path: Path,
) -> None:
    url = f"postgresql://bot:pw-in-url@127.0.0.1:{free_port()}/bot"  # nothing listens there
    env = LIVE | {"PORT": str(free_port()), "DATABASE_URL": url}
    server = run_image_command(entry_command(), env, tmp_path)
    wait_or_kill(server)
    log = (tmp_path / "out.log").read_text()

    assert server.returncode != 0, log
    assert "cannot start: " in log
    assert "postgresql://bot:***@127.0.0.1" in log
    assert "pw-in-url" not in log
    assert "Traceback" not in log
