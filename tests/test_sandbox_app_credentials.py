"""The sandbox's managed-identity endpoint speaks App Service's protocol, and its identity provider
takes client assertions only as Entra ID does."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.clouds import PUBLIC
from bot.credentials import AppTokenUnavailable, ManagedIdentityTokens
from sandbox.client_assertions import JWT_BEARER, FederatedCredential
from sandbox.identity import BOT_FRAMEWORK_RESOURCE, SANDBOX_TENANT_ID
from sandbox.server import SandboxServer
from tests.certificates import make_certificate
from tests.processes import run_until_it_stops

EXCHANGE = PUBLIC.token_exchange_audience

IDENTITY_ID = "0d1c2b3a-4f5e-4d6c-9b8a-7f6e5d4c3b2a"
APP_ID = "6b0f1e2d-3c4a-4b5c-8d6e-7f8091a2b3c4"


@pytest.fixture
async def entra() -> AsyncIterator[SandboxServer]:
    server = SandboxServer()
    await server.start()
    yield server
    await server.stop()


async def ask_identity(
    entra: SandboxServer, *, header: str | None = "", **params: str
) -> httpx.Response:
    query = {"api-version": "2019-08-01", "resource": BOT_FRAMEWORK_RESOURCE} | params
    sent = entra.managed_identity.header if header == "" else header
    headers = {"X-IDENTITY-HEADER": sent} if sent is not None else {}
    async with httpx.AsyncClient() as client:
        return await client.get(
            entra.identity_environment["IDENTITY_ENDPOINT"], params=query, headers=headers
        )


async def test_the_identity_endpoint_answers_as_app_service_does(entra: SandboxServer) -> None:
    assigned = entra.managed_identity.assign(IDENTITY_ID, tenant_id=SANDBOX_TENANT_ID)

    response = await ask_identity(entra, client_id=IDENTITY_ID)

    body = response.json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert (body["resource"], body["token_type"], body["client_id"]) == (
        BOT_FRAMEWORK_RESOURCE,
        "Bearer",
        IDENTITY_ID,
    )
    assert int(body["expires_on"]) > time.time()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["aud"], claims["appid"], claims["oid"]) == (
        BOT_FRAMEWORK_RESOURCE,
        IDENTITY_ID,
        assigned.principal_id,
    )


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"header": None}, 401),
        ({"header": "guessed"}, 401),
        ({"api-version": "2017-09-01"}, 400),
        ({"resource": ""}, 400),
        ({"resource": "https://vault.azure.net"}, 400),
        ({"client_id": "not-assigned"}, 400),
    ],
)
async def test_the_identity_endpoint_refuses_what_app_service_refuses(
    entra: SandboxServer, change: dict[str, Any], status: int
) -> None:
    entra.managed_identity.assign(IDENTITY_ID, tenant_id=SANDBOX_TENANT_ID)
    header = change.pop("header", "")
    params = {"client_id": IDENTITY_ID} | change

    response = await ask_identity(entra, header=header, **params)

    assert response.status_code == status
    assert set(response.json()) == {"statusCode", "message", "correlationId"}
    assert entra.managed_identity.issued == []


async def test_msal_finds_the_endpoint_in_the_environment_app_service_sets(
    entra: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    entra.managed_identity.assign(IDENTITY_ID, tenant_id=SANDBOX_TENANT_ID)
    for name, value in entra.identity_environment.items():
        monkeypatch.setenv(name, value)
    with requests.Session() as session:
        tokens = ManagedIdentityTokens(IDENTITY_ID, session, token_exchange_audience=EXCHANGE)
        token = await asyncio.to_thread(tokens.token, BOT_FRAMEWORK_RESOURCE)
        again = await asyncio.to_thread(tokens.token, BOT_FRAMEWORK_RESOURCE)

    assert token == again
    assert entra.managed_identity.issued == [(IDENTITY_ID, BOT_FRAMEWORK_RESOURCE)]  # cached


async def test_an_identity_not_assigned_to_the_app_gets_a_typed_error(
    entra: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in entra.identity_environment.items():
        monkeypatch.setenv(name, value)
    with requests.Session() as session:
        tokens = ManagedIdentityTokens(IDENTITY_ID, session, token_exchange_audience=EXCHANGE)
        with pytest.raises(AppTokenUnavailable, match="Unable to load the proper Managed Identity"):
            await asyncio.to_thread(tokens.token, "x")


# -- client assertions at the token endpoint -----------------------------------------------------


async def redeem(entra: SandboxServer, assertion: str) -> httpx.Response:
    tls = ssl.create_default_context(cafile=str(entra.ca_bundle))
    async with httpx.AsyncClient(verify=tls) as client:
        return await client.post(
            f"{entra.authority(SANDBOX_TENANT_ID)}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": APP_ID,
                "scope": f"{BOT_FRAMEWORK_RESOURCE}/.default",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": assertion,
            },
        )


def certificate_assertion(
    key: rsa.RSAPrivateKey, thumbprint: str, audience: str, **changes: Any
) -> str:
    now = int(time.time())
    claims = {
        "aud": audience,
        "iss": APP_ID,
        "sub": APP_ID,
        "jti": str(uuid.uuid4()),
        "exp": now + 600,
        "iat": now,
    } | changes
    return jwt.encode(claims, key, algorithm="PS256", headers={"x5t#S256": thumbprint})


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("valid", 0),
        ("another key", 700027),
        ("unknown thumbprint", 700027),
        ("other token endpoint", 700212),
        ("expired", 700024),
        ("issued by another client", 700021),
        ("no jti", 50027),
    ],
)
async def test_a_certificate_assertion_is_judged_as_entra_does(
    entra: SandboxServer, tmp_path: Path, case: str, code: int
) -> None:
    path, pem = make_certificate(tmp_path)
    entra.idp.assertions.add_certificate(APP_ID, pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode()
    endpoint = f"{entra.authority(SANDBOX_TENANT_ID)}/oauth2/v2.0/token"
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assertion = {
        "valid": lambda: certificate_assertion(key, thumbprint, endpoint),
        "another key": lambda: certificate_assertion(stranger, thumbprint, endpoint),
        "unknown thumbprint": lambda: certificate_assertion(key, "AAAA", endpoint),
        "other token endpoint": lambda: certificate_assertion(
            key, thumbprint, "https://login.microsoftonline.com/x/oauth2/v2.0/token"
        ),
        "expired": lambda: certificate_assertion(key, thumbprint, endpoint, exp=1),
        "issued by another client": lambda: certificate_assertion(
            key, thumbprint, endpoint, iss="someone", sub="someone"
        ),
        "no jti": lambda: certificate_assertion(key, thumbprint, endpoint, jti=""),
    }[case]()

    response = await redeem(entra, assertion)

    if code == 0:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.json()["error_codes"] == [code]


@pytest.mark.parametrize(
    ("credential", "code"),
    [
        ({}, 0),
        ({"issuer": "https://login.microsoftonline.com/another-tenant/v2.0"}, 700211),
        ({"audiences": ("api://SomethingElse",)}, 700212),
        ({"subject": "another-identity"}, 70021),
    ],
)
async def test_a_managed_identity_token_is_accepted_only_as_its_federated_credential_says(
    entra: SandboxServer, credential: dict[str, Any], code: int
) -> None:
    assigned = entra.managed_identity.assign(IDENTITY_ID, tenant_id=SANDBOX_TENANT_ID)
    trusted = {
        "issuer": f"{entra.idp.tls_origin}/{SANDBOX_TENANT_ID}/v2.0",
        "subject": assigned.principal_id,
    } | credential
    entra.idp.assertions.add_federated_credential(APP_ID, FederatedCredential(**trusted))
    response = await ask_identity(
        entra, client_id=IDENTITY_ID, resource="api://AzureADTokenExchange"
    )

    answer = await redeem(entra, response.json()["access_token"])

    if code == 0:
        assert answer.status_code == 200, answer.text
    else:
        assert answer.status_code == 401
        assert answer.json()["error_codes"] == [code]


def test_a_certificate_the_bot_cannot_use_stops_the_start_with_one_line(tmp_path: Path) -> None:
    certificate = tmp_path / "bot.pem"
    certificate.write_text("not a certificate")

    result = run_until_it_stops(
        {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppTenantId": SANDBOX_TENANT_ID,
            "CERTIFICATE_FILE": str(certificate),
            "PUBLIC_URL": "https://meet.example.com",
            "TOKEN_CACHE_KEY": "dGhpcy1pcy1vbmx5LWEtdGVzdC1rZXktMzItYnl0ZXM=",
            "HOST": "127.0.0.1",
        },
        tmp_path,
    )

    assert result.returncode == 2, result.stderr
    assert "must hold a PEM certificate" in result.stderr
    assert "Traceback" not in result.stderr
