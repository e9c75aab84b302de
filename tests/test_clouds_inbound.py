"""A US Government bot checks incoming activities against the US Government's Bot Framework.

The cloud's metadata and login are pointed at local stand-ins through the single settings, the
way a deployment overrides one endpoint; everything else comes from CLOUD=USGov.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from tests.bot_framework_issuer import BotFrameworkIssuer, BotLogin
from tests.conftest import BotClient, Connector, MakeBot, activity, card_of, facts_of

APP_ID = "6b0d2c4e-8a1f-4b3c-9d5e-7f6a2b1c0d93"
GOV_ISSUER = "https://api.botframework.us"  # Microsoft's, for GCC High and DoD
PUBLIC_ISSUER = "https://api.botframework.com"


@pytest.fixture
def gov_issuer() -> Iterator[BotFrameworkIssuer]:
    server = BotFrameworkIssuer(issuer=GOV_ISSUER)
    yield server
    server.close()


@pytest.fixture
async def gov_bot(make_bot: MakeBot, gov_issuer: BotFrameworkIssuer, login: BotLogin) -> BotClient:
    return await make_bot(
        MicrosoftAppType="MultiTenant",
        MicrosoftAppId=APP_ID,
        MicrosoftAppPassword="not-a-real-secret",
        HOST="127.0.0.1",
        PUBLIC_URL="https://meet.example.com",
        TOKEN_CACHE_KEY=Fernet.generate_key().decode(),
        CLOUD="USGov",
        BotOpenIdMetadata=gov_issuer.metadata_url,
        ToChannelFromBotLoginUrl=login.url,
    )


async def test_a_us_government_token_is_checked_against_the_government_keys_and_answered(
    gov_bot: BotClient, connector: Connector, gov_issuer: BotFrameworkIssuer, login: BotLogin
) -> None:
    token = gov_issuer.token(audience=APP_ID, service_url=connector.url)

    response = await gov_bot.post(
        "/api/messages",
        json=activity("/help", service_url=connector.url),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status in (200, 201), await response.text()
    assert gov_issuer.requests == 2  # its metadata, then its keys
    [reply] = connector.activities
    assert "/meet" in facts_of(card_of(reply))
    assert login.issued == 1  # the reply went with a token from the configured login


async def test_a_token_naming_the_public_clouds_issuer_is_refused(
    gov_bot: BotClient, connector: Connector, gov_issuer: BotFrameworkIssuer
) -> None:
    # Signed with the right key: only the issuer is the public cloud's.
    token = gov_issuer.token(audience=APP_ID, service_url=connector.url, issuer=PUBLIC_ISSUER)

    response = await gov_bot.post(
        "/api/messages",
        json=activity("/help", service_url=connector.url),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status == 401
    assert connector.activities == []
