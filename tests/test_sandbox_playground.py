"""`python -m sandbox.playground` (what `make run` runs): a taken port is named, with its option."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from sandbox import playground
from tests.processes import free_port


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else is already listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port: int = sock.getsockname()[1]
        yield port


@pytest.mark.parametrize("option", ["--bot-port", "--sandbox-port", "--playground-port"])
def test_a_taken_port_is_named_with_the_option_that_chooses_another(
    option: str, taken_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    ports = {name: free_port() for name in ("--bot-port", "--sandbox-port", "--playground-port")}
    ports[option] = taken_port

    status = playground.main([part for name, port in ports.items() for part in (name, str(port))])

    assert status == 1
    message = capsys.readouterr().err
    assert f"  {taken_port} for " in message
    assert f"({option})" in message
    assert f'make run ARGS="{option} PORT"' in message
    assert all(f"({other})" not in message for other in ports if other != option)
