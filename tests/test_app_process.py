"""`python app.py` as a real process: mode on the first log line and /healthz, clean shutdown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.processes import RunningApp, run_until_it_stops, start


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
        "MicrosoftAppTenantId": "22222222-2222-2222-2222-222222222222",
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


def test_configuration_errors_stop_the_start_with_one_clear_line(tmp_path: Path) -> None:
    result = run_until_it_stops({"HOST": "0.0.0.0"}, tmp_path)
    assert result.returncode == 2
    assert "loopback" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_token_cache_key_stops_the_start_with_one_line(tmp_path: Path) -> None:
    good = Fernet.generate_key().decode()
    result = run_until_it_stops({"TOKEN_CACHE_KEY": f"{good},{good[:-2]}"}, tmp_path)

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "configuration error: TOKEN_CACHE_KEY must hold Fernet keys" in line
    assert "key 2 of 2 is not one" in line
    assert good[:-2] not in result.stderr


def test_a_damaged_sandbox_key_file_stops_the_start_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "token-cache.key").write_bytes(b"half a key")

    result = run_until_it_stops({"DATA_DIR": str(data)}, tmp_path)

    assert result.returncode == 1
    assert "token-cache.key holds no Fernet key" in result.stderr
    assert "Traceback" not in result.stderr
