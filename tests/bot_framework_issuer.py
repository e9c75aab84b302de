"""Local stand-ins for Bot Framework's token issuer (OpenID metadata, JWKS and signed tokens)
and for the login the bot gets its own Bot Connector tokens from.

Served from a thread, so that it can hang or go away without involving the test's event loop.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sandbox.tls import make_certificate

ISSUER = "https://api.botframework.com"

# What goes wrong with the issuer: it refuses connections, never answers, or answers 500.
Outage = Literal["down", "hangs", "500"]


class BotFrameworkIssuer:
    def __init__(self, *, issuer: str = ISSUER) -> None:
        self.issuer = issuer  # what its tokens' `iss` says unless told otherwise
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = uuid.uuid4().hex
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        # Bot Framework lists, per key, the channels it may sign for.
        self._jwks = {
            "keys": [{**jwk, "kid": self.key_id, "use": "sig", "endorsements": ["msteams"]}]
        }
        self.requests = 0  # metadata and key requests answered (or left hanging)
        self._hanging = threading.Event()  # set: hanging requests give up
        self._outage: Outage | None = None
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.requests += 1
                if stand_in._outage == "hangs":
                    stand_in._hanging.wait(30)
                    return
                if stand_in._outage == "500":
                    self.send_error(500)
                    return
                if self.path == "/keys":
                    body: dict[str, Any] = stand_in._jwks
                else:
                    body = {
                        "issuer": stand_in.issuer,
                        "jwks_uri": f"{stand_in.origin}/keys",
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._handler = Handler
        self._server: ThreadingHTTPServer | None = None
        self._serve(port=0)
        self.origin = f"http://127.0.0.1:{self._port}"
        self.metadata_url = f"{self.origin}/.well-known/openidconfiguration"

    def _serve(self, port: int) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler)
        self._port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def fail(self, outage: Outage) -> None:
        """Start an outage: metadata and keys are out of reach until `recover`."""
        self._outage = outage
        self._hanging.clear()
        if outage == "down":
            self.close()

    def recover(self) -> None:
        """End the outage: the same URLs answer again."""
        self._outage = None
        self._hanging.set()
        if self._server is None:
            self._serve(self._port)

    def close(self) -> None:
        self._hanging.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def token(
        self,
        *,
        audience: str,
        service_url: str,
        issuer: str | None = None,
        lifetime: int = 3600,
        key: rsa.RSAPrivateKey | None = None,
        key_id: str | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer or self.issuer,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now - 10,
            "iat": now - 10,
            "exp": now + lifetime,
        }
        return jwt.encode(
            claims, key or self.key, algorithm="RS256", headers={"kid": key_id or self.key_id}
        )


class BotLogin:
    """Entra ID's part for the bot's app: client-credential tokens for the Bot Connector.

    HTTPS (MSAL accepts no other authority), with a certificate in `directory` that
    `ca_bundle` names; MSAL's requests session trusts it through REQUESTS_CA_BUNDLE.
    """

    def __init__(self, directory: Path) -> None:
        certificate = make_certificate(directory)
        self.ca_bundle = str(certificate.cert_path)
        self.issued = 0  # access tokens handed out
        login = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the tenant's OpenID configuration
                tenant = login.url
                self._json(
                    {
                        "issuer": f"{tenant}/v2.0",
                        "authorization_endpoint": f"{tenant}/oauth2/v2.0/authorize",
                        "token_endpoint": f"{tenant}/oauth2/v2.0/token",
                    }
                )

            def do_POST(self) -> None:  # the token endpoint
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                login.issued += 1
                self._json(
                    {"token_type": "Bearer", "expires_in": 3600, "access_token": "bot-token"}
                )

            def _json(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = certificate.server_context().wrap_socket(
            self._server.socket, server_side=True
        )
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}/botframework.com"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
