"""Microsoft's clouds (Public, USGov, USGovDoD, China) and the endpoints each one publishes.

Every value is copied from Microsoft's documentation or botbuilder's own constants; the README's
"National clouds" table names the source of each. Pure data: imports nothing of the bot, so
settings, the Bot Framework plumbing and the token code can all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Cloud:
    """One cloud's published endpoints: Entra, Microsoft Graph and Bot Framework."""

    name: str
    login_host: str  # Entra ID's authority host
    graph_host: str  # Microsoft Graph's service root
    # Bot Framework, bot to channel: where the bot gets its Bot Connector tokens, for what scope.
    # The login URL's path is the default tenant (multi-tenant bots); other bots use their own.
    bot_login_host: str
    bot_channel_auth_tenant: str
    bot_oauth_scope: str
    # Bot Framework, channel to bot: who signs the tokens on incoming activities, and where the
    # keys are published.
    bot_token_issuer: str
    bot_openid_metadata: str
    bot_emulator_openid_metadata: str
    bot_oauth_url: str  # the Bot Framework token service (not used by this bot's own sign-in)
    bot_caller_id: str | None  # how botbuilder marks activities from this cloud; None: unpublished
    # What a managed identity's token is for when an app registration trusts it (a federated
    # identity credential's audience): Entra's in this cloud.
    token_exchange_audience: str

    @property
    def graph_base_url(self) -> str:
        return f"https://{self.graph_host}/v1.0"

    def authority(self, tenant: str) -> str:
        """The Entra authority users sign in at (and app-only tokens come from)."""
        return f"https://{self.login_host}/{tenant or 'organizations'}"

    def bot_login_url(self, tenant: str) -> str:
        """Where the bot gets its Bot Connector tokens: its own tenant, else Microsoft's."""
        return f"https://{self.bot_login_host}/{tenant or self.bot_channel_auth_tenant}"


PUBLIC = Cloud(
    name="Public",
    login_host="login.microsoftonline.com",
    graph_host="graph.microsoft.com",
    bot_login_host="login.microsoftonline.com",
    bot_channel_auth_tenant="botframework.com",
    bot_oauth_scope="https://api.botframework.com",
    bot_token_issuer="https://api.botframework.com",
    bot_openid_metadata="https://login.botframework.com/v1/.well-known/openidconfiguration",
    bot_emulator_openid_metadata=(
        "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
    ),
    bot_oauth_url="https://api.botframework.com",
    bot_caller_id="urn:botframework:azure",
    token_exchange_audience="api://AzureADTokenExchange",
)

# Azure Government with Office 365 GCC High, where its bots meet Microsoft Teams.
US_GOV = Cloud(
    name="USGov",
    login_host="login.microsoftonline.us",
    graph_host="graph.microsoft.us",
    bot_login_host="login.microsoftonline.us",
    bot_channel_auth_tenant="MicrosoftServices.onmicrosoft.us",
    bot_oauth_scope="https://api.botframework.us",
    bot_token_issuer="https://api.botframework.us",
    bot_openid_metadata="https://login.botframework.azure.us/v1/.well-known/openidconfiguration",
    bot_emulator_openid_metadata=(
        "https://login.microsoftonline.us/cab8a31a-1906-4287-a0d8-4eef66b95f6e/v2.0/"
        ".well-known/openid-configuration"
    ),
    bot_oauth_url="https://tokengcch.botframework.azure.us/",
    bot_caller_id="urn:botframework:azureusgov",
    token_exchange_audience="api://AzureADTokenExchangeUSGov",
)

# The DoD environment shares US_GOV's Bot Framework settings except the token service.
US_GOV_DOD = Cloud(
    name="USGovDoD",
    login_host="login.microsoftonline.us",
    graph_host="dod-graph.microsoft.us",
    bot_login_host="login.microsoftonline.us",
    bot_channel_auth_tenant="MicrosoftServices.onmicrosoft.us",
    bot_oauth_scope="https://api.botframework.us",
    bot_token_issuer="https://api.botframework.us",
    bot_openid_metadata="https://login.botframework.azure.us/v1/.well-known/openidconfiguration",
    bot_emulator_openid_metadata=(
        "https://login.microsoftonline.us/cab8a31a-1906-4287-a0d8-4eef66b95f6e/v2.0/"
        ".well-known/openid-configuration"
    ),
    bot_oauth_url="https://apiDoD.botframework.azure.us",
    bot_caller_id="urn:botframework:azureusgov",
    token_exchange_audience="api://AzureADTokenExchangeUSGov",
)

# Microsoft Azure and Microsoft 365 operated by 21Vianet.
CHINA = Cloud(
    name="China",
    login_host="login.partner.microsoftonline.cn",
    graph_host="microsoftgraph.chinacloudapi.cn",
    bot_login_host="login.partner.microsoftonline.cn",
    bot_channel_auth_tenant="microsoftservices.partner.onmschina.cn",
    bot_oauth_scope="https://api.botframework.azure.cn",
    bot_token_issuer="https://api.botframework.azure.cn",
    bot_openid_metadata="https://login.botframework.azure.cn/v1/.well-known/openidconfiguration",
    bot_emulator_openid_metadata=(
        "https://login.partner.microsoftonline.cn/a55a4d5b-9241-49b1-b4ff-befa8db00269/v2.0/"
        ".well-known/openid-configuration"
    ),
    bot_oauth_url="https://token.botframework.azure.cn/",
    # botbuilder defines caller ids for the public and US Government clouds only.
    bot_caller_id=None,
    token_exchange_audience="api://AzureADTokenExchangeChina",
)

CLOUDS: dict[str, Cloud] = {
    cloud.name.lower(): cloud for cloud in (PUBLIC, US_GOV, US_GOV_DOD, CHINA)
}

_GRAPH_HOSTS = frozenset(cloud.graph_host for cloud in CLOUDS.values())

# Where Entra ID signs in for some cloud: a login URL on any other host is the operator's own.
MICROSOFT_LOGIN_HOSTS = frozenset(cloud.login_host for cloud in CLOUDS.values())


def is_microsoft_login(url: str) -> bool:
    """Whether `url` is on one of the clouds' Entra hosts (https)."""
    parts = urlsplit(url)
    return parts.scheme == "https" and (parts.hostname or "") in MICROSOFT_LOGIN_HOSTS


@dataclass(frozen=True)
class GraphScopes:
    """The scopes to ask Entra for, for the Graph at `resource` (its scheme and host).

    A scope names its resource, and national clouds' Graphs accept only tokens for their own
    host: https://graph.microsoft.us/OnlineMeetings.ReadWrite, not graph.microsoft.com's.
    """

    resource: str

    @property
    def delegated(self) -> list[str]:
        return [f"{self.resource}/OnlineMeetings.ReadWrite"]

    @property
    def application(self) -> list[str]:
        return [f"{self.resource}/.default"]


def graph_scopes(graph_base_url: str, cloud: Cloud) -> GraphScopes:
    """The scopes for the Graph at `graph_base_url` (say https://graph.microsoft.us/v1.0).

    A URL on no cloud's Graph host (a proxy, or a stand-in on this machine) is taken to stand for
    `cloud`'s Graph: tokens are issued for Microsoft's resources, never for an address.
    """
    parts = urlsplit(graph_base_url)
    if parts.scheme == "https" and (parts.hostname or "") in _GRAPH_HOSTS:
        return GraphScopes(f"{parts.scheme}://{parts.netloc}")
    return GraphScopes(f"https://{cloud.graph_host}")
