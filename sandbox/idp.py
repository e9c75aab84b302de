"""A stand-in for the Microsoft identity platform (v2.0 endpoints) that MSAL's real code talks to.

Discovery, JWKS, an authorize page that works without JavaScript, and a token endpoint for the
authorization_code (with PKCE), refresh_token and client_credentials grants, answering in Entra's
formats. The browser-facing authorize page is served over plain loopback HTTP (no certificate
warning); MSAL's back channel (discovery, token) uses the sandbox's HTTPS site.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import json
import os
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

from aiohttp import web

from sandbox.client_assertions import JWT_BEARER, AssertionRefused, ClientAssertions
from sandbox.identity import (
    BOT_FRAMEWORK_RESOURCE,
    BOT_FRAMEWORK_TENANT_ID,
    CONSUMER_TENANT_ID,
    SANDBOX_CLIENT_ID,
    SandboxIdentity,
    SandboxUser,
)

SANDBOX_CLIENT_SECRET = "sandbox-client-secret"
GRAPH_RESOURCE = "https://graph.microsoft.com/"
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
CODE_LIFETIME = 600
# The refresh-token file's format: grants by the SHA-256 of their token, never the token itself.
HASHED_REFRESH_TOKENS = "refresh_token_sha256"
# Application permissions the sandbox tenant's admin has granted the sandbox client.
GRANTED_APP_ROLES = ("OnlineMeetings.ReadWrite.All",)


class OAuthError(Exception):
    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description


@dataclass(frozen=True)
class _Grant:
    user: SandboxUser
    client_id: str
    scopes: tuple[str, ...]
    redirect_uri: str = ""
    code_challenge: str = ""
    nonce: str = ""
    expires: float = 0.0


class SandboxIdentityProvider:
    """Entra-shaped OIDC provider over the sandbox directory and signing key."""

    def __init__(self, identity: SandboxIdentity, *, state_file: Path | None = None) -> None:
        self.identity = identity
        self._state_file = state_file
        self.clients = {SANDBOX_CLIENT_ID: SANDBOX_CLIENT_SECRET}  # apps with a client secret
        self.assertions = ClientAssertions(identity)  # apps with certificates, federated creds
        self.access_token_lifetime = 3600
        self.token_grants: list[str] = []  # grant types served, in order, for tests
        self.browser_origin = ""  # set by the server once it listens
        self.tls_origin = ""
        self._codes: dict[str, _Grant] = {}
        # Live grants by _token_hash(refresh token): memory holds no more than the file does.
        self._refresh_tokens: dict[str, _Grant] = self._load_refresh_tokens()
        self._changes = self._saved_changes = 0  # counts changes to _refresh_tokens
        self._save_lock = asyncio.Lock()

    async def revoke_refresh_tokens(self, oid: str) -> None:
        """What an admin's "revoke sessions" does: the user's refresh tokens stop working."""
        self._refresh_tokens = {
            digest: grant for digest, grant in self._refresh_tokens.items() if grant.user.oid != oid
        }
        self._changes += 1
        await self._save_refresh_tokens()

    def _load_refresh_tokens(self) -> dict[str, _Grant]:
        # Kept on disk (sandbox mode only) so a restarted bot's users stay signed in. Read at
        # start-up, like the signing key.
        if self._state_file is None or not self._state_file.exists():
            return {}
        stored = json.loads(self._state_file.read_text())
        hashed = HASHED_REFRESH_TOKENS in stored
        grants = {}
        for key, saved in (stored[HASHED_REFRESH_TOKENS] if hashed else stored).items():
            user = self.identity.user(saved["oid"])
            if user is not None:
                digest = key if hashed else _token_hash(key)
                grants[digest] = _Grant(user, saved["client_id"], tuple(saved["scopes"]))
        if not hashed:  # a file from before hashing: its clear-text tokens go at once
            _write_private(self._state_file, _encode(grants))
        return grants

    async def _save_refresh_tokens(self) -> None:
        """Write the grants if they changed since the last write, off the event loop."""
        if self._state_file is None:
            return
        # One write at a time, each of the state when it starts: the last write is the newest.
        async with self._save_lock:
            changes = self._changes
            if changes == self._saved_changes:
                return  # a write that started after our change already saved it
            grants, path = dict(self._refresh_tokens), self._state_file
            await asyncio.to_thread(lambda: _write_private(path, _encode(grants)))
            self._saved_changes = changes

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/{tenant}/discovery/v2.0/keys", self._keys)
        app.router.add_get("/{tenant}/oauth2/v2.0/authorize", self._authorize_page)
        app.router.add_post("/{tenant}/oauth2/v2.0/authorize", self._authorize_submit)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)

    # -- discovery ---------------------------------------------------------------------------

    async def _discovery(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        issuer_tenant = "{tenantid}" if tenant in ("common", "organizations") else tenant
        return web.json_response(
            {
                "issuer": f"{self.tls_origin}/{issuer_tenant}/v2.0",
                "authorization_endpoint": f"{self.browser_origin}/{tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{self.tls_origin}/{tenant}/oauth2/v2.0/token",
                "jwks_uri": f"{self.tls_origin}/{tenant}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "nonce",
                    "preferred_username",
                    "name",
                    "tid",
                    "ver",
                    "oid",
                ],
                "request_uri_parameter_supported": False,
                "tenant_region_scope": None,
                "cloud_instance_name": "microsoftonline.com",
                "msgraph_host": "graph.microsoft.com",
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.identity.public_jwk()]})

    # -- the authorize page (browser, no JavaScript) ------------------------------------------

    async def _authorize_page(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        try:
            self._check_authorize_request(params)
        except OAuthError as exc:
            return _error_page(exc)
        return _sign_in_form(request.path, params, params.get("login_hint", ""), error="")

    async def _authorize_submit(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        params = {k: str(v) for k, v in form.items() if k != "username"}
        try:
            self._check_authorize_request(params)
        except OAuthError as exc:
            return _error_page(exc)
        username = str(form.get("username", "")).strip()
        account = self.identity.account_by_name(username)
        if account is None:
            return _sign_in_form(
                request.path,
                params,
                username,
                error="AADSTS50034: The user account does not exist in this directory.",
            )
        tenant = request.match_info["tenant"]
        user = self.identity.user_in_tenant(account, tenant)
        if user is None:
            return _sign_in_form(
                request.path,
                params,
                username,
                error=f"AADSTS50020: User account '{account.upn}' from identity provider "
                f"'{_identity_provider(account)}' does not exist in tenant "
                f"'{tenant}' and cannot access the application '{params['client_id']}' in that "
                "tenant. The account needs to be added as an external user in the tenant first.",
            )
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Grant(
            user=user,
            client_id=params["client_id"],
            scopes=tuple(params.get("scope", "").split()),
            redirect_uri=params["redirect_uri"],
            code_challenge=params.get("code_challenge", ""),
            nonce=params.get("nonce", ""),
            expires=time.time() + CODE_LIFETIME,
        )
        answer = {
            "code": code,
            "state": params.get("state", ""),
            "session_state": str(uuid.uuid4()),
        }
        if params.get("response_mode") == "form_post":
            return _form_post(params["redirect_uri"], answer)
        raise web.HTTPFound(f"{params['redirect_uri']}?{urlencode(answer)}")

    def _check_authorize_request(self, params: dict[str, str]) -> None:
        client_id = params.get("client_id", "")
        if client_id not in self.clients and not self.assertions.knows(client_id):
            raise OAuthError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{params.get('client_id')}' was not "
                "found in the directory.",
            )
        redirect = urlparse(params.get("redirect_uri", ""))
        # The sandbox app registration's redirect URIs: any loopback address.
        if redirect.scheme not in ("http", "https") or redirect.hostname not in (
            "localhost",
            "127.0.0.1",
        ):
            raise OAuthError(
                400,
                "invalid_request",
                50011,
                "The redirect URI specified in the request does not match the "
                "redirect URIs configured for the application.",
            )
        if params.get("response_type") != "code":
            raise OAuthError(
                400,
                "unsupported_response_type",
                70000,
                "The app requested an unsupported response type.",
            )

    # -- the token endpoint --------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        try:
            self._authenticate_client(form, request.match_info["tenant"])
            body = self._grant(request.match_info["tenant"], form)
        except OAuthError as exc:
            return _oauth_error(exc)
        finally:
            # Before answering: a refresh token handed out is one that survives a restart.
            await self._save_refresh_tokens()
        self.token_grants.append(form["grant_type"])
        return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _grant(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            return self._redeem_code(form)
        if grant_type == "refresh_token":
            return self._redeem_refresh_token(form)
        if grant_type == "client_credentials":
            return self._client_credentials(tenant, form)
        raise OAuthError(
            400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
        )

    def _authenticate_client(self, form: dict[str, str], tenant: str) -> None:
        client_id = form.get("client_id", "")
        if client_id not in self.clients and not self.assertions.knows(client_id):
            raise OAuthError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found.",
            )
        if "client_assertion" in form or "client_assertion_type" in form:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise OAuthError(
                    400, "invalid_request", 50027, "The client_assertion_type is not supported."
                )
            try:
                self.assertions.verify(
                    client_id,
                    form.get("client_assertion", ""),
                    token_endpoint=f"{self.tls_origin}/{tenant}/oauth2/v2.0/token",
                )
            except AssertionRefused as exc:
                raise OAuthError(401, "invalid_client", exc.code, exc.description) from None
            return
        if client_id not in self.clients or form.get("client_secret") != self.clients[client_id]:
            raise OAuthError(401, "invalid_client", 7000215, "Invalid client secret provided.")

    def _redeem_code(self, form: dict[str, str]) -> dict[str, Any]:
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant.expires < time.time():
            raise OAuthError(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity.",
            )
        if grant.client_id != form["client_id"] or grant.redirect_uri != form.get("redirect_uri"):
            raise OAuthError(
                400,
                "invalid_grant",
                70002,
                "The authorization code was issued to another client or redirect URI.",
            )
        verifier = form.get("code_verifier", "")
        if grant.code_challenge and _s256(verifier) != grant.code_challenge:
            raise OAuthError(
                400,
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in "
                "the authorization request.",
            )
        return self._user_tokens(grant)

    def _redeem_refresh_token(self, form: dict[str, str]) -> dict[str, Any]:
        grant = self._refresh_tokens.pop(_token_hash(form.get("refresh_token", "")), None)
        if grant is not None:
            self._changes += 1  # rotated: each refresh token works once
        if grant is None or grant.client_id != form["client_id"]:
            raise OAuthError(
                400,
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh "
                "auth token is needed.",
            )
        return self._user_tokens(grant)

    def _client_credentials(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        if tenant in ("common", "organizations", "consumers"):
            raise OAuthError(
                400,
                "invalid_request",
                7000216,
                "Client credentials need a tenant-specific endpoint.",
            )
        if form.get("scope") == BOT_FRAMEWORK_RESOURCE + "/.default":
            return self._bot_connector_token(tenant, form["client_id"])
        if form.get("scope") != GRAPH_RESOURCE + ".default":
            raise OAuthError(
                400,
                "invalid_scope",
                1002012,
                "The provided value for scope is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource.",
            )
        token = self.identity.issue_app_token(
            tenant_id=tenant,
            roles=GRANTED_APP_ROLES,
            client_id=form["client_id"],
            lifetime=self.access_token_lifetime,
        )
        return {
            "token_type": "Bearer",
            "expires_in": self.access_token_lifetime,
            "ext_expires_in": self.access_token_lifetime,
            "access_token": token,
        }

    def _bot_connector_token(self, tenant: str, client_id: str) -> dict[str, Any]:
        """What Bot Framework's token service gives a bot for the Bot Connector: an app token
        for https://api.botframework.com from the bot's tenant (or botframework.com's)."""
        tenant_id = BOT_FRAMEWORK_TENANT_ID if tenant.lower() == "botframework.com" else tenant
        token = self.identity.issue_resource_token(
            resource=BOT_FRAMEWORK_RESOURCE,
            client_id=client_id,
            object_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp/{client_id}")),
            tenant_id=tenant_id,
            lifetime=self.access_token_lifetime,
        )
        return {
            "token_type": "Bearer",
            "expires_in": self.access_token_lifetime,
            "ext_expires_in": self.access_token_lifetime,
            "access_token": token,
        }

    def _user_tokens(self, grant: _Grant) -> dict[str, Any]:
        graph_scopes = [
            s.removeprefix(GRAPH_RESOURCE) for s in grant.scopes if s.startswith(GRAPH_RESOURCE)
        ]
        access_token = self.identity.issue_user_token(
            grant.user,
            scopes=graph_scopes,
            lifetime=self.access_token_lifetime,
            client_id=grant.client_id,
        )
        refresh_token = secrets.token_urlsafe(48)
        self._refresh_tokens[_token_hash(refresh_token)] = grant
        self._changes += 1
        user = grant.user
        # client_info names the account by its home tenant (a guest's too); the tokens name
        # the user object in the tenant signed in to.
        client_info = {"uid": user.account.oid, "utid": user.account.tenant_id}
        return {
            "token_type": "Bearer",
            "scope": " ".join(GRAPH_RESOURCE + s for s in graph_scopes),
            "expires_in": self.access_token_lifetime,
            "ext_expires_in": self.access_token_lifetime,
            "access_token": access_token,
            "refresh_token": refresh_token,
            "id_token": self.identity.issue_id_token(
                user,
                client_id=grant.client_id,
                nonce=grant.nonce,
                issuer=f"{self.tls_origin}/{user.tenant_id}/v2.0",
            ),
            "client_info": base64.urlsafe_b64encode(json.dumps(client_info).encode())
            .decode()
            .rstrip("="),
        }


def _identity_provider(account: SandboxUser) -> str:
    """How Entra's errors name the identity provider an account belongs to."""
    if account.tenant_id == CONSUMER_TENANT_ID:
        return "live.com"
    return f"https://sts.windows.net/{account.tenant_id}/"


def _token_hash(refresh_token: str) -> str:
    # No salt or key stretching needed: a refresh token is 384 random bits, so its SHA-256 can be
    # neither reversed nor guessed. The file alone lets nobody redeem anything.
    return hashlib.sha256(refresh_token.encode()).hexdigest()


def _encode(grants: dict[str, _Grant]) -> str:
    saved = {
        digest: {"oid": g.user.oid, "client_id": g.client_id, "scopes": list(g.scopes)}
        for digest, g in grants.items()
    }
    return json.dumps({HASHED_REFRESH_TOKENS: saved})


def _write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` all at once, as a file only its owner can read or write."""
    # mkstemp creates the file 0600 whatever the umask; os.replace means a reader (or a crash)
    # sees the old file or the new one, never half of one.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _oauth_error(exc: OAuthError) -> web.Response:
    return web.json_response(
        {
            "error": exc.error,
            "error_description": f"AADSTS{exc.code}: {exc.description} "
            f"Trace ID: {uuid.uuid4()} Correlation ID: {uuid.uuid4()} "
            f"Timestamp: {datetime.now(UTC):%Y-%m-%d %H:%M:%SZ}",
            "error_codes": [exc.code],
            "timestamp": f"{datetime.now(UTC):%Y-%m-%d %H:%M:%SZ}",
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        },
        status=exc.status,
    )


def _page(title: str, body: str, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        content_type="text/html",
        text=f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;max-width:28rem;margin:4rem auto}"
        "input,button{font-size:1rem;padding:.4rem}</style></head>"
        f"<body>{body}</body></html>",
    )


def _sign_in_form(
    action: str, params: dict[str, str], username: str, *, error: str
) -> web.Response:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
    )
    problem = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    return _page(
        "Sign in to your account",
        "<h1>Sign in</h1><p>Sandbox identity provider (no real Microsoft account is used).</p>"
        f'{problem}<form method="post" action="{html.escape(action)}">{hidden}'
        f'<label>Account <input name="username" value="{html.escape(username)}"></label> '
        '<button type="submit">Sign in</button></form>',
        status=400 if error else 200,
    )


def _form_post(redirect_uri: str, answer: dict[str, str]) -> web.Response:
    """Entra's form_post answer: a form posting the code back, submitted by script or by hand."""
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in answer.items()
    )
    return _page(
        "Working...",
        f'<form method="post" name="hiddenform" action="{html.escape(redirect_uri)}">{hidden}'
        "<noscript><p>Script is disabled. Click Submit to continue.</p>"
        '<button type="submit">Submit</button></noscript></form>'
        "<script>document.forms[0].submit()</script>",
    )


def _error_page(exc: OAuthError) -> web.Response:
    return _page(
        "Sign-in error",
        "<h1>Sorry, we can't sign you in</h1>"
        f"<p>AADSTS{exc.code}: {html.escape(exc.description)}</p>",
        status=exc.status,
    )
