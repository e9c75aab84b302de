"""Separate processes: `python app.py` (started and waited for, or run to its exit), and the
sandbox for several instances to share (`python -m sandbox`)."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

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
    port = int(env.get("PORT") or free_port())
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


@dataclass
class SandboxProcess:
    """`python -m sandbox`: one Entra ID and Graph for bot instances in other processes."""

    process: subprocess.Popen[bytes]
    settings: dict[str, str]  # the endpoint settings it printed for the bot
    log: Path

    @property
    def origin(self) -> str:
        return self.settings["GRAPH_BASE_URL"].removesuffix("/graph/v1.0")

    def graph(self) -> dict[str, Any]:
        """What its Graph holds: {"created": n, "meetings": [...]}."""
        state: dict[str, Any] = httpx.get(f"{self.origin}/sandbox/graph", timeout=10).json()
        return state

    def signing_key(self) -> dict[str, Any]:
        """The token service's public JWK, from its discovery keys, as a Bot Connector gets it."""
        keys = httpx.get(
            f"{self.settings['AUTH_AUTHORITY']}/discovery/v2.0/keys",
            verify=ssl.create_default_context(cafile=self.settings["REQUESTS_CA_BUNDLE"]),
            timeout=10,
        ).json()
        [key] = keys["keys"]
        return dict(key)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=15)
        assert self.process.returncode == 0, self.log.read_text(errors="replace")


def start_sandbox(tmp_path: Path, *options: str) -> SandboxProcess:
    """`python -m sandbox` on free ports, with `options`; returns once its settings are out."""
    env_file = tmp_path / "sandbox.env"
    log = tmp_path / "sandbox.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", "0", "--env-file", str(env_file), *options],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 20
    while not env_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise AssertionError(f"the sandbox did not start:\n{log.read_text()}")
        time.sleep(0.05)
    settings = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    return SandboxProcess(process, settings, log)
