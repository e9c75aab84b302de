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

E = TypeVar("E", bound=StrEnum)

LIVE_GRAPH_URL = "https://graph.microsoft.com/v1.0"


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
    app_type: str = "MultiTenant"
    app_tenant_id: str = ""
    host: str = "127.0.0.1"
    port: int = 3978
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
    authority: str = "https://login.microsoftonline.com/organizations"
    skip_confirmation: bool = False
    graph_retry_budget_seconds: float = 8.0
    bot_openid_metadata: str = ""
    bot_login_url: str = ""  # where the bot gets its tokens for the Bot Connector ("": Microsoft's)
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
        app_type = env.get("MicrosoftAppType", "MultiTenant").strip() or "MultiTenant"
        if app_password and not app_id:
            raise SettingsError("MicrosoftAppPassword is set but MicrosoftAppId is not.")
        if app_id and not app_password and app_type.lower() != "userassignedmsi":
            raise SettingsError(
                "MicrosoftAppId is set but MicrosoftAppPassword is not "
                "(only MicrosoftAppType=UserAssignedMSI works without a password)."
            )
        sandbox = not app_id
        host = env.get("HOST", "").strip() or ("127.0.0.1" if sandbox else "0.0.0.0")
        if sandbox and not _is_loopback(host):
            raise SettingsError(
                f"HOST={host} is not a loopback address. Without MicrosoftAppId the bot accepts "
                "unauthenticated activities, so sandbox mode only listens on loopback. "
                "Set HOST=127.0.0.1 or configure Bot Framework credentials."
            )
        graph_base_url = env.get("GRAPH_BASE_URL", "").strip() or LIVE_GRAPH_URL
        port = _int(env, "PORT", 3978, low=0, high=65535)
        permission = _choice(env, "GRAPH_PERMISSION", GraphPermission, GraphPermission.DELEGATED)
        tenant = env.get("MicrosoftAppTenantId", "").strip()
        public_url = env.get("PUBLIC_URL", "").strip().rstrip("/")
        token_cache_keys = fernet_keys(env.get("TOKEN_CACHE_KEY", ""))
        if not sandbox:
            _check_live_auth(permission, app_type, tenant, public_url, token_cache_keys)
        return cls(
            app_id=app_id,
            app_password=app_password,
            app_type=app_type,
            app_tenant_id=tenant,
            host=host,
            port=port,
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
            authority=env.get("AUTH_AUTHORITY", "").strip().rstrip("/")
            or f"https://login.microsoftonline.com/{tenant or 'organizations'}",
            skip_confirmation=_bool(env, "SKIP_CONFIRMATION"),
            bot_openid_metadata=env.get("BotOpenIdMetadata", "").strip(),
            bot_login_url=env.get("ToChannelFromBotLoginUrl", "").strip().rstrip("/"),
            answer_within_seconds=_float(env, "ANSWER_WITHIN_SECONDS", 5.0),
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
    app_type: str,
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
    if app_type.lower() == "userassignedmsi":
        raise SettingsError(
            "Delegated sign-in needs a client secret; a UserAssignedMSI bot can only use "
            "GRAPH_PERMISSION=application."
        )
    if not public_url.startswith("https://"):
        raise SettingsError(
            "PUBLIC_URL must be the bot's public https address (the sign-in redirect comes back "
            "to PUBLIC_URL/auth/callback)."
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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
