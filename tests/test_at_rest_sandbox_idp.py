"""The sandbox identity provider at rest: refresh tokens kept only as SHA-256 hashes, 0600."""

from __future__ import annotations

import hashlib
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.web.keys import SANDBOX, SETTINGS, STORAGE
from sandbox.identity import SANDBOX_CLIENT_ID
from sandbox.idp import SANDBOX_CLIENT_SECRET
from sandbox.server import SandboxServer
from tests.conftest import ALEX, BotClient, Connector, MakeBot, card_of, say, sign_in

GRAPH_SCOPE = "https://graph.microsoft.com/OnlineMeetings.ReadWrite"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def refresh_token_file(data_dir: Path) -> Path:
    return data_dir / "sandbox" / "refresh-tokens.json"


def stored_hashes(data_dir: Path) -> set[str]:
    return set(json.loads(refresh_token_file(data_dir).read_text())["refresh_token_sha256"])


async def refresh_tokens_msal_holds(bot: BotClient) -> list[str]:
    """Alex's refresh tokens, from the bot's own encrypted token cache in its storage."""
    data_dir = bot.app[SETTINGS].data_dir
    fernet = Fernet((data_dir / "token-cache.key").read_bytes().strip())
    key = f"msal-cache/{ALEX.tenant_id}/{ALEX.oid}"
    stored = (await bot.app[STORAGE].read([key]))[key]
    cache = json.loads(fernet.decrypt(stored["blob"].encode()))
    return [entry["secret"] for entry in cache["RefreshToken"].values()]


async def test_the_file_holds_hashes_of_the_refresh_tokens_msal_holds_never_the_tokens(
    make_bot: MakeBot, connector: Connector
) -> None:
    bot = await make_bot()
    await sign_in(bot, connector)
    data_dir = bot.app[SETTINGS].data_dir

    [refresh_token] = await refresh_tokens_msal_holds(bot)
    kept = refresh_token_file(data_dir)

    assert refresh_token not in kept.read_text()
    assert stored_hashes(data_dir) == {sha256(refresh_token)}
    assert kept.stat().st_mode & 0o777 == 0o600
    # Written through a temporary file and a rename: nothing else is left beside it.
    assert sorted(p.name for p in kept.parent.iterdir()) == [
        "refresh-tokens.json",
        "signing-key.pem",
    ]


async def test_after_a_restart_the_hashed_refresh_token_still_refreshes_and_rotates(
    make_bot: MakeBot, connector: Connector
) -> None:
    first = await make_bot(SKIP_CONFIRMATION="true")
    first.app[SANDBOX].idp.access_token_lifetime = 60  # stale at once: the next turn refreshes
    await sign_in(first, connector)
    [before] = await refresh_tokens_msal_holds(first)
    await first.close()

    second = await make_bot(SKIP_CONFIRMATION="true")
    [reply] = await say(second, connector, "/meet After restart now")

    assert card_of(reply)["body"][0]["text"] == "After restart"
    assert second.app[SANDBOX].idp.token_grants == ["refresh_token"]
    [after] = await refresh_tokens_msal_holds(second)
    assert after != before
    assert stored_hashes(second.app[SETTINGS].data_dir) == {sha256(after)}


# -- the identity provider on its own, with a refresh token we know ----------------------------


@pytest.fixture
def legacy_state(tmp_path: Path) -> Path:
    """A state folder as earlier versions left it: clear-text refresh tokens, mode 0644."""
    kept = refresh_token_file(tmp_path)
    kept.parent.mkdir(parents=True)
    kept.write_text(
        json.dumps(
            {
                "old-clear-text-token": {
                    "oid": ALEX.oid,
                    "client_id": SANDBOX_CLIENT_ID,
                    "scopes": [GRAPH_SCOPE, "offline_access"],
                }
            }
        )
    )
    kept.chmod(0o644)
    return tmp_path


@pytest.fixture
async def sandbox(legacy_state: Path) -> AsyncIterator[SandboxServer]:
    server = SandboxServer(state_dir=legacy_state)
    await server.start()
    yield server
    await server.stop()


async def redeem(sandbox: SandboxServer, refresh_token: str) -> httpx.Response:
    """MSAL's refresh request, over the sandbox's HTTPS back channel."""
    context = ssl.create_default_context(cafile=sandbox.ca_bundle)
    async with httpx.AsyncClient(verify=context) as client:
        return await client.post(
            f"{sandbox.authority(ALEX.tenant_id)}/oauth2/v2.0/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": SANDBOX_CLIENT_ID,
                "client_secret": SANDBOX_CLIENT_SECRET,
                "scope": f"{GRAPH_SCOPE} offline_access openid profile",
            },
        )


async def test_a_clear_text_file_from_an_older_version_is_hashed_at_start_up_and_still_works(
    sandbox: SandboxServer, legacy_state: Path
) -> None:
    kept = refresh_token_file(legacy_state)
    assert "old-clear-text-token" not in kept.read_text()
    assert stored_hashes(legacy_state) == {sha256("old-clear-text-token")}
    assert kept.stat().st_mode & 0o777 == 0o600

    answer = await redeem(sandbox, "old-clear-text-token")

    assert answer.status_code == 200, answer.text
    new_token: str = answer.json()["refresh_token"]
    assert stored_hashes(legacy_state) == {sha256(new_token)}
    assert new_token not in kept.read_text()


async def test_the_stored_hash_itself_redeems_nothing(
    sandbox: SandboxServer, legacy_state: Path
) -> None:
    [stolen] = stored_hashes(legacy_state)

    answer = await redeem(sandbox, stolen)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


async def test_a_revocation_outlives_a_restart(sandbox: SandboxServer, legacy_state: Path) -> None:
    await sandbox.idp.revoke_refresh_tokens(ALEX.oid)
    await sandbox.stop()

    restarted = SandboxServer(state_dir=legacy_state)
    await restarted.start()
    try:
        answer: Any = (await redeem(restarted, "old-clear-text-token")).json()
    finally:
        await restarted.stop()

    assert answer["error"] == "invalid_grant"
    assert stored_hashes(legacy_state) == set()
