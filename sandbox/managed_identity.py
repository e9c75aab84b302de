"""App Service's managed-identity endpoint, as the process sees it: IDENTITY_ENDPOINT and
IDENTITY_HEADER in the environment, and

    GET {IDENTITY_ENDPOINT}?resource=...&api-version=2019-08-01&client_id=...
    X-IDENTITY-HEADER: {IDENTITY_HEADER}

answered with {access_token, expires_on, resource, token_type, client_id} (expires_on in seconds
since the epoch). Tokens are signed by the sandbox identity, as Entra ID signs a managed
identity's: Graph and Bot Framework get app tokens, api://AzureADTokenExchange gets the token a
federated identity credential trusts (issued by the tenant's v2.0 issuer, subject the identity's
object id).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from sandbox.client_assertions import TOKEN_EXCHANGE_AUDIENCE
from sandbox.identity import BOT_FRAMEWORK_RESOURCE, SandboxIdentity

API_VERSION = "2019-08-01"
GRAPH_RESOURCE = "https://graph.microsoft.com"
# What a managed identity can be given tokens for here, and the app roles it holds on each.
RESOURCE_ROLES: dict[str, tuple[str, ...]] = {
    GRAPH_RESOURCE: ("OnlineMeetings.ReadWrite.All",),
    BOT_FRAMEWORK_RESOURCE: (),
    TOKEN_EXCHANGE_AUDIENCE: (),
}


@dataclass(frozen=True)
class AssignedIdentity:
    """A user-assigned managed identity assigned to the (sandbox) App Service app."""

    client_id: str
    principal_id: str  # its object id: the subject of its tokens
    tenant_id: str


class ManagedIdentityEndpoint:
    """The endpoint App Service runs beside an app that has managed identities."""

    path = "/msi/token"

    def __init__(self, identity: SandboxIdentity, v2_issuer: Callable[[str], str]) -> None:
        self._identity = identity
        self._v2_issuer = v2_issuer  # the tenant's v2.0 issuer, known once the IdP listens
        self.header = secrets.token_urlsafe(32)  # IDENTITY_HEADER: rotated by App Service, too
        self.identities: dict[str, AssignedIdentity] = {}
        self.issued: list[tuple[str, str]] = []  # (client id, resource) per token handed out
        self.token_lifetime = 3600

    def assign(self, client_id: str, *, tenant_id: str) -> AssignedIdentity:
        """Assign a user-assigned identity to the app, as `az webapp identity assign` does."""
        assigned = AssignedIdentity(
            client_id, str(uuid.uuid5(uuid.NAMESPACE_URL, f"mi/{client_id}")), tenant_id
        )
        self.identities[client_id] = assigned
        return assigned

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.path, self._token)

    async def _token(self, request: web.Request) -> web.Response:
        if request.headers.get("X-IDENTITY-HEADER") != self.header:
            return _error(401, "The X-IDENTITY-HEADER header is missing or wrong.")
        if request.query.get("api-version") != API_VERSION:
            return _error(400, f"api-version must be {API_VERSION}.")
        resource = request.query.get("resource", "")
        if not resource:
            return _error(400, "The resource parameter is required.")
        client_id = request.query.get("client_id", "")
        assigned = self.identities.get(client_id)
        if assigned is None:
            # No system-assigned identity here: a request must name an assigned identity.
            return _error(400, "Unable to load the proper Managed Identity.")
        audience = resource.removesuffix("/.default").rstrip("/")
        if audience not in RESOURCE_ROLES:
            return _error(
                400, f"AADSTS500011: The resource principal named {resource} was not found."
            )
        exchange = audience == TOKEN_EXCHANGE_AUDIENCE
        token = self._identity.issue_resource_token(
            resource=audience,
            client_id=assigned.client_id,
            object_id=assigned.principal_id,
            tenant_id=assigned.tenant_id,
            roles=RESOURCE_ROLES[audience],
            lifetime=self.token_lifetime,
            issuer=self._v2_issuer(assigned.tenant_id) if exchange else "",
        )
        self.issued.append((client_id, audience))
        return web.json_response(
            {
                "access_token": token,
                "expires_on": str(int(time.time()) + self.token_lifetime),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": assigned.client_id,
            }
        )


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())},
        status=status,
    )
