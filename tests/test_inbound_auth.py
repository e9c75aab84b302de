"""With credentials, only activities carrying a valid Bot Framework token reach the bot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from botbuilder.schema import Activity
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.web.keys import ADAPTER, STORAGE
from tests.bot_framework_issuer import BotFrameworkIssuer, BotLogin, Outage
from tests.conftest import BotClient, Connector, MakeBot, activity, card_of, facts_of

APP_ID = "3f1e9a57-6d0c-4d4e-9a43-2f6a1b8c7d90"


@pytest.fixture
def issuer() -> Iterator[BotFrameworkIssuer]:
    server = BotFrameworkIssuer()
    yield server
    server.close()


@pytest.fixture
async def live_bot(make_bot: MakeBot, issuer: BotFrameworkIssuer, login: BotLogin) -> BotClient:
    # Bot Framework's own settings point every token at a stand-in: nothing leaves the machine.
    return await make_bot(
        MicrosoftAppId=APP_ID,
        MicrosoftAppPassword="not-a-real-secret",
        MicrosoftAppTenantId="22222222-2222-2222-2222-222222222222",
        HOST="127.0.0.1",
        PUBLIC_URL="https://meet.example.com",
        TOKEN_CACHE_KEY=Fernet.generate_key().decode(),
        BotOpenIdMetadata=issuer.metadata_url,
        ToChannelFromBotLoginUrl=login.url,
    )


def forged_tokens(issuer: BotFrameworkIssuer, service_url: str) -> dict[str, str]:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good: dict[str, Any] = {"audience": APP_ID, "service_url": service_url}
    return {
        "missing": "",
        "not a jwt": "Bearer not-a-jwt",
        "bad signature": "Bearer " + issuer.token(**good, key=stranger),
        "unknown key": "Bearer " + issuer.token(**good, key=stranger, key_id="unknown-kid"),
        "wrong audience": "Bearer "
        + issuer.token(audience="someone-else", service_url=service_url),
        "expired": "Bearer " + issuer.token(**good, lifetime=-600),
        "wrong issuer": "Bearer " + issuer.token(**good, issuer="https://evil.example.com"),
        "other serviceUrl": "Bearer "
        + issuer.token(audience=APP_ID, service_url="https://attacker.example.com/"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "not a jwt",
        "bad signature",
        "unknown key",
        "wrong audience",
        "expired",
        "wrong issuer",
        "other serviceUrl",
    ],
)
async def test_an_activity_without_a_valid_token_is_refused_and_runs_no_bot_code(
    live_bot: BotClient, connector: Connector, issuer: BotFrameworkIssuer, case: str
) -> None:
    authorization = forged_tokens(issuer, connector.url)[case]
    headers = {"Authorization": authorization} if authorization else {}

    response = await live_bot.post(
        "/api/messages", json=activity("/meet", service_url=connector.url), headers=headers
    )

    assert response.status == 401
    assert connector.activities == []
    assert await _dialog_state(live_bot) == {}  # the bot never started a conversation


async def test_an_activity_with_a_valid_token_is_answered(
    live_bot: BotClient, connector: Connector, issuer: BotFrameworkIssuer, login: BotLogin
) -> None:
    token = issuer.token(audience=APP_ID, service_url=connector.url)
    response = await live_bot.post(
        "/api/messages",
        json=activity("/help", service_url=connector.url),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status in (200, 201), await response.text()
    [reply] = connector.activities
    assert "/meet" in facts_of(card_of(reply))  # the help card, not an apology for an error
    assert login.issued == 1  # the reply went with the bot's own token


@pytest.mark.parametrize("outage", ["down", "hangs", "500"])
async def test_an_activity_is_deferred_while_the_signing_keys_are_out_of_reach_then_processed(
    live_bot: BotClient, connector: Connector, issuer: BotFrameworkIssuer, outage: Outage
) -> None:
    payload = activity("/meet", service_url=connector.url)
    headers = {
        "Authorization": f"Bearer {issuer.token(audience=APP_ID, service_url=connector.url)}"
    }
    issuer.fail(outage)

    deferred = await live_bot.post("/api/messages", json=payload, headers=headers)

    assert deferred.status == 503  # Bot Framework retries a 5xx; it drops a 401
    assert int(deferred.headers["Retry-After"]) > 0
    assert connector.activities == []
    assert await _dialog_state(live_bot) == {}

    issuer.recover()
    retried = await live_bot.post("/api/messages", json=payload, headers=headers)

    assert retried.status in (200, 201), await retried.text()
    assert connector.activities  # the bot answered


async def test_a_burst_during_a_hung_key_fetch_waits_for_one_fetch_and_blocks_nothing(
    live_bot: BotClient, connector: Connector, issuer: BotFrameworkIssuer
) -> None:
    headers = {
        "Authorization": f"Bearer {issuer.token(audience=APP_ID, service_url=connector.url)}"
    }
    issuer.fail("hangs")

    burst = [
        asyncio.create_task(
            live_bot.post(
                "/api/messages", json=activity("/meet", service_url=connector.url), headers=headers
            )
        )
        for _ in range(5)
    ]
    await asyncio.sleep(0.5)
    health = await asyncio.wait_for(live_bot.get("/healthz"), 1.0)  # the loop is free meanwhile
    answers = await asyncio.gather(*burst)

    assert health.status == 200
    assert [a.status for a in answers] == [503] * 5
    assert issuer.requests == 1  # one fetch answered them all


async def test_a_forged_token_is_refused_without_asking_for_keys_again(
    live_bot: BotClient, connector: Connector, issuer: BotFrameworkIssuer
) -> None:
    payload = activity("/meet", service_url=connector.url)
    valid = issuer.token(audience=APP_ID, service_url=connector.url)
    await live_bot.post("/api/messages", json=payload, headers={"Authorization": f"Bearer {valid}"})
    fetched = issuer.requests
    issuer.fail("down")

    for case in ("bad signature", "unknown key", "expired", "wrong audience"):
        authorization = forged_tokens(issuer, connector.url)[case]
        response = await live_bot.post(
            "/api/messages", json=payload, headers={"Authorization": authorization}
        )
        assert response.status == 401, case
    assert issuer.requests == fetched  # the keys in hand judged every one


async def _dialog_state(bot: BotClient) -> dict[str, Any]:
    key = "msteams/conversations/a:personal-chat/users/29:00000000-0000-0000-0000-0000000000020"
    result: dict[str, Any] = await bot.app[STORAGE].read([key])
    return result


async def test_connector_clients_are_built_once_and_reused_across_turns(
    live_bot: BotClient, connector: Connector, issuer: BotFrameworkIssuer
) -> None:
    auth = live_bot.app[ADAPTER].bot_framework_authentication
    incoming = Activity().deserialize(activity("/help", service_url=connector.url))
    header = f"Bearer {issuer.token(audience=APP_ID, service_url=connector.url)}"

    first = await auth.authenticate_request(incoming, header)
    second = await auth.authenticate_request(incoming, header)

    client = await first.connector_factory.create(connector.url, first.audience)
    assert client is await second.connector_factory.create(connector.url, second.audience)
    token_client = await auth.create_user_token_client(first.claims_identity)
    assert token_client is await auth.create_user_token_client(second.claims_identity)
