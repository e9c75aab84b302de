"""CLOUD derives every endpoint from Microsoft's published values; single settings override one."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from cryptography.fernet import Fernet

from bot.clouds import US_GOV, graph_scopes
from bot.credentials import ManagedIdentityTokens, open_proofs
from bot.framework.adapter import bot_framework_endpoints, create_adapter
from bot.framework.signing_keys import SigningKeys
from bot.settings import Settings, SettingsError, describe_cloud
from tests.processes import start

# A multi-tenant bot: the published values below are the multi-tenant ones (a single-tenant bot
# puts its own tenant in its authorities, tested on its own).
LIVE = {
    "MicrosoftAppType": "MultiTenant",
    "MicrosoftAppId": "app",
    "MicrosoftAppPassword": "secret",
    "PUBLIC_URL": "https://meet.example.com",
    "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
}

# What Microsoft publishes for each cloud (the README's "National clouds" table names where),
# written out here independently of bot/clouds.py.
PUBLISHED = {
    "Public": {
        "authority": "https://login.microsoftonline.com/organizations",
        "graph_base_url": "https://graph.microsoft.com/v1.0",
        "bot_login_url": "https://login.microsoftonline.com/botframework.com",
        "bot_oauth_scope": "https://api.botframework.com",
        "bot_token_issuer": "https://api.botframework.com",
        "bot_openid_metadata": "https://login.botframework.com/v1/.well-known/openidconfiguration",
    },
    "USGov": {
        "authority": "https://login.microsoftonline.us/organizations",
        "graph_base_url": "https://graph.microsoft.us/v1.0",
        "bot_login_url": "https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us",
        "bot_oauth_scope": "https://api.botframework.us",
        "bot_token_issuer": "https://api.botframework.us",
        "bot_openid_metadata": (
            "https://login.botframework.azure.us/v1/.well-known/openidconfiguration"
        ),
    },
    "USGovDoD": {
        "authority": "https://login.microsoftonline.us/organizations",
        "graph_base_url": "https://dod-graph.microsoft.us/v1.0",
        "bot_login_url": "https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us",
        "bot_oauth_scope": "https://api.botframework.us",
        "bot_token_issuer": "https://api.botframework.us",
        "bot_openid_metadata": (
            "https://login.botframework.azure.us/v1/.well-known/openidconfiguration"
        ),
    },
    "China": {
        "authority": "https://login.partner.microsoftonline.cn/organizations",
        "graph_base_url": "https://microsoftgraph.chinacloudapi.cn/v1.0",
        "bot_login_url": (
            "https://login.partner.microsoftonline.cn/microsoftservices.partner.onmschina.cn"
        ),
        "bot_oauth_scope": "https://api.botframework.azure.cn",
        "bot_token_issuer": "https://api.botframework.azure.cn",
        "bot_openid_metadata": (
            "https://login.botframework.azure.cn/v1/.well-known/openidconfiguration"
        ),
    },
}

GRAPH_SCOPES = {
    "Public": "https://graph.microsoft.com/OnlineMeetings.ReadWrite",
    "USGov": "https://graph.microsoft.us/OnlineMeetings.ReadWrite",
    "USGovDoD": "https://dod-graph.microsoft.us/OnlineMeetings.ReadWrite",
    "China": "https://microsoftgraph.chinacloudapi.cn/OnlineMeetings.ReadWrite",
}


# A federated identity credential's audience: Entra's in each cloud ("Configure an application
# to trust a managed identity"); the managed identity asks for a token for it.
TOKEN_EXCHANGE = {
    "Public": "api://AzureADTokenExchange",
    "USGov": "api://AzureADTokenExchangeUSGov",
    "USGovDoD": "api://AzureADTokenExchangeUSGov",
    "China": "api://AzureADTokenExchangeChina",
}


def endpoints(settings: Settings) -> dict[str, str]:
    return {name: getattr(settings, name) for name in PUBLISHED["Public"]}


@pytest.mark.parametrize("cloud", list(PUBLISHED))
def test_one_cloud_setting_derives_every_endpoint(cloud: str) -> None:
    settings = Settings.from_env(LIVE | {"CLOUD": cloud})

    assert settings.cloud.name == cloud
    assert endpoints(settings) == PUBLISHED[cloud]
    scopes = graph_scopes(settings.graph_base_url, settings.cloud)
    assert scopes.delegated == [GRAPH_SCOPES[cloud]]
    assert scopes.application == [
        GRAPH_SCOPES[cloud].replace("OnlineMeetings.ReadWrite", ".default")
    ]


@pytest.mark.parametrize("cloud", list(PUBLISHED))
def test_a_managed_identity_signs_in_with_a_token_for_its_own_clouds_entra(
    cloud: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(ManagedIdentityTokens, "token", lambda _, resource: asked.append(resource))
    settings = Settings.from_env(
        LIVE
        | {"CLOUD": cloud, "MicrosoftAppType": "UserAssignedMSI", "MicrosoftAppPassword": ""}
        | {"MicrosoftAppTenantId": "tenant", "AUTH_CLIENT_ID": "sign-in-app"}
    )
    assert settings.app_credential is not None
    proofs = open_proofs(
        settings.app_credential, token_exchange_audience=settings.cloud.token_exchange_audience
    )

    assert isinstance(proofs.sign_in, dict)
    proofs.sign_in["client_assertion"]()  # what MSAL calls for each token request
    proofs.close()
    assert asked == [TOKEN_EXCHANGE[cloud]]


def test_without_cloud_the_public_cloud_is_used() -> None:
    assert endpoints(Settings.from_env(LIVE)) == PUBLISHED["Public"]
    assert endpoints(Settings()) == PUBLISHED["Public"]


@pytest.mark.parametrize("spelling", ["usgov", "USGOV", " UsGov "])
def test_the_cloud_name_is_read_in_any_case(spelling: str) -> None:
    assert Settings.from_env(LIVE | {"CLOUD": spelling}).cloud.name == "USGov"


def test_an_unknown_cloud_is_refused_in_one_line() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(LIVE | {"CLOUD": "Germany"})
    assert str(refused.value) == (
        "CLOUD must be one of Public, USGov, USGovDoD, China, not 'Germany'."
    )


@pytest.mark.parametrize(
    ("variable", "field", "value"),
    [
        ("GRAPH_BASE_URL", "graph_base_url", "https://graph.example.org/v1.0"),
        ("AUTH_AUTHORITY", "authority", "https://login.example.org/tenant"),
        ("BotOpenIdMetadata", "bot_openid_metadata", "https://keys.example.org/openid"),
        ("ToChannelFromBotLoginUrl", "bot_login_url", "https://login.example.org/bots"),
        ("ToChannelFromBotOAuthScope", "bot_oauth_scope", "https://api.example.org"),
        ("ToBotFromChannelTokenIssuer", "bot_token_issuer", "https://issuer.example.org"),
    ],
)
def test_a_single_setting_overrides_its_endpoint_and_nothing_else(
    variable: str, field: str, value: str
) -> None:
    settings = Settings.from_env(LIVE | {"CLOUD": "USGov", variable: f" {value} "})

    assert getattr(settings, field) == value
    assert endpoints(settings) == PUBLISHED["USGov"] | {field: value}


def test_a_single_tenant_bot_gets_its_tokens_from_its_own_tenant() -> None:
    settings = Settings.from_env(
        LIVE | {"CLOUD": "China", "MicrosoftAppType": "SingleTenant", "MicrosoftAppTenantId": "t1"}
    )

    assert settings.bot_login_url == "https://login.partner.microsoftonline.cn/t1"
    assert settings.authority == "https://login.partner.microsoftonline.cn/t1"


def test_graph_scopes_follow_the_graph_in_use() -> None:
    settings = Settings.from_env(LIVE | {"GRAPH_BASE_URL": "https://graph.microsoft.us/beta"})

    assert graph_scopes(settings.graph_base_url, settings.cloud).delegated == [
        GRAPH_SCOPES["USGov"]
    ]
    # A Graph on no Microsoft host (a proxy, a stand-in) stands for the cloud's: tokens name
    # Microsoft's resources, never an address.
    assert graph_scopes("http://127.0.0.1:3979/graph/v1.0", US_GOV).application == [
        "https://graph.microsoft.us/.default"
    ]


@pytest.mark.parametrize(
    ("cloud", "emulator", "oauth_url", "caller_id"),
    [
        (
            "Public",
            "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
            "https://api.botframework.com",
            "urn:botframework:azure",
        ),
        (
            "USGov",
            "https://login.microsoftonline.us/cab8a31a-1906-4287-a0d8-4eef66b95f6e/v2.0/"
            ".well-known/openid-configuration",
            "https://tokengcch.botframework.azure.us/",
            "urn:botframework:azureusgov",
        ),
        (
            "USGovDoD",
            "https://login.microsoftonline.us/cab8a31a-1906-4287-a0d8-4eef66b95f6e/v2.0/"
            ".well-known/openid-configuration",
            "https://apiDoD.botframework.azure.us",
            "urn:botframework:azureusgov",
        ),
        (
            "China",
            "https://login.partner.microsoftonline.cn/a55a4d5b-9241-49b1-b4ff-befa8db00269/v2.0/"
            ".well-known/openid-configuration",
            "https://token.botframework.azure.cn/",
            None,
        ),
    ],
)
def test_botbuilder_is_configured_with_the_clouds_values_never_the_public_ones(
    cloud: str, emulator: str, oauth_url: str, caller_id: str | None
) -> None:
    published = PUBLISHED[cloud]

    configured = bot_framework_endpoints(Settings.from_env(LIVE | {"CLOUD": cloud}))

    assert configured == {
        "TO_CHANNEL_FROM_BOT_LOGIN_URL": published["bot_login_url"],
        "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": published["bot_oauth_scope"],
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": published["bot_token_issuer"],
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": published["bot_openid_metadata"],
        "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": emulator,
        "OAUTH_URL": oauth_url,
        "CALLER_ID": caller_id,
    }


def test_the_start_up_line_names_the_cloud_and_every_endpoint_in_use() -> None:
    settings = Settings.from_env(
        LIVE | {"CLOUD": "usgovdod", "BotOpenIdMetadata": "https://keys.example.org/openid"}
    )

    assert describe_cloud(settings) == (
        "USGovDoD; sign-in at https://login.microsoftonline.us/organizations; Graph at "
        "https://dod-graph.microsoft.us/v1.0 (scopes "
        "https://dod-graph.microsoft.us/OnlineMeetings.ReadWrite "
        "https://dod-graph.microsoft.us/.default); Bot Framework: tokens from "
        "https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us for "
        "https://api.botframework.us, inbound tokens from https://api.botframework.us with keys "
        "from https://keys.example.org/openid"
    )


def test_a_live_start_logs_its_cloud_in_one_info_line_without_secrets(tmp_path: Path) -> None:
    env = LIVE | {"HOST": "127.0.0.1", "CLOUD": "China", "MicrosoftAppId": "china-app"}
    app = start(env, tmp_path)
    try:
        output = app.stop()
    finally:
        if app.process.poll() is None:
            app.process.kill()
            app.process.wait()

    [line] = [json.loads(text) for text in output.splitlines() if '"cloud: ' in text]
    assert line["level"] == "INFO"
    assert line["message"].startswith(
        "cloud: China; sign-in at https://login.partner.microsoftonline.cn/organizations; "
        "Graph at https://microsoftgraph.chinacloudapi.cn/v1.0"
    )
    assert LIVE["MicrosoftAppPassword"] not in output
    assert LIVE["TOKEN_CACHE_KEY"] not in output


@pytest.mark.parametrize("cloud", ["USGov", "USGovDoD", "China"])
async def test_the_signing_keys_come_from_the_clouds_metadata(cloud: str) -> None:
    settings = Settings.from_env(LIVE | {"CLOUD": cloud})

    async with httpx.AsyncClient() as http:
        create_adapter(settings, http, explain=lambda context, error: "")

        for url in (settings.bot_openid_metadata, settings.cloud.bot_emulator_openid_metadata):
            keys = JwtTokenExtractor.metadataCache[url]
            assert isinstance(keys, SigningKeys)  # fetched over the shared client, when needed
            assert keys.url == url
