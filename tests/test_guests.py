"""Guests (B2B): a person from another organization, invited to the tenant Teams runs in, signs
in and creates meetings as that tenant's guest, over real HTTP with MSAL's real code."""

from __future__ import annotations

import base64
import json
import re
import ssl
from typing import Any

import httpx
import jwt
import pytest

from bot.web.keys import STORAGE
from sandbox.identity import (
    GUEST_KIM,
    PARTNER_KIM,
    PARTNER_TENANT_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_TENANT_ID,
    SandboxUser,
)
from sandbox.idp import SANDBOX_CLIENT_SECRET
from sandbox.server import SandboxServer
from tests.browser import Browser
from tests.conftest import (
    ALEX,
    BotClient,
    Connector,
    MakeBot,
    card_of,
    complete_sign_in,
    say,
    sign_in,
    sign_in_url,
)


@pytest.fixture
async def bot(make_bot: MakeBot) -> BotClient:
    """Complete commands create at once here; the confirmation step has its own tests."""
    return await make_bot(SKIP_CONFIRMATION="true")


def cache_key(user: SandboxUser) -> str:
    """Where the bot keeps a Teams user's sign-in: under the ids Teams gives them."""
    return f"msal-cache/{user.tenant_id}/{user.oid}"


def is_meeting(card: dict[str, Any]) -> bool:
    return bool(card.get("actions")) and card["actions"][0]["title"] == "Join meeting"


async def test_a_guest_signs_in_then_meets_again_without_signing_in(
    bot: BotClient, connector: Connector, sandbox: SandboxServer
) -> None:
    [card] = await say(bot, connector, "/meet Standup now", user=GUEST_KIM)

    page = await complete_sign_in(sign_in_url(card), username=PARTNER_KIM.upn)

    assert page.status_code == 200, page.text
    [meeting_card] = [card_of(u) for u in connector.updates if is_meeting(card_of(u))]
    assert meeting_card["body"][0]["text"] == "Standup"
    [meeting] = sandbox.graph.meetings()
    organizer = meeting["participants"]["organizer"]["identity"]["user"]
    assert (organizer["id"], organizer["tenantId"]) == (GUEST_KIM.oid, SANDBOX_TENANT_ID)

    # The loop issue 14 found: the next request asked for sign-in again, and again.
    [reply] = await say(bot, connector, "/meet Retro now", user=GUEST_KIM)

    assert card_of(reply)["body"][0]["text"] == "Retro"
    assert sandbox.idp.token_grants == ["authorization_code"]  # the cached token was used


async def test_a_guest_signs_in_at_the_tenant_teams_runs_in(
    bot: BotClient, connector: Connector
) -> None:
    [card] = await say(bot, connector, "/signin", user=GUEST_KIM)
    async with Browser() as browser:
        page = await browser.open(sign_in_url(card))
    # Not organizations, which would sign her in to her home tenant.
    assert page.url.path == f"/{SANDBOX_TENANT_ID}/oauth2/v2.0/authorize"
    # Her UPN in the sandbox tenant (from Teams' roster) is not a name she signs in with.
    assert "login_hint" not in page.url.params
    assert "#EXT#" not in page.text


async def test_a_guests_expired_token_is_refreshed_silently(
    bot: BotClient, connector: Connector, sandbox: SandboxServer
) -> None:
    sandbox.idp.access_token_lifetime = 60  # inside MSAL's refresh margin: stale at once
    await sign_in(bot, connector, GUEST_KIM)

    [first] = await say(bot, connector, "/meet Standup now", user=GUEST_KIM)
    [second] = await say(bot, connector, "/meet Retro now", user=GUEST_KIM)

    assert [card_of(first)["body"][0]["text"], card_of(second)["body"][0]["text"]] == [
        "Standup",
        "Retro",
    ]
    assert sandbox.idp.token_grants == ["authorization_code", "refresh_token", "refresh_token"]


@pytest.mark.parametrize("user", [ALEX, GUEST_KIM], ids=["member", "guest"])
async def test_a_sign_in_kept_by_an_earlier_version_still_works(
    bot: BotClient, connector: Connector, sandbox: SandboxServer, user: SandboxUser
) -> None:
    sandbox.idp.access_token_lifetime = 60  # stale at once: the next turn renews and stores it
    await sign_in(bot, connector, user)
    storage = bot.app[STORAGE]
    key = cache_key(user)
    earlier = {k: v for k, v in (await storage.read([key]))[key].items() if k != "account"}
    await storage.write({key: earlier})  # as earlier versions stored it: no bound account

    [reply] = await say(bot, connector, "/meet Standup now", user=user)

    assert card_of(reply)["body"][0]["text"] == "Standup"
    assert sandbox.idp.token_grants == ["authorization_code", "refresh_token"]
    assert "account" in (await storage.read([key]))[key]  # written again, with its account


async def test_someone_else_completing_a_guests_sign_in_is_refused(
    bot: BotClient, connector: Connector, sandbox: SandboxServer
) -> None:
    [card] = await say(bot, connector, "/meet Standup now", user=GUEST_KIM)

    page = await complete_sign_in(sign_in_url(card), username=ALEX.upn)

    assert page.status_code == 403
    assert "belongs to another Teams user" in connector.activities[-1]["text"]
    assert await bot.app[STORAGE].read([cache_key(GUEST_KIM)]) == {}
    assert sandbox.graph.meetings() == []


async def test_a_guest_completing_someone_elses_sign_in_is_refused(
    bot: BotClient, connector: Connector, sandbox: SandboxServer
) -> None:
    [card] = await say(bot, connector, "/meet Standup now", user=ALEX)

    page = await complete_sign_in(sign_in_url(card), username=PARTNER_KIM.upn)

    assert page.status_code == 403
    assert "belongs to another Teams user" in connector.activities[-1]["text"]
    assert await bot.app[STORAGE].read([cache_key(ALEX)]) == {}
    assert sandbox.graph.meetings() == []


# -- the sandbox identity provider's guests, as Entra issues their tokens -----------------------


REDIRECT_URI = "http://127.0.0.1/callback"  # never reached: the code is read off the page


def authorize_url(sandbox: SandboxServer, tenant: str) -> str:
    query = httpx.QueryParams(
        client_id=SANDBOX_CLIENT_ID,
        response_type="code",
        redirect_uri=REDIRECT_URI,
        scope="https://graph.microsoft.com/OnlineMeetings.ReadWrite openid profile",
        response_mode="form_post",
    )
    return f"{sandbox.origin}/{tenant}/oauth2/v2.0/authorize?{query}"


async def tokens_at(sandbox: SandboxServer, tenant: str, username: str) -> dict[str, Any]:
    """Sign `username` in at `tenant`'s authority, as a browser and a confidential client do;
    the token endpoint's answer, with its id_token, access token and client_info decoded."""
    async with Browser() as browser:
        page = await browser.open(authorize_url(sandbox, tenant))
        answer = await browser.submit(page, username=username)
    assert answer.status_code == 200, answer.text
    code = re.search(r'name="code" value="([^"]+)"', answer.text)
    assert code is not None, answer.text
    trust = ssl.create_default_context(cafile=str(sandbox.ca_bundle))
    async with httpx.AsyncClient(verify=trust) as http:
        response = await http.post(
            f"{sandbox.idp.tls_origin}/{tenant}/oauth2/v2.0/token",
            data={
                "grant_type": "authorization_code",
                "code": code[1],
                "redirect_uri": REDIRECT_URI,
                "client_id": SANDBOX_CLIENT_ID,
                "client_secret": SANDBOX_CLIENT_SECRET,
            },
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    padded = body["client_info"] + "=" * (-len(body["client_info"]) % 4)
    return {
        "id_token": jwt.decode(body["id_token"], options={"verify_signature": False}),
        "access_token": jwt.decode(body["access_token"], options={"verify_signature": False}),
        "client_info": json.loads(base64.urlsafe_b64decode(padded)),
    }


async def test_a_guest_signed_in_at_the_resource_tenant_is_its_guest_from_their_home_tenant(
    sandbox: SandboxServer,
) -> None:
    tokens = await tokens_at(sandbox, SANDBOX_TENANT_ID, PARTNER_KIM.upn)

    id_token, access_token = tokens["id_token"], tokens["access_token"]
    assert (id_token["oid"], id_token["tid"]) == (GUEST_KIM.oid, SANDBOX_TENANT_ID)
    assert id_token["iss"] == f"{sandbox.idp.tls_origin}/{SANDBOX_TENANT_ID}/v2.0"
    assert id_token["idp"] == f"https://sts.windows.net/{PARTNER_TENANT_ID}/"
    assert id_token["preferred_username"] == PARTNER_KIM.upn
    assert (access_token["oid"], access_token["tid"]) == (GUEST_KIM.oid, SANDBOX_TENANT_ID)
    assert access_token["iss"] == f"https://sts.windows.net/{SANDBOX_TENANT_ID}/"
    assert access_token["idp"] == f"https://sts.windows.net/{PARTNER_TENANT_ID}/"
    assert "upn" not in access_token
    # MSAL's home account id comes from here: the home tenant's ids.
    assert tokens["client_info"] == {"uid": PARTNER_KIM.oid, "utid": PARTNER_TENANT_ID}


@pytest.mark.parametrize("tenant", ["organizations", "common", PARTNER_TENANT_ID])
async def test_a_guest_signed_in_elsewhere_gets_their_home_tenants_identity(
    sandbox: SandboxServer, tenant: str
) -> None:
    tokens = await tokens_at(sandbox, tenant, PARTNER_KIM.upn)

    id_token = tokens["id_token"]
    assert (id_token["oid"], id_token["tid"]) == (PARTNER_KIM.oid, PARTNER_TENANT_ID)
    assert "idp" not in id_token
    assert tokens["client_info"] == {"uid": PARTNER_KIM.oid, "utid": PARTNER_TENANT_ID}


async def test_a_tenant_refuses_an_account_it_has_not_invited(sandbox: SandboxServer) -> None:
    async with Browser() as browser:
        page = await browser.open(authorize_url(sandbox, PARTNER_TENANT_ID))
        refused = await browser.submit(page, username=ALEX.upn)
    assert refused.status_code == 400
    assert "AADSTS50020" in refused.text
