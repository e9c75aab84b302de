"""Client assertions, judged as Entra ID does: a JWT signed with a certificate registered on the
app, or a token from a trusted issuer matching one of the app's federated identity credentials.

From Microsoft's pages "certificate credentials" (header alg RS256 with x5t, or PS256 with
x5t#S256; claims aud = the token endpoint, iss = sub = the client id, jti, exp; nbf optional) and
"workload identity federation" (the external token's iss, sub and aud must equal a federated
identity credential's issuer, subject and one of its audiences, api://AzureADTokenExchange).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from sandbox.identity import SandboxIdentity

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


class AssertionRefused(Exception):
    """Entra's answer to a bad assertion: invalid_client, with its AADSTS code."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


@dataclass(frozen=True)
class FederatedCredential:
    """A federated identity credential on an app registration."""

    issuer: str
    subject: str
    audiences: tuple[str, ...] = (TOKEN_EXCHANGE_AUDIENCE,)


@dataclass
class _Registration:
    certificates: dict[str, RSAPublicKey] = field(default_factory=dict)  # by x5t and x5t#S256
    federated: list[FederatedCredential] = field(default_factory=list)


class ClientAssertions:
    """The certificates and federated credentials registered on the sandbox's apps."""

    def __init__(self, identity: SandboxIdentity) -> None:
        self._identity = identity  # signs what the sandbox's own issuers (managed identity) issue
        self._apps: dict[str, _Registration] = {}

    def knows(self, client_id: str) -> bool:
        return client_id in self._apps

    def add_certificate(self, client_id: str, certificate_pem: str) -> None:
        """Upload a certificate's public part to the app registration, as in the portal."""
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
        key = certificate.public_key()
        if not isinstance(key, RSAPublicKey):
            raise TypeError("Entra ID takes RSA certificates")
        der = certificate.public_bytes(serialization.Encoding.DER)
        registration = self._apps.setdefault(client_id, _Registration())
        for digest in (hashlib.sha1, hashlib.sha256):  # x5t is SHA-1, x5t#S256 SHA-256
            registration.certificates[_b64url(digest(der).digest())] = key

    def add_federated_credential(self, client_id: str, credential: FederatedCredential) -> None:
        self._apps.setdefault(client_id, _Registration()).federated.append(credential)

    def verify(self, client_id: str, assertion: str, *, token_endpoint: str) -> None:
        """Accept `assertion` as `client_id`'s credential, or raise AssertionRefused."""
        registration = self._apps.get(client_id)
        if registration is None:
            raise AssertionRefused(
                700027, "Client assertion failed signature validation: no credential registered."
            )
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AssertionRefused(50027, "JWT token is invalid or malformed.") from None
        thumbprint = header.get("x5t#S256") or header.get("x5t")
        if thumbprint is not None:
            self._verify_certificate(client_id, registration, assertion, header, token_endpoint)
        else:
            self._verify_federated(registration, assertion, claims)

    def _verify_certificate(
        self,
        client_id: str,
        registration: _Registration,
        assertion: str,
        header: dict[str, Any],
        token_endpoint: str,
    ) -> None:
        algorithm = header.get("alg")
        thumbprint = header.get("x5t#S256") if algorithm == "PS256" else header.get("x5t")
        key = registration.certificates.get(str(thumbprint).rstrip("="))  # padded or not
        if algorithm not in ("RS256", "PS256") or key is None:
            raise AssertionRefused(
                700027,
                "Client assertion failed signature validation: the key was not found "
                "(no certificate with this thumbprint is registered on the app).",
            )
        claims = self._decode(assertion, key, str(algorithm), audience=token_endpoint)
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise AssertionRefused(
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.",
            )
        if not claims.get("jti"):
            raise AssertionRefused(50027, "JWT token is invalid or malformed: no jti.")

    def _verify_federated(
        self, registration: _Registration, assertion: str, claims: dict[str, Any]
    ) -> None:
        # The issuer is the sandbox's own (Entra's, for a managed identity): its key signed it.
        claims = self._decode(
            assertion, self._identity.public_key(), "RS256", audience=claims.get("aud")
        )
        by_issuer = [f for f in registration.federated if f.issuer == claims.get("iss")]
        if not by_issuer:
            raise AssertionRefused(
                700211,
                "No matching federated identity record found for presented assertion issuer.",
            )
        by_audience = [f for f in by_issuer if claims.get("aud") in f.audiences]
        if not by_audience:
            raise AssertionRefused(
                700212,
                "No matching federated identity record found for presented assertion audience.",
            )
        if not any(f.subject == claims.get("sub") for f in by_audience):
            raise AssertionRefused(
                70021, "No matching federated identity record found for presented assertion."
            )

    @staticmethod
    def _decode(assertion: str, key: Any, algorithm: str, *, audience: Any) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key,
                algorithms=[algorithm],
                audience=audience,
                options={"require": ["exp", "aud", "iss", "sub"]},  # MSAL sends no nbf
            )
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
            raise AssertionRefused(
                700024, "Client assertion is not within its valid time range."
            ) from None
        except jwt.InvalidAudienceError:
            raise AssertionRefused(
                700212, "The client assertion's audience is not this token endpoint."
            ) from None
        except jwt.InvalidSignatureError:
            raise AssertionRefused(
                700027, "Client assertion failed signature validation."
            ) from None
        except jwt.PyJWTError:
            raise AssertionRefused(50027, "JWT token is invalid or malformed.") from None
        return claims


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
