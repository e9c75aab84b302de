"""A pytest plugin: any test whose process opens a connection beyond this machine fails.

The suite stands in for Microsoft's services locally (sandbox Graph and IdP, a recording Bot
Connector, a token issuer); a test that reached the real ones would pass or fail on the network,
not on the code, and could hide a turn that failed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "localhost.localdomain"})


class LeftTheMachine(ConnectionRefusedError):
    """A test tried to reach a host that is not this machine's loopback interface."""


def _is_local(host: object, *, bind: bool = False) -> bool:
    if host is None or host == "":
        return bind  # getaddrinfo(None, port) asks for an address to listen on
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False  # a name other than localhost: resolving it is already leaving
    return address.is_loopback or (bind and address.is_unspecified)


_guarded: list[str] = []  # what the running test tried to reach


@pytest.fixture(autouse=True)
def _no_network_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def refuse(what: str) -> LeftTheMachine:
        _guarded.append(what)
        return LeftTheMachine(f"tests stay on this machine; this one tried to reach {what}")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local(host, bind=True):
            raise refuse(host.decode("ascii", "replace") if isinstance(host, bytes) else str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    def _check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise refuse(f"{address[0]}:{address[1]}")

    def connect(sock: socket.socket, address: Any) -> None:
        _check(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        _check(sock, address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    _guarded.clear()
    yield
    # Code under test may catch the refusal (a turn's error handler does); the test still fails.
    if _guarded:
        reached = ", ".join(dict.fromkeys(_guarded))
        _guarded.clear()
        pytest.fail(f"this test tried to leave the machine: {reached}", pytrace=False)
