"""Logging: one JSON object per line live, readable lines in sandbox, turn context on every line.

Nothing secret is written: code never logs tokens, codes, passcodes or join links, the access log
leaves out query strings, and a last filter masks anything shaped like a JWT or a join link.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import UTC, datetime

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from graph.client import current_client_request_id

# The activity being handled, for every line logged while it is (Graph's client-request-id
# comes from graph.client the same way).
activity_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "activity_id", default=None
)

_SECRETS = re.compile(
    r"eyJ[\w-]+\.[\w-]+\.[\w-]*"  # JWTs: access, id and Bot Framework tokens
    r"|https://teams\.microsoft\.com/l/meetup-join/\S+"  # join links
    r"|(?i:(?:passcode|code|refresh_token|client_secret|code_verifier)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,]+"
)


class _TurnContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.activity_id = activity_id.get()
        record.client_request_id = current_client_request_id.get()
        return True


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SECRETS.sub("<redacted>", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("activity_id", "client_request_id"):
            if value := getattr(record, key, None):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = _SECRETS.sub("<redacted>", self.formatException(record.exc_info))
        return json.dumps(entry)


class ReadableFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s%(turn)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = [
            f"{key}={value}"
            for key in ("activity_id", "client_request_id")
            if (value := getattr(record, key, None))
        ]
        record.turn = f" [{' '.join(ids)}]" if ids else ""
        return _SECRETS.sub("<redacted>", super().format(record))


def configure_logging(level: str, *, structured: bool) -> None:
    """Root logging for the process (app.py calls this once)."""
    handler = logging.StreamHandler()
    handler.addFilter(_TurnContext())
    handler.addFilter(_Redact())
    handler.setFormatter(JsonFormatter() if structured else ReadableFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every URL at INFO; Graph calls are logged by graph.client without user ids.
    logging.getLogger("httpx").setLevel(logging.WARNING)


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path without its query string, status, time."""

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)  # else aiohttp skips the call altogether

    def log(self, request: BaseRequest, response: StreamResponse, time_taken: float) -> None:
        self.logger.info(
            "%s %s -> %d in %.0f ms",
            request.method,
            request.path,  # the query (e.g. a sign-in state) is never written
            response.status,
            time_taken * 1000,
        )
