"""Settings: sandbox exactly without credentials, unsafe or malformed values refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.credentials import AppType, CertificateFiles, ClientSecret, ManagedIdentity
from bot.framework.bot_credentials import login_authority
from bot.settings import (
    LIVE_GRAPH_URL,
    GraphPermission,
    Mode,
    PasscodePolicy,
    Settings,
    SettingsError,
    load_settings,
    startup_notes,
)


def test_no_credentials_means_sandbox_on_loopback() -> None:
    settings = Settings.from_env({})
    assert settings.mode is Mode.SANDBOX
    assert (settings.host, settings.port) == ("127.0.0.1", 3978)
    assert settings.default_meeting_minutes == 30
    assert settings.passcode_policy is PasscodePolicy.REQUIRED


LIVE = {
    "MicrosoftAppId": "app",
    "MicrosoftAppPassword": "secret",
    "MicrosoftAppTenantId": "tenant",
    "PUBLIC_URL": "https://meet.example.com",
    "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
}


def test_credentials_mean_live_mode_on_all_interfaces_with_real_graph() -> None:
    settings = Settings.from_env(LIVE)
    assert settings.mode is Mode.LIVE
    assert settings.host == "0.0.0.0"
    assert settings.graph_base_url == LIVE_GRAPH_URL
    assert "secret" not in repr(settings)


def test_sandbox_refuses_a_public_interface() -> None:
    with pytest.raises(SettingsError, match="loopback"):
        Settings.from_env({"HOST": "0.0.0.0"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MicrosoftAppPassword": "secret"}, "MicrosoftAppId is not"),
        ({"MicrosoftAppId": "app"}, "MicrosoftAppPassword is not"),
        ({"PORT": "eighty"}, "whole number"),
        ({"PORT": "70000"}, "between"),
        ({"DEFAULT_MEETING_MINUTES": "0"}, "between"),
        ({"PASSCODE_POLICY": "sometimes"}, "one of required, none"),
        ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, "IANA"),
        ({"GRAPH_TIMEOUT_SECONDS": "-1"}, "positive"),
        ({"ANSWER_WITHIN_SECONDS": "10"}, "ANSWER_WITHIN_SECONDS must be at most 8"),
        ({"DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE must be between 1 and 1000"),
        ({"DATABASE_POOL_SIZE": "many"}, "DATABASE_POOL_SIZE must be a whole number"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_managed_identity_needs_no_password_in_application_mode() -> None:
    settings = Settings.from_env(
        {
            "MicrosoftAppId": "app",
            "MicrosoftAppType": "UserAssignedMSI",
            "MicrosoftAppTenantId": "tenant",
            "GRAPH_PERMISSION": "application",
            "TOKEN_CACHE_KEY": LIVE["TOKEN_CACHE_KEY"],
        }
    )
    assert settings.mode is Mode.LIVE
    assert settings.graph_permission is GraphPermission.APPLICATION
    assert settings.authority == "https://login.microsoftonline.com/tenant"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"PUBLIC_URL": ""}, "PUBLIC_URL must be the bot's public https address"),
        ({"PUBLIC_URL": "http://meet.example.com"}, "PUBLIC_URL must be"),
        ({"TOKEN_CACHE_KEY": ""}, "TOKEN_CACHE_KEY is required"),
        (
            {"MicrosoftAppType": "UserAssignedMSI", "MicrosoftAppPassword": ""},
            "needs AUTH_CLIENT_ID",
        ),
        (
            {"GRAPH_PERMISSION": "application", "MicrosoftAppType": "MultiTenant"}
            | {"MicrosoftAppTenantId": ""},
            "needs MicrosoftAppTenantId",
        ),
        (
            {"GRAPH_PERMISSION": "application", "MicrosoftAppTenantId": "t", "TOKEN_CACHE_KEY": ""},
            "TOKEN_CACHE_KEY is required",
        ),
    ],
)
def test_live_sign_in_settings_are_checked_at_start(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(LIVE | overrides)


def test_sandbox_defaults_for_sign_in() -> None:
    settings = Settings.from_env({"PORT": "4000"})
    assert settings.public_url == "http://localhost:4000"
    assert settings.graph_permission is GraphPermission.DELEGATED


def test_dotenv_fills_only_what_the_environment_leaves_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=4000\nDEFAULT_MEETING_MINUTES=45\n")
    monkeypatch.setenv("PORT", "5000")
    monkeypatch.delenv("DEFAULT_MEETING_MINUTES", raising=False)
    monkeypatch.delenv("MicrosoftAppId", raising=False)

    settings = load_settings(env_file)

    assert (settings.port, settings.default_meeting_minutes) == (5000, 45)


def test_several_token_cache_keys_are_read_newest_first() -> None:
    newest, older = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    settings = Settings.from_env(LIVE | {"TOKEN_CACHE_KEY": f" {newest} , {older} "})

    assert settings.token_cache_keys == (newest, older)
    assert newest not in repr(settings)


@pytest.mark.parametrize(
    ("value", "which"),
    [
        ("x" * 44, "its value is not one"),  # the right length, but not 32 bytes of base64
        ("not-a-key", "its value is not one"),
        ("{key},", "key 2 of 2 is not one"),  # a trailing comma
        ("{key},{half}", "key 2 of 2 is not one"),
        ("ключ", "its value is not one"),
    ],
)
@pytest.mark.parametrize("mode", ["live", "sandbox"])
def test_a_malformed_token_cache_key_is_refused_without_repeating_it(
    value: str, which: str, mode: str
) -> None:
    key = Fernet.generate_key().decode()
    value = value.format(key=key, half=key[:22])
    env = LIVE if mode == "live" else {}

    with pytest.raises(SettingsError, match=which) as refused:
        Settings.from_env(env | {"TOKEN_CACHE_KEY": value})

    assert "TOKEN_CACHE_KEY must hold Fernet keys" in str(refused.value)
    assert all(part not in str(refused.value) for part in value.split(",") if part)


def test_a_bot_is_single_tenant_unless_it_says_otherwise() -> None:
    settings = Settings.from_env(LIVE)

    assert settings.app_type is AppType.SINGLE_TENANT
    assert settings.app_credential == ClientSecret("secret")
    assert settings.auth_client_id == "app"
    assert startup_notes(settings) == []


def test_a_multi_tenant_bot_still_starts_with_a_note() -> None:
    settings = Settings.from_env(
        LIVE | {"MicrosoftAppType": "multitenant", "MicrosoftAppTenantId": ""}
    )

    assert settings.app_type is AppType.MULTI_TENANT
    [note] = startup_notes(settings)
    assert "no longer creates multi-tenant bots" in note


def test_a_certificate_replaces_the_secret() -> None:
    settings = Settings.from_env(
        LIVE | {"MicrosoftAppPassword": "", "CERTIFICATE_FILE": "/keys/bot.pem"}
    )

    assert settings.app_credential == CertificateFiles(Path("/keys/bot.pem"), Path("/keys/bot.pem"))


def test_a_managed_identity_bot_signs_users_in_to_its_own_app_registration() -> None:
    settings = Settings.from_env(
        LIVE
        | {
            "MicrosoftAppType": "UserAssignedMSI",
            "MicrosoftAppPassword": "",
            "AUTH_CLIENT_ID": "sign-in-app",
        }
    )

    assert settings.app_credential == ManagedIdentity("app")
    assert settings.auth_client_id == "sign-in-app"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"MicrosoftAppType": "Sometimes"}, "MicrosoftAppType must be one of SingleTenant"),
        ({"MicrosoftAppTenantId": ""}, "SingleTenant needs MicrosoftAppTenantId"),
        ({"CERTIFICATE_FILE": "/keys/bot.pem"}, "not both"),
        ({"MicrosoftAppPassword": "", "CERTIFICATE_KEY_FILE": "/k.pem"}, "CERTIFICATE_FILE is not"),
        ({"MicrosoftAppType": "UserAssignedMSI"}, "leave MicrosoftAppPassword empty"),
        ({"AUTH_CLIENT_ID": "another-app"}, "AUTH_CLIENT_ID is for MicrosoftAppType=UserAssigned"),
        ({"PUBLIC_URL": "http://meet.example.com"}, "Entra ID takes plain http only for loopback"),
    ],
)
def test_app_type_settings_that_cannot_work_are_refused(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(LIVE | overrides)


def test_a_loopback_public_url_is_accepted_as_entra_accepts_it() -> None:
    settings = Settings.from_env(LIVE | {"PUBLIC_URL": "http://127.0.0.1:3978"})
    assert settings.public_url == "http://127.0.0.1:3978"


@pytest.mark.parametrize(
    ("login_url", "tenant", "authority"),
    [
        ("", "t1", "https://login.microsoftonline.com/t1"),
        (
            "https://login.microsoftonline.com/",
            "",
            "https://login.microsoftonline.com/botframework.com",
        ),
        ("https://login.microsoftonline.com/", "t1", "https://login.microsoftonline.com/t1"),
        ("", "", "https://login.microsoftonline.com/botframework.com"),
        (
            "https://login.microsoftonline.us/botframework.com",
            "t1",
            "https://login.microsoftonline.us/t1",
        ),
        ("https://127.0.0.1:4443/t1/", "t1", "https://127.0.0.1:4443/t1"),
        ("https://127.0.0.1:4443/botframework.com", "", "https://127.0.0.1:4443/botframework.com"),
    ],
)
def test_the_bot_asks_its_own_tenant_for_connector_tokens_when_single_tenant(
    login_url: str, tenant: str, authority: str
) -> None:
    assert login_authority(login_url, tenant) == authority


@pytest.mark.parametrize(
    "url",
    ["mysql://bot:pw-in-url@db/bot", "postgresql://bot:pw-in-url@db:port/bot", "pw-in-url"],
)
def test_a_database_url_that_is_not_postgresql_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL") as refused:
        Settings.from_env({"DATABASE_URL": url})

    assert "pw-in-url" not in str(refused.value)


def test_the_database_url_is_not_in_the_settings_repr() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgresql://bot:pw-in-url@db/bot"})

    assert settings.database_url == "postgresql://bot:pw-in-url@db/bot"
    assert "pw-in-url" not in repr(settings)
