"""Delegated sign-in over real HTTP with MSAL's real code against the sandbox identity provider."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest

from bot.web.keys import SANDBOX, SETTINGS, STORAGE
from sandbox.identity import DEFAULT_USERS
from sandbox.server import SandboxServer
from tests.browser import Browser
from tests.conftest import (
    ALEX,
    MEGAN,
    BotClient,
    Connector,
    MakeBot,
    card_of,
    complete_sign_in,
    database_at_rest,
    facts_of,
    say,
    sign_in,
    sign_in_url,
)

CASEY = next(u for u in DEFAULT_USERS if u.upn == "casey@personal.example")


@pytest.fixture
async def bot(make_bot: MakeBot) -> BotClient:
    """Complete commands create at once here; the confirmation step has its own tests."""
    return await make_bot(SKIP_CONFIRMATION="true")


def meeting_cards(activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        card_of(a)
        for a in activities
        if a.get("attachments") and card_of(a)["actions"][0]["title"] == "Join meeting"
    ]


async def test_first_meet_asks_to_sign_in_then_the_meeting_appears_without_retyping(
    bot: BotClient, connector: Connector, sandbox: SandboxServer
) -> None:
    [card] = await say(bot, connector, "/meet Standup now")
    assert sandbox.graph.requests == []  # nothing created before sign-in
    assert "“Standup”" in card_of(card)["body"][1]["text"]

    page = await complete_sign_in(sign_in_url(card), username=ALEX.upn)

    assert page.status_code == 200
    assert "You can close this tab" in page.text
    [meeting_card] = meeting_cards(connector.updates)  # in place of the sign-in card
    assert meeting_card["body"][0]["text"] == "Standup"
    assert connector.updates[-1]["conversation"]["id"] == "a:personal-chat"
    assert connector.updates[-1]["id"] == "reply-1"
    [meeting] = sandbox.graph.meetings()
    assert meeting["participants"]["organizer"]["identity"]["user"]["id"] == ALEX.oid
    assert sandbox.idp.token_grants == ["authorization_code"]


async def test_sign_in_link_carries_the_users_login_hint(
    bot: BotClient, connector: Connector
) -> None:
    [card] = await say(bot, connector, "/signin")
    async with Browser() as browser:
        page = await browser.open(sign_in_url(card))
    assert f'value="{ALEX.upn}"' in page.text
    assert "<script" not in page.text  # the sign-in page works without JavaScript


async def test_second_meet_needs_no_sign_in(
    bot: BotClient, connector: Connector, sandbox: SandboxServer
) -> None:
    await sign_in(bot, connector)

    [reply] = await say(bot, connector, "/meet Retro now")

    assert card_of(reply)["body"][0]["text"] == "Retro"
    assert facts_of(card_of(reply))["Passcode"]
    assert sandbox.idp.token_grants == ["authorization_code"]  # the cached token was used


async def test_sign_in_survives_a_restart(make_bot: MakeBot, connector: Connector) -> None:
    first = await make_bot(SKIP_CONFIRMATION="true")
    await sign_in(first, connector)
    await first.close()

    second = await make_bot(SKIP_CONFIRMATION="true")
    [reply] = await say(second, connector, "/meet After restart now")

    assert card_of(reply)["body"][0]["text"] == "After restart"


async def test_signin_when_already_signed_in_says_so(bot: BotClient, connector: Connector) -> None:
    await sign_in(bot, connector)
    [reply] = await say(bot, connector, "/signin")
    assert reply["text"] == "You're already signed in."


async def test_sign_in_without_a_waiting_request_confirms(
    bot: BotClient, connector: Connector
) -> None:
    [card] = await say(bot, connector, "/signin")
    await complete_sign_in(sign_in_url(card), username=ALEX.upn)
    assert connector.activities[-1] == card  # no new message: the /signin card changes
    [signed_in] = connector.updates
    assert signed_in["id"] == card["id"]
    card = card_of(signed_in)
    assert card["body"][0]["text"] == "Signed in as Test User"
    assert card["body"][1]["text"].startswith("You're signed in.")
    assert card["actions"] == []


async def test_link_opened_by_a_colleague_is_refused_and_nothing_is_stored(
    bot: BotClient, connector: Connector, sandbox: SandboxServer
) -> None:
    [card] = await say(bot, connector, "/meet Standup now")

    page = await complete_sign_in(sign_in_url(card), username=MEGAN.upn)

    assert page.status_code == 403
    assert "belongs to another Teams user" in page.text
    told = connector.activities[-1]["text"]
    assert "belongs to another Teams user" in told
    assert "/signin" in told
    assert sandbox.graph.meetings() == []
    stored = await bot.app[STORAGE].read([f"msal-cache/{ALEX.tenant_id}/{ALEX.oid}"])
    assert stored == {}
    # Alex is still not signed in; Megan's token was not attached to anyone.
    [again] = await say(bot, connector, "/meet Standup now")
    assert sign_in_url(again)


async def test_personal_microsoft_account_is_refused_at_the_tenants_sign_in_page(
    bot: BotClient, connector: Connector
) -> None:
    [card] = await say(bot, connector, "/signin")
    async with Browser() as browser:
        authorize_page = await browser.open(sign_in_url(card))
        refused = await browser.submit(authorize_page, username=CASEY.upn)

    # Sign-in goes to the tenant Teams runs in, where this account is not even a guest.
    assert refused.status_code == 400
    assert "AADSTS50020" in refused.text
    assert "live.com" in refused.text
    stored = await bot.app[STORAGE].read([f"msal-cache/{ALEX.tenant_id}/{ALEX.oid}"])
    assert stored == {}


async def test_replayed_callback_is_refused(
    bot: BotClient, connector: Connector, sandbox: SandboxServer
) -> None:
    [card] = await say(bot, connector, "/meet Standup now")
    async with Browser() as browser:
        authorize_page = await browser.open(sign_in_url(card))
        answer = await browser.submit(authorize_page, username=ALEX.upn)
        first = await browser.submit(answer)
        replay = await browser.submit(answer)

    assert first.status_code == 200
    assert replay.status_code == 400
    assert "already used" in replay.text or "not valid" in replay.text
    assert len(sandbox.graph.meetings()) == 1


async def test_expired_sign_in_link_is_refused_and_forgotten(
    bot: BotClient, connector: Connector
) -> None:
    [card] = await say(bot, connector, "/meet Standup now")
    url = sign_in_url(card)
    storage = bot.app[STORAGE]
    key = "signin/" + url.split("id=", 1)[1]
    item = (await storage.read([key]))[key]
    await storage.write({key: {**item, "created": item["created"] - 601}})

    async with Browser() as browser:
        page = await browser.open(url)

    assert page.status_code == 400
    assert "expired" in page.text
    assert await storage.read([key]) == {}


async def test_unknown_state_is_refused(bot: BotClient) -> None:
    response = await bot.post("/auth/callback", data={"state": "forged", "code": "x"})
    assert response.status == 400


async def test_expired_access_token_is_refreshed_silently(
    bot: BotClient, connector: Connector, sandbox: SandboxServer
) -> None:
    sandbox.idp.access_token_lifetime = 60  # inside MSAL's refresh margin: stale at once
    await sign_in(bot, connector)

    [reply] = await say(bot, connector, "/meet Standup now")

    assert card_of(reply)["body"][0]["text"] == "Standup"
    assert sandbox.idp.token_grants == ["authorization_code", "refresh_token"]


async def test_revoked_refresh_token_leads_to_a_new_sign_in_keeping_the_request(
    bot: BotClient, connector: Connector, sandbox: SandboxServer
) -> None:
    sandbox.idp.access_token_lifetime = 60
    await sign_in(bot, connector)
    await sandbox.idp.revoke_refresh_tokens(ALEX.oid)

    [card] = await say(bot, connector, "/meet Budget 2030-01-15T10:00 45m")
    assert sandbox.graph.meetings() == []
    await complete_sign_in(sign_in_url(card), username=ALEX.upn)

    [meeting_card] = meeting_cards(connector.updates)
    assert meeting_card["body"][0]["text"] == "Budget"
    [meeting] = sandbox.graph.meetings()
    assert meeting["endDateTime"].startswith("2030-01-15T09:45:00")  # 10:45 in Berlin


async def test_graph_rejecting_the_token_asks_for_sign_in_and_keeps_the_request(
    bot: BotClient, connector: Connector, sandbox: SandboxServer
) -> None:
    await sign_in(bot, connector)
    sandbox.graph.faults.fail_next(401, code="InvalidAuthenticationToken")

    [card] = await say(bot, connector, "/meet Standup now")
    await complete_sign_in(sign_in_url(card), username=ALEX.upn)

    assert [c["body"][0]["text"] for c in meeting_cards(connector.updates)] == ["Standup"]


async def test_signout_forgets_the_users_tokens(bot: BotClient, connector: Connector) -> None:
    await sign_in(bot, connector)

    [reply] = await say(bot, connector, "/signout")
    [next_reply] = await say(bot, connector, "/meet Standup now")

    assert reply["text"].startswith("You're signed out")
    assert sign_in_url(next_reply)


async def test_a_sign_out_in_another_process_takes_effect_here(
    bot: BotClient, connector: Connector
) -> None:
    await sign_in(bot, connector)
    await say(bot, connector, "/meet Standup now")  # this process now has Alex's tokens open

    # Another instance of the bot, sharing the storage, signed Alex out.
    await bot.app[STORAGE].delete([f"msal-cache/{ALEX.tenant_id}/{ALEX.oid}"])
    [reply] = await say(bot, connector, "/meet Retro now")

    assert sign_in_url(reply)


async def test_tokens_are_never_stored_in_clear_text(bot: BotClient, connector: Connector) -> None:
    await sign_in(bot, connector)
    await say(bot, connector, "/meet Standup now")
    files, raw = await database_at_rest(bot)
    # No JWT (access or id token): a header and a payload, each base64 JSON. A bare "eyJ" can
    # turn up by chance in the encrypted values' base64.
    assert re.search(rb"eyJ[\w-]+\.eyJ[\w-]+\.", raw) is None
    assert b"refresh_token" not in raw
    assert b"code_verifier" not in raw
    with sqlite3.connect(files[0]) as database:
        keys = [key for (key,) in database.execute("SELECT key FROM items")]
    assert f"msal-cache/{ALEX.tenant_id}/{ALEX.oid}" in keys


# -- application mode ---------------------------------------------------------------------------


@pytest.fixture
async def app_mode_bot(make_bot: MakeBot) -> BotClient:
    return await make_bot(GRAPH_PERMISSION="application", SKIP_CONFIRMATION="true")


async def test_application_mode_creates_meetings_for_the_requester_through_users(
    app_mode_bot: BotClient, connector: Connector
) -> None:
    sandbox = app_mode_bot.app[SANDBOX]

    [reply] = await say(app_mode_bot, connector, "/meet Standup now")

    assert card_of(reply)["body"][0]["text"] == "Standup"
    [request] = sandbox.graph.requests
    assert request.path.endswith(f"/v1.0/users/{ALEX.oid}/onlineMeetings")
    [meeting] = sandbox.graph.meetings()
    assert meeting["participants"]["organizer"]["identity"]["user"]["id"] == ALEX.oid
    assert sandbox.idp.token_grants == ["client_credentials"]


async def test_application_mode_explains_a_missing_access_policy(
    app_mode_bot: BotClient, connector: Connector
) -> None:
    sandbox = app_mode_bot.app[SANDBOX]
    sandbox.graph.revoke_access_policies()

    [reply] = await say(app_mode_bot, connector, "/meet Standup now")

    assert "application access policy" in reply["text"]
    assert "admin" in reply["text"]
    assert sandbox.graph.meetings() == []


async def test_application_mode_needs_no_sign_in(
    app_mode_bot: BotClient, connector: Connector
) -> None:
    [reply] = await say(app_mode_bot, connector, "/signin")
    assert reply["text"].startswith("No sign-in needed")
    response = await app_mode_bot.get("/auth/start?id=x")
    assert response.status == 404


async def test_the_sandbox_key_for_tokens_at_rest_is_readable_by_its_owner_only(
    bot: BotClient,
) -> None:
    key_file = bot.app[SETTINGS].data_dir / "token-cache.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
