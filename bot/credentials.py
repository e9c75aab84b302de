"""How the bot's app proves itself to Entra ID: a secret, a certificate or a managed identity.

Beside settings.py rather than in a room of bot/: the Bot Connector plumbing (bot.framework) and
the Graph sign-in (bot.identity) both need it, and bot.framework may not import bot.identity.
MSAL is synchronous: everything here that may go to the network runs in a worker thread.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

log = logging.getLogger(__name__)


class AppType(StrEnum):
    """Azure Bot's "Type of App" (MicrosoftAppType); Microsoft's spelling, matched case-blind."""

    SINGLE_TENANT = "SingleTenant"
    MULTI_TENANT = "MultiTenant"  # no longer creatable (since 31 July 2025); existing bots work
    USER_ASSIGNED_MSI = "UserAssignedMSI"

    @classmethod
    def parse(cls, text: str) -> AppType | None:
        return next((kind for kind in cls if kind.value.lower() == text.lower()), None)


class CredentialError(Exception):
    """The app's credential can't be used (unreadable certificate, key that doesn't match)."""


class AppTokenUnavailable(Exception):
    """Entra ID (or the managed-identity endpoint) refused the app a token."""


@dataclass(frozen=True)
class ClientSecret:
    value: str = field(repr=False)


@dataclass(frozen=True)
class CertificateFiles:
    """A PEM certificate and its private key (one file may hold both, as Key Vault exports it)."""

    certificate_file: Path
    key_file: Path


@dataclass(frozen=True)
class ManagedIdentity:
    """A user-assigned managed identity, named by its client id."""

    client_id: str


AppCredential = ClientSecret | CertificateFiles | ManagedIdentity


@dataclass(frozen=True)
class Certificate:
    """A certificate read from its files, in the form MSAL takes as a client credential."""

    certificate_pem: str
    private_key_pem: str = field(repr=False)

    def msal_credential(self) -> dict[str, Any]:
        # With the certificate and no thumbprint, MSAL signs PS256 with an x5t#S256 header (what
        # Entra's certificate-credentials page asks for) and sends x5c too.
        return {"private_key": self.private_key_pem, "public_certificate": self.certificate_pem}


def read_certificate(files: CertificateFiles) -> Certificate:
    """The certificate and key in `files`, checked to belong together. File I/O: use a thread."""
    try:
        certificate_text = files.certificate_file.read_text()
        key_text = (
            certificate_text
            if files.key_file == files.certificate_file
            else files.key_file.read_text()
        )
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialError(f"cannot read the certificate or its key: {exc}") from None
    try:
        certificate = x509.load_pem_x509_certificate(certificate_text.encode())
        key = serialization.load_pem_private_key(key_text.encode(), password=None)
    except (ValueError, TypeError):
        raise CredentialError(
            f"{files.certificate_file} must hold a PEM certificate and {files.key_file} its "
            "unencrypted PEM private key"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialError("the certificate's key must be RSA (Entra ID signs with RS/PS256)")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(
        serialization.Encoding.DER, public
    ) != certificate.public_key().public_bytes(serialization.Encoding.DER, public):
        raise CredentialError(
            f"the private key in {files.key_file} does not belong to the certificate in "
            f"{files.certificate_file}"
        )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return Certificate(pem, private)


class ManagedIdentityTokens:
    """Tokens for the user-assigned managed identity, through MSAL's ManagedIdentityClient.

    MSAL finds the identity endpoint in the environment App Service sets (IDENTITY_ENDPOINT and
    IDENTITY_HEADER) and caches each resource's token until shortly before it expires. One per
    process: the Bot Connector, Graph and the federated sign-in credential share its cache.
    Call `token` from a worker thread.
    """

    def __init__(
        self, client_id: str, session: requests.Session, *, token_exchange_audience: str
    ) -> None:
        self.client_id = client_id
        self._token_exchange_audience = token_exchange_audience
        self._client = msal.ManagedIdentityClient(
            msal.UserAssignedManagedIdentity(client_id=client_id),
            http_client=session,
            token_cache=msal.TokenCache(),
        )
        self._lock = (
            threading.Lock()
        )  # MSAL's cache is thread-safe; its client is not documented so

    def token(self, resource: str) -> str:
        """An access token for `resource` (an App ID URI, without /.default)."""
        try:
            with self._lock:
                result: dict[str, Any] = self._client.acquire_token_for_client(resource=resource)
        except (requests.RequestException, ValueError) as exc:
            # ValueError: MSAL read something other than JSON from the endpoint.
            raise AppTokenUnavailable(
                f"the managed-identity endpoint did not answer: {type(exc).__name__}"
            ) from exc
        if "access_token" not in result:
            raise AppTokenUnavailable(
                f"the managed identity got no token for {resource}: {result.get('error')}, "
                f"{result.get('error_description')}"
            )
        token: str = result["access_token"]
        return token

    def client_assertion(self) -> str:
        """The identity's token as a client assertion for an app registration that trusts it."""
        return self.token(self._token_exchange_audience)


@dataclass(frozen=True)
class Proofs:
    """What the bot hands MSAL and botbuilder, made once at start-up from its AppCredential."""

    bot: str | dict[str, Any] | ManagedIdentityTokens  # for its Bot Connector tokens
    sign_in: str | dict[str, Any] = field(repr=False)  # MSAL's client_credential for Graph
    # The HTTP session of the bot's own token requests (Bot Connector, managed identity).
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    managed_identity: ManagedIdentityTokens | None = None

    def close(self) -> None:
        self.session.close()


def open_proofs(credential: AppCredential, *, token_exchange_audience: str) -> Proofs:
    """The proofs for `credential`. Reads certificate files: call from a worker thread.

    `token_exchange_audience`: what a managed identity's token is for as a federated credential
    (the cloud's `api://AzureADTokenExchange…`).
    """
    if isinstance(credential, ClientSecret):
        return Proofs(credential.value, credential.value)
    if isinstance(credential, CertificateFiles):
        certificate = read_certificate(credential).msal_credential()
        return Proofs(certificate, certificate)
    session = requests.Session()
    tokens = ManagedIdentityTokens(
        credential.client_id, session, token_exchange_audience=token_exchange_audience
    )
    # The sign-in app registration trusts the identity (a federated identity credential): MSAL
    # calls this for each token request, and the identity's own cache keeps it cheap.
    return Proofs(tokens, {"client_assertion": tokens.client_assertion}, session, tokens)
