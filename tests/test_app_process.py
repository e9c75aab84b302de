"""`python app.py` as a real process: mode on the first log line and /healthz, clean shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningApp:
    """A `python app.py` process; its output goes to a file, so a chatty bot never blocks."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        """Ctrl-C, as a person would; returns everything the process wrote."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=15)
        output = self.output()
        assert self.process.returncode == 0, output
        return output


def start(env: dict[str, str], tmp_path: Path) -> RunningApp:
    port = free_port()
    full_env = (
        {k: v for k, v in os.environ.items() if not k.startswith("Microsoft")}
        | {"PORT": str(port), "SANDBOX_PORT": "0", "DATA_DIR": str(tmp_path / "data")}
        | env
    )
    log = tmp_path / "app.log"
    # Run from an empty folder so a developer's own .env cannot leak into the test.
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=tmp_path,
            env=full_env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    app = RunningApp(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{app.base}/healthz", timeout=1)
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
        else:
            return app
    process.kill()
    process.wait()
    raise AssertionError(f"app.py did not start:\n{app.output()}")


@pytest.fixture
def stop_later() -> Iterator[list[RunningApp]]:
    apps: list[RunningApp] = []
    yield apps
    for app in apps:
        if app.process.poll() is None:
            app.process.kill()
            app.process.wait()


def test_without_credentials_it_runs_in_sandbox_mode_and_says_so(
    tmp_path: Path, stop_later: list[RunningApp]
) -> None:
    app = start({}, tmp_path)
    stop_later.append(app)

    health = httpx.get(f"{app.base}/healthz").json()
    output = app.stop()

    assert health["mode"] == "sandbox"
    first_line = output.splitlines()[0]
    assert "mode: SANDBOX" in first_line
    assert "Traceback" not in output


def test_with_credentials_it_runs_live_and_refuses_unauthenticated_activities(
    tmp_path: Path, stop_later: list[RunningApp]
) -> None:
    env = {
        "PUBLIC_URL": "https://meet.example.com",
        "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
        "MicrosoftAppId": "11111111-1111-1111-1111-111111111111",
        "MicrosoftAppPassword": "not-a-real-secret",
        "HOST": "127.0.0.1",
    }
    app = start(env, tmp_path)
    stop_later.append(app)

    health = httpx.get(f"{app.base}/healthz").json()
    unauthenticated = httpx.post(
        f"{app.base}/api/messages",
        json={
            "type": "message",
            "text": "/meet x",
            "serviceUrl": "http://127.0.0.1:9/",
            "channelId": "msteams",
            "from": {"id": "u"},
            "conversation": {"id": "c"},
            "recipient": {"id": "b"},
        },
    )
    output = app.stop()

    assert health["mode"] == "live"
    assert unauthenticated.status_code == 401
    assert "mode: LIVE" in output.splitlines()[0]
    assert "sandbox Graph" not in output
    assert "not-a-real-secret" not in output


def run_until_it_stops(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`python app.py` that is expected to refuse to start: its exit code and output."""
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if not k.startswith("Microsoft")}
        | {"PORT": str(free_port()), "SANDBOX_PORT": "0"}
        | env,
    )


def test_configuration_errors_stop_the_start_with_one_clear_line(tmp_path: Path) -> None:
    result = run_until_it_stops({"HOST": "0.0.0.0"}, tmp_path)
    assert result.returncode == 2
    assert "loopback" in result.stderr
    assert "Traceback" not in result.stderr
