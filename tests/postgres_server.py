"""A throwaway PostgreSQL server for the tests and the load benchmark: this machine's own
binaries (initdb, pg_ctl) in a temporary folder, on a free loopback port, with a fresh database
for each test that asks."""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from tests.processes import free_port

INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) are not on PATH or in "
    "/usr/lib/postgresql/<version>/bin; the PostgreSQL tests and the load benchmark start a "
    "throwaway server with them. Install them with `apt-get install postgresql` (Debian, "
    "Ubuntu; `make test` does so when run as root) or your system's PostgreSQL server package."
)
# initdb refuses to run as root; as root, the server runs as one of these (the first that exists).
_SERVER_USERS = ("postgres", "nobody")
_databases = itertools.count()


class PostgresMissing(Exception):
    """No server binaries, or no unprivileged user to run them as."""


def find_binaries(
    path: str | None = None, installs: Path = Path("/usr/lib/postgresql")
) -> Path | None:
    """The folder holding initdb and pg_ctl: `path` (default: PATH) first, then the newest
    install under `installs` (Debian and Ubuntu put each major version in its own folder)."""
    initdb = shutil.which("initdb", path=path)
    if initdb and shutil.which("pg_ctl", path=path):
        return Path(initdb).parent
    installed = [
        folder
        for folder in installs.glob("*/bin")
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists()
    ]
    return max(installed, key=_version, default=None)


def _version(folder: Path) -> tuple[int, ...]:
    name = folder.parent.name
    return tuple(int(part) for part in name.split(".") if part.isdigit())


@dataclass
class PostgresServer:
    """One running server; `stop` and `start` let a test take it away and bring it back."""

    binaries: Path
    root: Path
    port: int
    user: str | None  # the unprivileged user the server runs as, when the tests run as root
    running: bool = False

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{args[0]} {args[-1]} failed ({done.returncode}): {done.stderr.strip()}\n{tail}"
            )

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.root / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.root / "data"),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.running = True

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        self.running = False


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in _SERVER_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PostgresMissing(
        "running as root, and there is no 'postgres' or 'nobody' user to run PostgreSQL"
    )


@contextlib.contextmanager
def throwaway_server() -> Iterator[PostgresServer]:
    """A running server; stopped and deleted on leaving. PostgresMissing if it cannot start."""
    binaries = find_binaries()
    if binaries is None:
        raise PostgresMissing(INSTALL_HINT)
    user = _server_user()
    # Not under pytest's own temporary folder: that one is private to the user running the tests.
    root = Path(tempfile.mkdtemp(prefix="bot-postgres-"))
    if user is not None:
        record = pwd.getpwnam(user)
        os.chown(root, record.pw_uid, record.pw_gid)
    server = PostgresServer(binaries, root, free_port(), user)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session; stopped and deleted at its end."""
    try:
        with throwaway_server() as server:
            yield server
    except PostgresMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """The URL of a database of this test's own, dropped after it."""
    name = f"test_{os.getpid()}_{next(_databases)}"
    admin = await asyncpg.connect(postgres_server.admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield postgres_server.url(name)
    try:
        admin = await asyncpg.connect(postgres_server.admin_url)
    except OSError:
        return  # the test stopped the server; its data goes with the folder
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()
