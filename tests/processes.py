"""`python app.py` as a separate process: start it and wait for /healthz, or run it to its exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

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
