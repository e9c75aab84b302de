"""The sandbox directory and token signer: users, RS256 keys, Graph-shaped access tokens."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_AUDIENCES = (GRAPH_APP_ID, "https://graph.microsoft.com")
# The M365 Agents Playground's mock tenant, so activities from it map onto this directory.
SANDBOX_TENANT_ID = "00000000-0000-0000-0000-0000000000001"
SANDBOX_CLIENT_ID = "5a4e1b0c-0000-4000-8000-00000000b07a"
# Entra's tenant for personal Microsoft accounts.
CONSUMER_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
# Another organization's tenant, home of a person who is a guest (B2B) in the sandbox tenant.
PARTNER_TENANT_ID = "2b7c4e91-5a3d-4f60-9e18-7d2a6c0b5f43"
# Tenants in an authority's path that sign a person in to their home tenant.
HOME_TENANT_AUTHORITIES = ("common", "organizations")
DELEGATED_SCOPES = ("OnlineMeetings.ReadWrite", "User.Read")
# Bot Framework's token service: the Bot Connector's resource, and the tenant multi-tenant bots'
# tokens come from (login.microsoftonline.com/botframework.com).
BOT_FRAMEWORK_RESOURCE = "https://api.botframework.com"
BOT_FRAMEWORK_TENANT_ID = "d6d49420-f39b-4df7-a1dc-d59a935871db"


class TokenRejected(Exception):
    """A bearer token is malformed, badly signed, for another audience or expired."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


# Verified Graph tokens remembered (about one per signed-in user).
_VERIFIED_TOKENS = 4096


@dataclass(frozen=True)
class SandboxUser:
    """A user object in one tenant's directory.

    A guest (B2B) is a user object of its own in the tenant that invited it, with its own object
    id there; `home` is the account it signs in with, in its home tenant.
    """

    oid: str
    upn: str
    name: str
    tenant_id: str = SANDBOX_TENANT_ID
    teams_licensed: bool = True
    audio_conferencing: bool = True
    home: SandboxUser | None = None

    @property
    def account(self) -> SandboxUser:
        """The account that signs in for this user object: itself, or a guest's home account."""
        return self.home or self


# Kim Akers of a partner organization, and her guest user object in the sandbox tenant.
PARTNER_KIM = SandboxUser(
    "00000000-0000-0000-0000-0000000000040",
    "kim@partner.example",
    "Kim Akers",
    tenant_id=PARTNER_TENANT_ID,
)
GUEST_KIM = SandboxUser(
    "00000000-0000-0000-0000-0000000000041",
    "kim_partner.example#EXT#@example.com",
    "Kim Akers",
    home=PARTNER_KIM,
)


# The Agents Playground's default users (GET /_internal/v1/config), plus two that exercise
# Graph's less happy paths: no Teams licence, and no audio-conferencing licence.
DEFAULT_USERS: tuple[SandboxUser, ...] = (
    SandboxUser("00000000-0000-0000-0000-0000000000020", "alexw@example.com", "Alex Wilber"),
    SandboxUser("00000000-0000-0000-0000-0000000000021", "meganb@example.com", "Megan Bowen"),
    SandboxUser("00000000-0000-0000-0000-0000000000022", "adelev@example.com", "Adele Vance"),
    SandboxUser("00000000-0000-0000-0000-0000000000023", "isaiah@example.com", "Isaiah Langer"),
    SandboxUser("00000000-0000-0000-0000-0000000000024", "pattif@example.com", "Patti Fernandez"),
    SandboxUser("00000000-0000-0000-0000-0000000000025", "lynner@example.com", "Lynne Robbins"),
    SandboxUser(
        "00000000-0000-0000-0000-0000000000026",
        "nolicence@example.com",
        "Nora Nolicence",
        teams_licensed=False,
    ),
    SandboxUser(
        "00000000-0000-0000-0000-0000000000027",
        "noaudio@example.com",
        "Noah Noaudio",
        audio_conferencing=False,
    ),
    # A personal Microsoft account: Graph's online meetings refuse these.
    SandboxUser(
        "00000000-0000-0000-0000-0000000000028",
        "casey@personal.example",
        "Casey Personal",
        tenant_id=CONSUMER_TENANT_ID,
        teams_licensed=False,
    ),
    # A guest: a user of the partner tenant, invited to the sandbox tenant.
    PARTNER_KIM,
    GUEST_KIM,
)


def virtual_users(count: int) -> tuple[SandboxUser, ...]:
    """Licensed users vu0000@example.com… for load tests: distinct identities, one tenant."""
    return tuple(
        SandboxUser(f"10000000-0000-4000-8000-{i:012d}", f"vu{i:04d}@example.com", f"VU {i}")
        for i in range(count)
    )


class SandboxIdentity:
    """Signs and verifies the sandbox's access tokens, in the shape Entra issues for Graph."""

    def __init__(
        self, users: Iterable[SandboxUser] = DEFAULT_USERS, *, key_file: Path | None = None
    ) -> None:
        self._users = {user.oid: user for user in users}
        self._key = _signing_key(key_file)
        self._verified: dict[str, dict[str, Any]] = {}
        self.key_id = uuid.uuid5(
            uuid.NAMESPACE_OID, str(self._key.public_key().public_numbers().n)
        ).hex

    def user(self, oid: str) -> SandboxUser | None:
        return self._users.get(oid)

    def user_by_upn(self, upn: str) -> SandboxUser | None:
        return next((u for u in self._users.values() if u.upn.lower() == upn.lower()), None)

    def account_by_name(self, name: str) -> SandboxUser | None:
        """The account a person signs in with by `name`: a guest signs in with their home one."""
        user = self.user_by_upn(name)
        return user if user is not None and user.home is None else None

    def user_in_tenant(self, account: SandboxUser, tenant: str) -> SandboxUser | None:
        """The user object `account` signs in as at `tenant`'s authority, if it has one there.

        common and organizations sign a person in to their home tenant; a tenant id signs them
        in to that tenant: as a member, or as the guest it invited them as.
        """
        if tenant in HOME_TENANT_AUTHORITIES or tenant == account.tenant_id:
            return account
        return next(
            (u for u in self._users.values() if u.home == account and u.tenant_id == tenant),
            None,
        )

    def issue_user_token(
        self,
        user: SandboxUser,
        *,
        scopes: Iterable[str] = DELEGATED_SCOPES,
        lifetime: int = 3600,
        client_id: str = SANDBOX_CLIENT_ID,
    ) -> str:
        """A delegated (v1-format) Graph access token for `user`."""
        claims = {
            "oid": user.oid,
            "tid": user.tenant_id,
            "upn": user.upn,
            "preferred_username": user.upn,
            "name": user.name,
            "scp": " ".join(scopes),
            "idtyp": "user",
            "appid": client_id,
            "sub": uuid.uuid5(uuid.NAMESPACE_URL, f"{client_id}/{user.oid}").hex,
        }
        if user.home is not None:
            # As in Microsoft's "Understand user tokens in Microsoft Entra B2B collaboration":
            # a guest's token names them by their home account, with no upn, and `idp` is
            # the home tenant's issuer.
            del claims["upn"]
            claims |= {
                "preferred_username": user.home.upn,
                "unique_name": user.home.upn,
                "email": user.home.upn,
                "idp": _issuer(user.home.tenant_id),
            }
        return self._sign(claims, tenant_id=user.tenant_id, lifetime=lifetime)

    def issue_app_token(
        self,
        *,
        tenant_id: str = SANDBOX_TENANT_ID,
        roles: Iterable[str] = ("OnlineMeetings.ReadWrite.All",),
        lifetime: int = 3600,
        client_id: str = SANDBOX_CLIENT_ID,
    ) -> str:
        """An application (client-credentials) Graph access token."""
        app_oid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp/{client_id}"))
        return self._sign(
            {
                "oid": app_oid,
                "sub": app_oid,
                "tid": tenant_id,
                "roles": list(roles),
                "idtyp": "app",
                "appid": client_id,
            },
            tenant_id=tenant_id,
            lifetime=lifetime,
        )

    def issue_id_token(
        self, user: SandboxUser, *, client_id: str, nonce: str, issuer: str, lifetime: int = 3600
    ) -> str:
        """A v2.0 id_token for `client_id`, returned beside the access token."""
        now = int(time.time())
        claims = {
            "aud": client_id,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "ver": "2.0",
            "oid": user.oid,
            "tid": user.tenant_id,
            "name": user.name,
            "preferred_username": user.account.upn,
            "sub": uuid.uuid5(uuid.NAMESPACE_URL, f"{client_id}/{user.oid}").hex,
        }
        if user.home is not None:
            # `idp`: "the identity provider that authenticated the subject of the token ...
            # identical to the value of the issuer claim unless the user account isn't in the
            # same tenant as the issuer - guests, for instance" (ID token claims reference).
            claims["idp"] = _issuer(user.home.tenant_id)
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})

    def issue_resource_token(
        self,
        *,
        resource: str,
        client_id: str,
        object_id: str,
        tenant_id: str,
        roles: Iterable[str] = (),
        lifetime: int = 3600,
        issuer: str = "",
    ) -> str:
        """An app-only token for `resource`: v1.0 (appid, sts.windows.net), or v2.0 by `issuer`."""
        claims: dict[str, Any] = {
            "aud": resource,
            "oid": object_id,
            "sub": object_id,
            "tid": tenant_id,
            "idtyp": "app",
            **({"roles": list(roles)} if roles else {}),
        }
        if issuer:
            claims |= {"iss": issuer, "ver": "2.0", "azp": client_id, "azpacr": "2"}
        else:
            claims |= {"appid": client_id, "appidacr": "2"}
        return self._sign(claims, tenant_id=tenant_id, lifetime=lifetime)

    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        return {**jwk, "kid": self.key_id, "use": "sig", "alg": "RS256"}

    def verify(self, token: str, *, audiences: tuple[str, ...] = GRAPH_AUDIENCES) -> dict[str, Any]:
        """The claims of a token this sandbox signed for a Graph that accepts `audiences`,
        or TokenRejected."""
        # A token checked once stays good until it expires (the signature cannot change), so
        # its claims are kept rather than verifying RS256 again on every request.
        claims = self._verified.get(token)
        if claims is not None and claims["exp"] > time.time():
            if claims["aud"] not in audiences:
                raise TokenRejected("Access token validation failure. Invalid audience.")
            return dict(claims)
        claims = self._verify(token, audiences)
        if len(self._verified) >= _VERIFIED_TOKENS:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = claims
        return dict(claims)

    def _verify(self, token: str, audiences: tuple[str, ...]) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=list(audiences),
                options={"require": ["exp", "nbf", "aud", "iss", "tid", "oid"]},
                leeway=0,
            )
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
            raise TokenRejected(
                "Access token has expired or is not yet valid.", expired=True
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise TokenRejected("Access token validation failure. Invalid audience.") from exc
        except jwt.PyJWTError as exc:
            raise TokenRejected("CompactToken parsing failed with error code: 80049217") from exc
        if claims["iss"] != _issuer(claims["tid"]):
            raise TokenRejected("Access token validation failure. Invalid issuer.")
        return claims

    def _sign(self, claims: dict[str, Any], *, tenant_id: str, lifetime: int) -> str:
        now = int(time.time())
        payload = {
            "aud": GRAPH_APP_ID,
            "iss": _issuer(tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "ver": "1.0",
            "uti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(payload, self._key, algorithm="RS256", headers={"kid": self.key_id})


def _signing_key(key_file: Path | None) -> rsa.RSAPrivateKey:
    """A fresh key, or the one kept in `key_file` so tokens outlive a restart."""
    if key_file is not None and key_file.exists():
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_file is not None:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
    return key


def _issuer(tenant_id: str) -> str:
    return f"https://sts.windows.net/{tenant_id}/"
