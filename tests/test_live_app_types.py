"""The bot in live mode, end to end on this machine, for each app type.

Every Microsoft service is a local stand-in reached through the settings an operator would use
for another cloud: Bot Framework signs the inbound activities (BotOpenIdMetadata), the sandbox
identity provider plays Entra ID and Bot Framework's token service (ToChannelFromBotLoginUrl,
AUTH_AUTHORITY), the sandbox Graph serves meetings (GRAPH_BASE_URL), App Service's
managed-identity endpoint comes from IDENTITY_ENDPOINT / IDENTITY_HEADER, and the Bot Connector
takes a reply only with a valid token for the bot.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.client_assertions import FederatedCredential
from sandbox.identity import BOT_FRAMEWORK_RESOURCE, SANDBOX_TENANT_ID
from sandbox.server import SandboxServer
from tests.bot_framework_issuer import BotFrameworkIssuer
from tests.certificates import make_certificate
from tests.conftest import (
    ALEX,
    BotClient,
    Connector,
    MakeBot,
    activity,
    card_of,
    complete_sign_in,
    sign_in_url,
)
from tests.processes import start
from tests.sink import V1_ISSUER, BotTokenCheck, Sink

APP_ID = "6b0f1e2d-3c4a-4b5c-8d6e-7f8091a2b3c4"
SECRET = "live-test-secret"
IDENTITY_ID = "0d1c2b3a-4f5e-4d6c-9b8a-7f6e5d4c3b2a"  # the managed identity's client id
SIGN_IN_APP = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"  # the app registration trusting it
TENANT = SANDBOX_TENANT_ID


@pytest.fixture
async def entra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SandboxServer]:
    """Entra ID, Bot Framework's token service, Graph and App Service's identity endpoint.

    Asked for before the bot, so that it stops after the bot has closed its connections.
    """
    server = SandboxServer()
    await server.start()
    # MSAL's requests trust the stand-in's certificate as the system's CAs are trusted.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_bundle))
    yield server
    await server.stop()


@pytest.fixture
def issuer() -> Iterator[BotFrameworkIssuer]:
    server = BotFrameworkIssuer()
    yield server
    server.close()


def token_check(entra: SandboxServer, app_id: str) -> BotTokenCheck:
    return BotTokenCheck(entra.identity.public_jwk(), app_id, TENANT)


def live_settings(entra: SandboxServer, issuer: BotFrameworkIssuer, **env: str) -> dict[str, str]:
    return {
        "MicrosoftAppTenantId": TENANT,
        "HOST": "127.0.0.1",
        "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
        "BotOpenIdMetadata": issuer.metadata_url,
        "ToChannelFromBotLoginUrl": entra.authority(TENANT),
        "AUTH_AUTHORITY": entra.authority(TENANT),
        "GRAPH_BASE_URL": entra.graph_url,
        "SKIP_CONFIRMATION": "true",
        **env,
    }


async def send(
    bot: BotClient, connector: Connector, issuer: BotFrameworkIssuer, app_id: str, text: str
) -> list[dict[str, Any]]:
    """A message signed by Bot Framework for `app_id`; what the bot then sent."""
    before = len(connector.activities)
    token = issuer.token(audience=app_id, service_url=connector.url)
    response = await bot.post(
        "/api/messages",
        json=activity(text, service_url=connector.url),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status in (200, 201), await response.text()
    return connector.activities[before:]


async def meet_after_sign_in(
    bot: BotClient, connector: Connector, issuer: BotFrameworkIssuer, app_id: str
) -> dict[str, Any]:
    """/meet, the sign-in it asks for, and the meeting card that takes the sign-in card's place."""
    [card] = await send(bot, connector, issuer, app_id, "/meet Standup now")
    assert card_of(card)["actions"][0]["title"] == "Sign in"
    page = await complete_sign_in(sign_in_url(card), username=ALEX.upn)
    assert page.status_code == 200, page.text
    [meeting] = [
        card_of(update)
        for update in connector.updates
        if card_of(update)["actions"][0]["title"] == "Join meeting"
    ]
    return meeting


# -- single-tenant, with a client secret ---------------------------------------------------------


@pytest.fixture
async def secret_bot(
    entra: SandboxServer, issuer: BotFrameworkIssuer, connector: Connector, make_bot: MakeBot
) -> BotClient:
    entra.idp.clients[APP_ID] = SECRET  # the app registration's client secret
    connector.check = token_check(entra, APP_ID)
    return await make_bot(
        **live_settings(entra, issuer, MicrosoftAppId=APP_ID, MicrosoftAppPassword=SECRET)
    )


async def test_single_tenant_with_a_secret_signs_in_and_answers_with_its_own_token(
    secret_bot: BotClient, connector: Connector, issuer: BotFrameworkIssuer, entra: SandboxServer
) -> None:
    meeting = await meet_after_sign_in(secret_bot, connector, issuer, APP_ID)

    assert meeting["body"][0]["text"] == "Standup"
    assert [m["subject"] for m in entra.graph.meetings()] == ["Standup"]
    assert connector.check is not None
    assert connector.check.refused == 0
    # One token for the Bot Connector (from the tenant's login), one sign-in code redeemed.
    assert sorted(entra.idp.token_grants) == ["authorization_code", "client_credentials"]


async def test_a_reply_without_the_bots_token_is_refused_by_the_connector(
    entra: SandboxServer, issuer: BotFrameworkIssuer, connector: Connector, make_bot: MakeBot
) -> None:
    entra.idp.clients[APP_ID] = SECRET
    connector.check = token_check(entra, "another-bots-app-id")  # expects another bot
    bot = await make_bot(
        **live_settings(entra, issuer, MicrosoftAppId=APP_ID, MicrosoftAppPassword=SECRET)
    )

    token = issuer.token(audience=APP_ID, service_url=connector.url)
    await bot.post(
        "/api/messages",
        json=activity("/help", service_url=connector.url),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert connector.activities == []
    assert connector.check.refused >= 1


def _bot_framework_token(key: Any, *, app_id: str = APP_ID, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "aud": BOT_FRAMEWORK_RESOURCE,
        "iss": V1_ISSUER.format(tenant=TENANT),
        "appid": app_id,
        "tid": TENANT,
        "nbf": now - 10,
        "exp": now + 600,
        **changes,
    }
    return jwt.encode(claims, key, algorithm="RS256")


@pytest.mark.parametrize(
    "case",
    ["missing", "not a jwt", "forged", "other app", "expired", "wrong audience", "wrong tenant"],
)
async def test_the_connector_refuses_anything_but_a_valid_token_for_the_bot(
    entra: SandboxServer, connector: Connector, case: str
) -> None:
    connector.check = token_check(entra, APP_ID)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sandbox_key = entra.identity._key  # the token service's own key, for tokens it never issued
    authorization = {
        "missing": "",
        "not a jwt": "Bearer not-a-jwt",
        "forged": "Bearer " + _bot_framework_token(stranger),
        "other app": "Bearer " + _bot_framework_token(sandbox_key, app_id="other-app"),
        "expired": "Bearer " + _bot_framework_token(sandbox_key, exp=int(time.time()) - 60),
        "wrong audience": "Bearer "
        + _bot_framework_token(sandbox_key, aud="https://graph.microsoft.com"),
        "wrong tenant": "Bearer "
        + _bot_framework_token(sandbox_key, iss=V1_ISSUER.format(tenant="another-tenant")),
    }[case]
    good = "Bearer " + _bot_framework_token(sandbox_key)
    url = f"{connector.url}/v3/conversations/a:personal-chat/activities"
    body = {"type": "message", "text": "hello"}

    async with httpx.AsyncClient() as client:
        refused = await client.post(url, json=body, headers={"Authorization": authorization})
        accepted = await client.post(url, json=body, headers={"Authorization": good})

    assert refused.status_code == 401
    assert accepted.status_code == 200
    assert len(connector.activities) == 1


def test_the_threaded_connector_for_bot_processes_checks_the_token_too(
    entra: SandboxServer,
) -> None:
    check = token_check(entra, APP_ID)
    sink = Sink(check=check)
    sandbox_key = entra.identity._key
    url = f"{sink.url}/v3/conversations/a:personal-chat/activities"
    body = {"type": "message", "text": "hello"}
    try:
        forged = httpx.post(
            url,
            json=body,
            headers={"Authorization": "Bearer " + _bot_framework_token(sandbox_key, app_id="x")},
        )
        good = httpx.post(
            url, json=body, headers={"Authorization": "Bearer " + _bot_framework_token(sandbox_key)}
        )
    finally:
        sink.close()

    assert (forged.status_code, good.status_code) == (401, 200)
    assert (len(sink.activities), check.refused) == (1, 1)


# -- single-tenant, with a certificate -----------------------------------------------------------


async def test_single_tenant_with_a_certificate_needs_no_secret(
    entra: SandboxServer,
    issuer: BotFrameworkIssuer,
    connector: Connector,
    make_bot: MakeBot,
    tmp_path: Path,
) -> None:
    path, pem = make_certificate(tmp_path)
    entra.idp.assertions.add_certificate(APP_ID, pem)  # uploaded to the app registration
    connector.check = token_check(entra, APP_ID)
    bot = await make_bot(
        **live_settings(entra, issuer, MicrosoftAppId=APP_ID, CERTIFICATE_FILE=str(path))
    )

    meeting = await meet_after_sign_in(bot, connector, issuer, APP_ID)

    assert meeting["body"][0]["text"] == "Standup"
    assert connector.check.refused == 0
    assert APP_ID not in entra.idp.clients  # no secret anywhere


async def test_a_certificate_the_app_registration_does_not_hold_gets_no_token(
    entra: SandboxServer,
    issuer: BotFrameworkIssuer,
    connector: Connector,
    make_bot: MakeBot,
    tmp_path: Path,
) -> None:
    path, _ = make_certificate(tmp_path)
    (tmp_path / "other").mkdir()
    _, registered = make_certificate(tmp_path / "other")  # another one, uploaded
    entra.idp.assertions.add_certificate(APP_ID, registered)
    connector.check = token_check(entra, APP_ID)
    bot = await make_bot(
        **live_settings(entra, issuer, MicrosoftAppId=APP_ID, CERTIFICATE_FILE=str(path))
    )

    token = issuer.token(audience=APP_ID, service_url=connector.url)
    await bot.post(
        "/api/messages",
        json=activity("/help", service_url=connector.url),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert connector.activities == []
    assert entra.idp.token_grants == []


# -- a user-assigned managed identity ------------------------------------------------------------


@pytest.fixture
def identity_env(entra: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """What App Service sets in the environment of an app with a managed identity."""
    for name, value in entra.identity_environment.items():
        monkeypatch.setenv(name, value)


async def test_a_managed_identity_bot_answers_and_signs_users_in_without_any_secret(
    entra: SandboxServer,
    issuer: BotFrameworkIssuer,
    connector: Connector,
    make_bot: MakeBot,
    identity_env: None,
) -> None:
    assigned = entra.managed_identity.assign(IDENTITY_ID, tenant_id=TENANT)
    # The sign-in app registration trusts the identity: a federated identity credential.
    entra.idp.assertions.add_federated_credential(
        SIGN_IN_APP,
        FederatedCredential(
            issuer=f"{entra.idp.tls_origin}/{TENANT}/v2.0", subject=assigned.principal_id
        ),
    )
    connector.check = token_check(entra, IDENTITY_ID)
    bot = await make_bot(
        **live_settings(
            entra,
            issuer,
            MicrosoftAppId=IDENTITY_ID,
            MicrosoftAppType="UserAssignedMSI",
            AUTH_CLIENT_ID=SIGN_IN_APP,
        )
    )

    meeting = await meet_after_sign_in(bot, connector, issuer, IDENTITY_ID)

    assert meeting["body"][0]["text"] == "Standup"
    assert connector.check.refused == 0
    assert entra.idp.token_grants == ["authorization_code"]  # with the identity's assertion
    assert set(entra.managed_identity.issued) == {
        (IDENTITY_ID, BOT_FRAMEWORK_RESOURCE),
        (IDENTITY_ID, "api://AzureADTokenExchange"),
    }


async def test_a_managed_identity_bot_in_application_mode_uses_the_identitys_graph_token(
    entra: SandboxServer,
    issuer: BotFrameworkIssuer,
    connector: Connector,
    make_bot: MakeBot,
    identity_env: None,
) -> None:
    entra.managed_identity.assign(IDENTITY_ID, tenant_id=TENANT)
    entra.graph.grant_access_policy(IDENTITY_ID)
    connector.check = token_check(entra, IDENTITY_ID)
    bot = await make_bot(
        **live_settings(
            entra,
            issuer,
            MicrosoftAppId=IDENTITY_ID,
            MicrosoftAppType="UserAssignedMSI",
            GRAPH_PERMISSION="application",
        )
    )

    [reply] = await send(bot, connector, issuer, IDENTITY_ID, "/meet Standup now")

    assert card_of(reply)["body"][0]["text"] == "Standup"
    [meeting] = entra.graph.meetings()
    assert meeting["participants"]["organizer"]["identity"]["user"]["id"] == ALEX.oid
    assert entra.idp.token_grants == []  # nothing asked of the login: all from the identity
    assert connector.check.refused == 0


async def test_a_federated_credential_for_another_subject_is_refused(
    entra: SandboxServer,
    issuer: BotFrameworkIssuer,
    connector: Connector,
    make_bot: MakeBot,
    identity_env: None,
) -> None:
    entra.managed_identity.assign(IDENTITY_ID, tenant_id=TENANT)
    entra.idp.assertions.add_federated_credential(
        SIGN_IN_APP,
        FederatedCredential(issuer=f"{entra.idp.tls_origin}/{TENANT}/v2.0", subject="someone-else"),
    )
    connector.check = token_check(entra, IDENTITY_ID)
    bot = await make_bot(
        **live_settings(
            entra,
            issuer,
            MicrosoftAppId=IDENTITY_ID,
            MicrosoftAppType="UserAssignedMSI",
            AUTH_CLIENT_ID=SIGN_IN_APP,
        )
    )
    [card] = await send(bot, connector, issuer, IDENTITY_ID, "/meet Standup now")

    await complete_sign_in(sign_in_url(card), username=ALEX.upn)

    assert entra.graph.meetings() == []
    assert entra.idp.token_grants == []  # the code was not redeemed


# -- multi-tenant, for existing bots ---------------------------------------------------------------


def test_a_multi_tenant_bot_still_starts_and_says_what_changed(tmp_path: Path) -> None:
    app = start(
        {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": SECRET,
            "MicrosoftAppType": "MultiTenant",
            "PUBLIC_URL": "https://meet.example.com",
            "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
            "HOST": "127.0.0.1",
        },
        tmp_path,
    )
    health = httpx.get(f"{app.base}/healthz")
    output = app.stop()

    assert health.json()["mode"] == "live"
    assert "MicrosoftAppType=MultiTenant" in output
    assert "no longer creates multi-tenant bots" in output
    assert SECRET not in output
