"""Settings: sandbox exactly without credentials, unsafe or malformed values refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import (
    LIVE_GRAPH_URL,
    GraphPermission,
    Mode,
    PasscodePolicy,
    Settings,
    SettingsError,
    load_settings,
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
    "PUBLIC_URL": "https://meet.example.com",
    "TOKEN_CACHE_KEY": "x" * 44,
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
            "TOKEN_CACHE_KEY": "x" * 44,
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
        ({"MicrosoftAppType": "UserAssignedMSI"}, "needs a client secret"),
        ({"GRAPH_PERMISSION": "application"}, "needs MicrosoftAppTenantId"),
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
