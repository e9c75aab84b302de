"""Rotating TOKEN_CACHE_KEY: old records still open, writes move them to the newest key, and
what only a dropped key sealed reads as absent (people sign in again), never as a failure."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from bot.web.keys import SANDBOX, STORAGE
from tests.conftest import (
    ALEX,
    BotClient,
    Connector,
    MakeBot,
    card_of,
    press,
    say,
    sign_in,
    sign_in_url,
)

CACHE_KEY = f"msal-cache/{ALEX.tenant_id}/{ALEX.oid}"


def a_key() -> str:
    return Fernet.generate_key().decode()


async def sealed_cache(bot: BotClient) -> bytes:
    return str((await bot.app[STORAGE].read([CACHE_KEY]))[CACHE_KEY]["blob"]).encode()


def opens_with(key: str, sealed: bytes) -> bool:
    try:
        Fernet(key).decrypt(sealed)
    except InvalidToken:
        return False
    return True


async def test_a_cache_sealed_under_the_old_key_reads_after_rotation_and_moves_to_the_new(
    make_bot: MakeBot, connector: Connector
) -> None:
    old, new = a_key(), a_key()
    first = await make_bot(SKIP_CONFIRMATION="true", TOKEN_CACHE_KEY=old)
    first.app[SANDBOX].idp.access_token_lifetime = 60  # stale at once: the next turn renews it
    await sign_in(first, connector)
    assert opens_with(old, await sealed_cache(first))
    await first.close()

    # Step 1 of a rotation: the new key first, the old one still there.
    second = await make_bot(SKIP_CONFIRMATION="true", TOKEN_CACHE_KEY=f"{new},{old}")
    [meeting] = await say(second, connector, "/meet After rotation now")

    assert card_of(meeting)["body"][0]["text"] == "After rotation"
    assert second.app[SANDBOX].idp.token_grants == ["refresh_token"]  # so the cache was written
    sealed = await sealed_cache(second)
    assert opens_with(new, sealed)
    assert not opens_with(old, sealed)
    await second.close()

    # Last step: the old key dropped. The cache moved, so nobody has to sign in again.
    third = await make_bot(SKIP_CONFIRMATION="true", TOKEN_CACHE_KEY=new)
    [meeting] = await say(third, connector, "/meet Old key gone now")

    assert card_of(meeting)["body"][0]["text"] == "Old key gone"


async def test_what_only_a_dropped_key_sealed_reads_as_absent(
    make_bot: MakeBot, connector: Connector
) -> None:
    old, new = a_key(), a_key()
    first = await make_bot(TOKEN_CACHE_KEY=old)
    await sign_in(first, connector)
    [confirmation] = await say(first, connector, "/meet Standup tomorrow 9am")
    await first.close()

    second = await make_bot(TOKEN_CACHE_KEY=new)
    # The open request on the card was sealed under the old key only: it has ended.
    ended = await press(second, connector, confirmation, "Create")
    assert "This request has ended" in ended["body"][0]["text"]
    # And so has the sign-in: the person is asked to sign in again, as after /signout.
    [again] = await say(second, connector, "/meet Standup tomorrow 9am")
    asked = await press(second, connector, again, "Create")

    assert sign_in_url({"attachments": [asked_card(asked)]}).startswith("http://127.0.0.1:")


def asked_card(card: dict[str, object]) -> dict[str, object]:
    return {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
