"""A Bot Connector stand-in served from a thread, for bots running as separate processes."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Sink:
    """Accepts and records whatever a bot sends; `delay` holds back each answer to a message
    (not to a typing indicator) that long."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.activities: list[dict[str, Any]] = []
        self.paths: list[str] = []  # the method and path each activity came by
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
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
