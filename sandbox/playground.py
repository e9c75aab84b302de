"""Microsoft 365 Agents Playground: install it, start it against the bot, and run both for dev.

`python -m sandbox.playground` starts the bot in sandbox mode and the Playground beside it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PACKAGE = "@microsoft/m365agentsplayground"
VERSION = "0.2.28"
ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".playground"  # git-ignored
BOT_PORT = 3978  # the defaults of PORT and SANDBOX_PORT in bot/settings.py
SANDBOX_PORT = 3979
PLAYGROUND_PORT = 56150


class PlaygroundError(RuntimeError):
    """Node.js is missing, npm failed, or the Playground did not come up."""


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def npm_package(package: str, version: str, home: Path = HOME) -> Path:
    """Install an npm package into `home` (once, pinned) and return its folder."""
    folder = home.joinpath("node_modules", *package.split("/"))
    if not (folder / "package.json").exists():
        if not node_available():
            raise PlaygroundError(f"Node.js and npm are needed for {package}.")
        home.mkdir(parents=True, exist_ok=True)
        command = ["npm", "install", "--prefix", str(home), "--no-audit", "--no-fund"]
        result = subprocess.run(
            [*command, "--loglevel=error", f"{package}@{version}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not (folder / "package.json").exists():
            raise PlaygroundError(f"npm could not install {package}@{version}:\n{result.stderr}")
    return folder


def install(home: Path = HOME) -> Path:
    """Install the pinned Playground into `home` (once) and return its CLI script."""
    cli = npm_package(PACKAGE, VERSION, home) / "cli.js"
    # The CLI opens a browser and exits when it finds no opener; give it one that does nothing.
    opener = home / "bin" / "xdg-open"
    if not opener.exists():
        opener.parent.mkdir(parents=True, exist_ok=True)
        opener.write_text("#!/bin/sh\nexit 0\n")
        opener.chmod(0o755)
    return cli


def start(
    bot_endpoint: str, *, port: int = PLAYGROUND_PORT, home: Path = HOME, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start the Playground (channel msteams) against `bot_endpoint`; return once it answers."""
    cli = install(home)
    env = {**os.environ, "PATH": f"{home / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [
        "node",
        str(cli),
        "--app-endpoint",
        bot_endpoint,
        "--channel-id",
        "msteams",
        "--port",
        str(port),
        "--disable-telemetry",
    ]
    with (log or Path(os.devnull)).open("ab") as output:  # the child keeps its own copy
        # It writes its own log into devTools/ under its working directory: keep that out of
        # the checkout.
        process = subprocess.Popen(
            command,
            env=env,
            cwd=home,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}/_internal/v1/config", process, "the Agents Playground")
    except BaseException:  # Ctrl-C or SIGTERM while waiting: the caller has no handle yet
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PlaygroundError(f"{what} exited with status {process.returncode}")
        try:
            httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
        else:
            return
    stop(process)
    raise PlaygroundError(f"{what} did not answer at {url} within {timeout:.0f} s")


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ports_taken_message(taken: dict[str, tuple[int, str]]) -> str:
    """Which ports are taken, by what they are for, and the options that choose others."""
    lines = [f"  {port} for {what} ({option})\n" for option, (port, what) in taken.items()]
    options = " ".join(f"{option} PORT" for option in taken)
    ports, others = ("ports", "others") if len(taken) > 1 else ("port", "another")
    return (
        f"error: {ports} already in use (is the bot already running?):\n"
        f"{''.join(lines)}"
        f'Choose {others} with make run ARGS="{options}"\n'
        f"(or python -m sandbox.playground {options}).\n"
    )


def _exit_once(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.playground",
        description="Run the bot in sandbox mode with the Playground.",
    )
    parser.add_argument(
        "--bot-port",
        type=int,
        default=int(os.environ.get("PORT") or BOT_PORT),
        help=f"the bot's /api/messages and /healthz (default: $PORT, else {BOT_PORT})",
    )
    parser.add_argument(
        "--sandbox-port",
        type=int,
        default=int(os.environ.get("SANDBOX_PORT") or SANDBOX_PORT),
        help=f"the sandbox's Graph and sign-in page (default: $SANDBOX_PORT, else {SANDBOX_PORT})",
    )
    parser.add_argument(
        "--playground-port",
        type=int,
        default=PLAYGROUND_PORT,
        help=f"the Agents Playground's web page (default: {PLAYGROUND_PORT})",
    )
    args = parser.parse_args(argv)
    ports = {
        "--bot-port": (args.bot_port, "the bot"),
        "--sandbox-port": (args.sandbox_port, "the sandbox's Graph and sign-in page"),
        "--playground-port": (args.playground_port, "the Agents Playground"),
    }
    taken = {option: used for option, used in ports.items() if _port_in_use(used[0])}
    if taken:
        sys.stderr.write(_ports_taken_message(taken))
        return 1
    # Turn SIGTERM into the same clean exit as Ctrl-C, so both children are always stopped.
    signal.signal(signal.SIGTERM, _exit_once)

    bot = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        env={**os.environ, "PORT": str(args.bot_port), "SANDBOX_PORT": str(args.sandbox_port)},
        start_new_session=True,
    )
    playground = None
    try:
        _wait_for(f"http://127.0.0.1:{args.bot_port}/healthz", bot, "the bot")
        playground = start(
            f"http://localhost:{args.bot_port}/api/messages", port=args.playground_port
        )
        sys.stderr.write(
            f"\nAgents Playground: open http://localhost:{args.playground_port} and type "
            "'/meet Standup tomorrow 9am'. Ctrl-C stops both.\n\n"
        )
        if bot.wait() != 0:
            sys.stderr.write(f"error: the bot stopped with status {bot.returncode}\n")
            return 1
    except KeyboardInterrupt:
        pass
    except PlaygroundError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    finally:
        # A second signal must not interrupt stopping the children.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if playground is not None:
            stop(playground)
        stop(bot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
