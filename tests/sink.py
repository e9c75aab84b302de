"""A Bot Connector stand-in served from a thread, for bots running as separate processes, and
the check a Bot Connector makes of the token a bot sends with each activity."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

from sandbox.identity import BOT_FRAMEWORK_RESOURCE

# The issuer Entra ID's v1.0 app tokens carry: the token service's tenant.
V1_ISSUER = "https://sts.windows.net/{tenant}/"


@dataclass
class BotTokenCheck:
    """What the Bot Connector accepts: a bearer token from the token service (its signing keys),
    for Bot Framework (aud https://api.botframework.com), issued by the bot's tenant to the bot's
    app id (appid, or azp in a v2.0 token), and not expired."""

    keys: dict[str, Any]  # the token service's public JWK
    app_id: str
    tenant_id: str
    refused: int = 0  # requests answered 401

    def problem(self, authorization: str | None) -> str | None:
        """Why `authorization` is refused, or None when it is a valid bot token."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme != "Bearer" or not token:
            return "no bearer token"
        try:
            claims = jwt.decode(
                token,
                jwt.PyJWK(self.keys, algorithm="RS256").key,  # PyJWT 2.8 takes the key itself
                algorithms=["RS256"],
                audience=BOT_FRAMEWORK_RESOURCE,
                issuer=V1_ISSUER.format(tenant=self.tenant_id),
                options={"require": ["exp", "nbf", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            return type(exc).__name__
        if (claims.get("appid") or claims.get("azp")) != self.app_id:
            return "a token for another app"
        return None


class Sink:
    """Accepts and records whatever a bot sends; `delay` holds back each answer to a message
    (not to a typing indicator) that long. With `check`, only what a valid bot token comes with:
    anything else is answered 401 and not recorded."""

    def __init__(self, *, delay: float = 0.0, check: BotTokenCheck | None = None) -> None:
        self.activities: list[dict[str, Any]] = []
        self.paths: list[str] = []  # the method and path each activity came by
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if check is not None and check.problem(self.headers.get("Authorization")):
                    check.refused += 1
                    self._refuse()
                    return
                sent: dict[str, Any] = {}
                if self.command in ("POST", "PUT") and raw:
                    with contextlib.suppress(ValueError):
                        sent = json.loads(raw)
                if sent.get("type") != "typing":
                    if sent:
                        sink.activities.append(sent)
                        sink.paths.append(f"{self.command} {self.path}")
                    time.sleep(delay)
                body = b'{"id": "1"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _refuse(self) -> None:
                body = b'{"error": {"code": "Unauthorized", "message": "Authorization denied"}}'
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_GET = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
