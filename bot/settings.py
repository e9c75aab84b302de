"""Settings read from the environment (and an optional .env file)."""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from dotenv import dotenv_values

from bot.clouds import CLOUDS, PUBLIC, Cloud, graph_scopes
from bot.credentials import (
    AppCredential,
    AppType,
    CertificateFiles,
    ClientSecret,
    ManagedIdentity,
)

E = TypeVar("E", bound=StrEnum)

LIVE_GRAPH_URL = PUBLIC.graph_base_url


class SettingsError(ValueError):
    """A setting is missing, malformed or unsafe."""


class Mode(StrEnum):
    SANDBOX = "sandbox"
    LIVE = "live"


class PasscodePolicy(StrEnum):
    REQUIRED = "required"
    NONE = "none"
    ASK = "ask"  # the dialog asks; a complete one-shot command uses "required"
    # The tenant's meeting policy decides. createOrGet then makes every create safely
    # repeatable, so a create whose answer was lost is simply asked for again.
    TENANT = "tenant"

    @property
    def passcode_required(self) -> bool | None:
        """What a create says about the passcode when the user chose nothing."""
        return {PasscodePolicy.NONE: False, PasscodePolicy.TENANT: None}.get(self, True)


class GraphPermission(StrEnum):
    DELEGATED = "delegated"  # each user signs in; meetings via /me with their own token
    APPLICATION = "application"  # client credentials; meetings via /users/{id} (access policy)


@dataclass(frozen=True)
class Settings:
    """Everything the app factory needs; built once at start-up."""

    app_id: str = ""
    app_password: str = field(default="", repr=False)
    app_type: AppType = AppType.SINGLE_TENANT
    app_tenant_id: str = ""
    app_credential: AppCredential | None = None  # None: sandbox mode
    # The app registration users sign in to: the bot's own, except for UserAssignedMSI.
    auth_client_id: str = ""
    host: str = "127.0.0.1"
    port: int = 3978
    # Every endpoint below defaults to its cloud's; each has a setting that overrides it alone.
    cloud: Cloud = PUBLIC
    graph_base_url: str = LIVE_GRAPH_URL
    graph_timeout_seconds: float = 10.0
    default_meeting_minutes: int = 30
    passcode_policy: PasscodePolicy = PasscodePolicy.REQUIRED
    default_timezone: str = "UTC"
    data_dir: Path = Path("data")
    sandbox_port: int = 3979
    log_level: str = "INFO"
    public_url: str = "http://localhost:3978"
    graph_permission: GraphPermission = GraphPermission.DELEGATED
    # Fernet keys, newest first: the newest seals, any of them opens (see bot.state.keyring).
    token_cache_keys: tuple[str, ...] = field(default=(), repr=False)
    authority: str = PUBLIC.authority("")
    skip_confirmation: bool = False
    graph_retry_budget_seconds: float = 8.0
    bot_openid_metadata: str = PUBLIC.bot_openid_metadata
    bot_login_url: str = PUBLIC.bot_login_url("")  # where the bot gets its Bot Connector tokens
    bot_oauth_scope: str = PUBLIC.bot_oauth_scope
    bot_token_issuer: str = PUBLIC.bot_token_issuer
    answer_within_seconds: float = 5.0
    sandbox_virtual_users: int = 0
    sandbox_graph_latency_seconds: float = 0.0
    # How long the request ledger keeps a request's record after its meeting's end.
    ledger_retention_days: int = 7
    # PostgreSQL for all state ("": the SQLite file in data_dir); it may hold a password.
    database_url: str = field(default="", repr=False)
    database_pool_size: int = 10

    @property
    def create_deadline_seconds(self) -> float:
        """Long after any create should have ended: every attempt timing out, every wait spent.

        A request still marked "creating" after this is answered as unknown, never re-created.
        """
        attempts = 4  # graph.client.RetryPolicy.max_attempts; each may connect, then read
        worst = attempts * 2 * self.graph_timeout_seconds + self.graph_retry_budget_seconds
        return worst + 5  # and a token refresh

    @property
    def upkeep_seconds(self) -> float:
        """How often the background pass runs: answers a dead process owed, then the purge."""
        return self.create_deadline_seconds / 2

    @property
    def mode(self) -> Mode:
        # Sandbox exactly when no Bot Framework credentials are set: that is also when the SDK
        # switches inbound authentication off, so the two must never diverge.
        return Mode.SANDBOX if not self.app_id else Mode.LIVE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from a mapping of environment variables, validating as it goes."""
        app_id = env.get("MicrosoftAppId", "").strip()
        app_password = env.get("MicrosoftAppPassword", "").strip()
        app_type = _app_type(env)
        credential = _app_credential(env, app_id, app_type)
        sandbox = not app_id
        host = env.get("HOST", "").strip() or ("127.0.0.1" if sandbox else "0.0.0.0")
        if sandbox and not _is_loopback(host):
            raise SettingsError(
                f"HOST={host} is not a loopback address. Without MicrosoftAppId the bot accepts "
                "unauthenticated activities, so sandbox mode only listens on loopback. "
                "Set HOST=127.0.0.1 or configure Bot Framework credentials."
            )
        cloud = _cloud(env)
        graph_base_url = env.get("GRAPH_BASE_URL", "").strip() or cloud.graph_base_url
        port = _int(env, "PORT", 3978, low=0, high=65535)
        permission = _choice(env, "GRAPH_PERMISSION", GraphPermission, GraphPermission.DELEGATED)
        tenant = env.get("MicrosoftAppTenantId", "").strip()
        public_url = env.get("PUBLIC_URL", "").strip().rstrip("/")
        token_cache_keys = fernet_keys(env.get("TOKEN_CACHE_KEY", ""))
        auth_client_id = env.get("AUTH_CLIENT_ID", "").strip()
        if not sandbox:
            _check_app_type(app_type, tenant, permission, app_id, auth_client_id)
            _check_live_auth(permission, tenant, public_url, token_cache_keys)
        return cls(
            app_id=app_id,
            app_password=app_password,
            app_type=app_type,
            app_tenant_id=tenant,
            app_credential=credential,
            auth_client_id=auth_client_id or app_id,
            host=host,
            port=port,
            cloud=cloud,
            graph_base_url=graph_base_url.rstrip("/"),
            graph_timeout_seconds=_float(env, "GRAPH_TIMEOUT_SECONDS", 10.0),
            default_meeting_minutes=_int(env, "DEFAULT_MEETING_MINUTES", 30, low=1, high=24 * 60),
            passcode_policy=_choice(
                env, "PASSCODE_POLICY", PasscodePolicy, PasscodePolicy.REQUIRED
            ),
            default_timezone=_zone(env.get("DEFAULT_TIMEZONE", "").strip() or "UTC"),
            data_dir=Path(env.get("DATA_DIR", "").strip() or "data"),
            sandbox_port=_int(env, "SANDBOX_PORT", 3979, low=0, high=65535),
            log_level=(env.get("LOG_LEVEL", "").strip() or "INFO").upper(),
            public_url=public_url or f"http://localhost:{port}",
            graph_permission=permission,
            token_cache_keys=token_cache_keys,
            authority=_override(env, "AUTH_AUTHORITY") or cloud.authority(tenant),
            skip_confirmation=_bool(env, "SKIP_CONFIRMATION"),
            bot_openid_metadata=env.get("BotOpenIdMetadata", "").strip()
            or cloud.bot_openid_metadata,
            # A multi-tenant bot gets its tokens from Microsoft's tenant, others from their own.
            bot_login_url=_override(env, "ToChannelFromBotLoginUrl")
            or cloud.bot_login_url("" if app_type.lower() == "multitenant" else tenant),
            bot_oauth_scope=_override(env, "ToChannelFromBotOAuthScope") or cloud.bot_oauth_scope,
            bot_token_issuer=_override(env, "ToBotFromChannelTokenIssuer")
            or cloud.bot_token_issuer,
            answer_within_seconds=_answer_within(env),
            sandbox_virtual_users=_int(env, "SANDBOX_VIRTUAL_USERS", 0, low=0, high=100_000),
            sandbox_graph_latency_seconds=_float(
                env, "SANDBOX_GRAPH_LATENCY_SECONDS", 0.0, allow_zero=True
            ),
            graph_retry_budget_seconds=_float(
                env, "GRAPH_RETRY_BUDGET_SECONDS", 8.0, allow_zero=True
            ),
            # At least two days: longer than anything that can ask for the same request again
            # (bot.meetings.ledger says what), whatever the meeting's time.
            ledger_retention_days=_int(env, "LEDGER_RETENTION_DAYS", 7, low=2, high=3650),
            database_url=_database_url(env.get("DATABASE_URL", "").strip()),
            database_pool_size=_int(env, "DATABASE_POOL_SIZE", 10, low=1, high=1000),
        )


_GENERATE_KEY = (
    "Generate one with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'"
)


def fernet_keys(text: str, *, name: str = "TOKEN_CACHE_KEY") -> tuple[str, ...]:
    """Fernet keys from comma-separated `text`, newest first; () for none.

    The error names which key is wrong, never its text: it is a secret even when mistyped.
    """
    if not text.strip():
        return ()
    keys = tuple(part.strip() for part in text.split(","))
    for number, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError:  # wrong length, not base64, not ASCII
            which = f"key {number} of {len(keys)}" if len(keys) > 1 else "its value"
            raise SettingsError(
                f"{name} must hold Fernet keys (44 characters of URL-safe base64 each; several "
                f"are separated by commas, newest first), and {which} is not one. "
                f"{_GENERATE_KEY}"
            ) from None
    return keys


def _app_type(env: Mapping[str, str]) -> AppType:
    raw = env.get("MicrosoftAppType", "").strip()
    if not raw:
        return AppType.SINGLE_TENANT
    app_type = AppType.parse(raw)
    if app_type is None:
        allowed = ", ".join(kind.value for kind in AppType)
        raise SettingsError(f"MicrosoftAppType must be one of {allowed}, not {raw!r}.")
    return app_type


def _app_credential(env: Mapping[str, str], app_id: str, app_type: AppType) -> AppCredential | None:
    """What the bot's app proves itself with: a secret, a certificate or a managed identity."""
    password = env.get("MicrosoftAppPassword", "").strip()
    certificate = env.get("CERTIFICATE_FILE", "").strip()
    key = env.get("CERTIFICATE_KEY_FILE", "").strip()
    given = [
        name
        for name, value in (
            ("MicrosoftAppPassword", password),
            ("CERTIFICATE_FILE", certificate),
            ("CERTIFICATE_KEY_FILE", key),
        )
        if value
    ]
    if not app_id:
        if given:
            raise SettingsError(f"{given[0]} is set but MicrosoftAppId is not.")
        return None
    if app_type is AppType.USER_ASSIGNED_MSI:
        if given:
            raise SettingsError(
                f"MicrosoftAppType=UserAssignedMSI proves itself with the managed identity: "
                f"leave {given[0]} empty."
            )
        return ManagedIdentity(app_id)
    if key and not certificate:
        raise SettingsError("CERTIFICATE_KEY_FILE is set but CERTIFICATE_FILE is not.")
    if password and certificate:
        raise SettingsError("Set MicrosoftAppPassword or CERTIFICATE_FILE, not both.")
    if certificate:
        return CertificateFiles(Path(certificate), Path(key or certificate))
    if password:
        return ClientSecret(password)
    raise SettingsError(
        "MicrosoftAppId is set but MicrosoftAppPassword is not (a client secret in "
        "MicrosoftAppPassword or a certificate in CERTIFICATE_FILE; "
        "MicrosoftAppType=UserAssignedMSI needs neither)."
    )


def _check_app_type(
    app_type: AppType,
    tenant: str,
    permission: GraphPermission,
    app_id: str,
    auth_client_id: str,
) -> None:
    if app_type is not AppType.MULTI_TENANT and not tenant:
        raise SettingsError(
            f"MicrosoftAppType={app_type.value} needs MicrosoftAppTenantId (the tenant of the "
            "bot's app registration or managed identity); an older multi-tenant bot sets "
            "MicrosoftAppType=MultiTenant."
        )
    if app_type is not AppType.USER_ASSIGNED_MSI:
        if auth_client_id and auth_client_id != app_id:
            raise SettingsError(
                "AUTH_CLIENT_ID is for MicrosoftAppType=UserAssignedMSI only; otherwise users "
                "sign in to the bot's own app registration (MicrosoftAppId)."
            )
        return
    if permission is GraphPermission.DELEGATED and not auth_client_id:
        raise SettingsError(
            "MicrosoftAppType=UserAssignedMSI with delegated sign-in needs AUTH_CLIENT_ID: the "
            "app registration users sign in to, trusting the managed identity through a "
            "federated credential (or set GRAPH_PERMISSION=application)."
        )


def startup_notes(settings: Settings) -> list[str]:
    """What the operator should know about the settings, logged once at start-up."""
    if settings.mode is Mode.LIVE and settings.app_type is AppType.MULTI_TENANT:
        return [
            "MicrosoftAppType=MultiTenant: kept working for existing bots, but Azure no longer "
            "creates multi-tenant bots (since 31 July 2025); new bots are SingleTenant or "
            "UserAssignedMSI (README, App types)."
        ]
    return []


def _database_url(url: str) -> str:
    """`url` if it names a PostgreSQL database; errors never quote it (it may hold a password)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise SettingsError("DATABASE_URL is not a valid URL.") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise SettingsError(
            "DATABASE_URL must be a PostgreSQL URL: postgresql://user:password@host:port/database."
        )
    return url


def _check_live_auth(
    permission: GraphPermission,
    tenant: str,
    public_url: str,
    cache_keys: tuple[str, ...],
) -> None:
    if not cache_keys:
        raise SettingsError(
            "TOKEN_CACHE_KEY is required: it encrypts what the bot keeps at rest (users' tokens, "
            f"the meetings it created). {_GENERATE_KEY}"
        )
    if permission is GraphPermission.APPLICATION:
        if not tenant:
            raise SettingsError(
                "GRAPH_PERMISSION=application needs MicrosoftAppTenantId: app-only tokens are "
                "issued for one tenant."
            )
        return
    if not (public_url.startswith("https://") or _is_loopback_url(public_url)):
        raise SettingsError(
            "PUBLIC_URL must be the bot's public https address (the sign-in redirect comes back "
            "to PUBLIC_URL/auth/callback; Entra ID takes plain http only for loopback)."
        )


@dataclass(frozen=True)
class PackageSettings:
    """What a Teams app package is built from: the bot's app id and public URL, nothing else.

    Building a package needs no secret, so it must not fail for want of one.
    """

    app_id: str = ""
    public_url: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PackageSettings:
        return cls(
            app_id=env.get("MicrosoftAppId", "").strip(),
            public_url=env.get("PUBLIC_URL", "").strip().rstrip("/"),
        )


def load_settings(env_file: Path = Path(".env")) -> Settings:
    """Settings from the process environment, with `env_file` filling only unset names."""
    return Settings.from_env(_environment(env_file))


def load_package_settings(env_file: Path = Path(".env")) -> PackageSettings:
    """The app package's settings, read from the same places as `load_settings`."""
    return PackageSettings.from_env(_environment(env_file))


def _environment(env_file: Path) -> dict[str, str]:
    file_values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    return {**file_values, **os.environ}


def describe_cloud(settings: Settings) -> str:
    """The cloud and every endpoint in use, for the start-up log (nothing secret in it)."""
    scopes = graph_scopes(settings.graph_base_url, settings.cloud)
    return (
        f"{settings.cloud.name}; sign-in at {settings.authority}; Graph at "
        f"{settings.graph_base_url} (scopes {' '.join(scopes.delegated + scopes.application)}); "
        f"Bot Framework: tokens from {settings.bot_login_url} for {settings.bot_oauth_scope}, "
        f"inbound tokens from {settings.bot_token_issuer} with keys from "
        f"{settings.bot_openid_metadata}"
    )


def _cloud(env: Mapping[str, str]) -> Cloud:
    raw = env.get("CLOUD", "").strip()
    cloud = CLOUDS.get(raw.lower() or "public")
    if cloud is None:
        allowed = ", ".join(known.name for known in CLOUDS.values())
        raise SettingsError(f"CLOUD must be one of {allowed}, not {raw!r}.")
    return cloud


def _override(env: Mapping[str, str], name: str) -> str:
    """The URL setting `name` without a trailing slash; "" when unset."""
    return env.get(name, "").strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname
    return url.startswith("http://") and host is not None and _is_loopback(host)


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}.") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}.")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false, not {raw!r}.")


def _float(env: Mapping[str, str], name: str, default: float, *, allow_zero: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {raw!r}.") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise SettingsError(f"{name} must be a positive number of seconds, not {raw!r}.")
    return value


# A redelivery waits 10 seconds (bot.meetings.ledger.CLAIM_WAIT_SECONDS) for the delivery before
# it to create the meeting. A slow create's first delivery writes down the answer it owes after
# ANSWER_WITHIN_SECONDS: before then, with time to spare, so that the redelivery finds it owed.
MAX_ANSWER_WITHIN_SECONDS = 8.0


def _answer_within(env: Mapping[str, str]) -> float:
    seconds = _float(env, "ANSWER_WITHIN_SECONDS", 5.0)
    if seconds > MAX_ANSWER_WITHIN_SECONDS:
        raise SettingsError(
            f"ANSWER_WITHIN_SECONDS must be at most {MAX_ANSWER_WITHIN_SECONDS:g}: Teams waits "
            "15 seconds for an answer, and a redelivery 10 for the first delivery."
        )
    return seconds


def _choice(env: Mapping[str, str], name: str, kind: type[E], default: E) -> E:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise SettingsError(f"{name} must be one of {allowed}, not {raw!r}.") from None


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"DEFAULT_TIMEZONE {name!r} is not an IANA time zone.") from None
    return name
