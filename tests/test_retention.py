"""Retention: every record the bot keeps has the expiry README and /privacy state, and one
background pass deletes whatever is past it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet

from bot.conversation.router import WELCOME_DAYS
from bot.identity.signin import SIGN_IN_TTL_SECONDS
from bot.identity.tokens import TOKEN_CACHE_DAYS
from bot.meetings.chosen_zones import ZONE_DAYS, ChosenZones
from bot.meetings.ledger import RequestLedger
from bot.meetings.outbox import OWED_AT_LEAST_HOURS, Outbox
from bot.meetings.request import WAIT_HOURS
from bot.settings import Settings, SettingsError
from bot.state.storage import EARLIER_VERSION_LIFETIME_SECONDS, SqliteStorage
from bot.state.store import PURGE_BATCH, UNNAMED_LIFETIME_SECONDS
from bot.web.keys import SETTINGS
from graph import OnlineMeeting
from tests.conftest import MEGAN, Connector, MakeBot, card_of, post, press, say, sign_in
from tests.meeting_requests import ALEX, an_ask

DAY = 86400.0
BERLIN = ZoneInfo("Europe/Berlin")


class Clock:
    """The bot's clock, standing still unless a test moves it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def stored(bot_data: Path) -> dict[str, float | None]:
    """Every key in the bot's database and its expiry, as the file holds them."""
    with closing(sqlite3.connect(bot_data / "bot.sqlite3")) as db:
        return dict(db.execute("SELECT key, expires FROM items").fetchall())


def kind(key: str) -> str:
    # botbuilder keys dialog state "<channel>/conversations/<conversation>/users/<user>".
    return "dialog" if "/conversations/" in key else key.split("/")[0]


def kinds(bot_data: Path) -> set[str]:
    return {kind(key) for key in stored(bot_data)}


async def after_a_pass(bot_data: Path, done: Callable[[set[str]], bool]) -> set[str]:
    """The kinds of record left once the background pass a start runs at once has run."""
    for _ in range(200):
        if done(left := kinds(bot_data)):
            return left
        await asyncio.sleep(0.05)
    return kinds(bot_data)


async def test_every_record_a_conversation_leaves_has_its_documented_expiry_and_goes_then(
    make_bot: MakeBot, connector: Connector
) -> None:
    clock = Clock(datetime.now(UTC).timestamp())
    now = clock.now
    bot = await make_bot(clock=clock)
    data = bot.app[SETTINGS].data_dir
    await post(bot, connector, {"type": "installationUpdate", "action": "add", "text": None})
    await say(bot, connector, "/timezone Berlin")
    await sign_in(bot, connector)
    [confirmation] = await say(bot, connector, "/meet Standup tomorrow 9am")
    created = await press(bot, connector, confirmation, "Create")
    assert created["body"][0]["text"] == "Standup"
    await say(bot, connector, "/meet")  # a question: the dialog's state is kept
    megan: dict[str, Any] = {"user": MEGAN, "conversation_id": "a:megan-chat"}
    [megans] = await say(bot, connector, "/meet Review tomorrow 10am", **megan)
    await press(bot, connector, megans, "Create", **megan)  # waits for her to sign in
    await say(bot, connector, "/signin", **megan)  # its card becomes "Signed in" later

    tomorrow = datetime.fromtimestamp(now, BERLIN).date() + timedelta(days=1)
    meeting_end = datetime.combine(tomorrow, clock_time(9, 30), BERLIN).timestamp()
    documented = {
        "welcome": now + 365 * DAY,  # until the bot is removed, or a year
        "zone": now + 365 * DAY,  # until /timezone auto, or a year unused
        "msal-cache": now + 90 * DAY,  # until /signout, or 90 days after it was last renewed
        "request": meeting_end + 7 * DAY,  # LEDGER_RETENTION_DAYS after the meeting's end
        "open": now + DAY,
        "waiting": now + DAY,
        "dialog": now + DAY,  # a day after it last changed
        "signin": now + 600,  # a sign-in link lasts ten minutes
        "signin-card": now + 600,
    }
    records = stored(data)
    assert {kind(key) for key in records} == set(documented)
    assert {key: documented[kind(key)] for key in records} == records

    await bot.close()
    clock.now = now + DAY + 1
    bot = await make_bot(clock=clock)
    expected = {"welcome", "zone", "msal-cache", "request"}
    assert await after_a_pass(data, lambda left: left == expected) == expected
    # Megan's request waited a day: its card says so and keeps no buttons.
    ended = card_of(connector.updates[-1])
    assert "has ended" in json.dumps(ended)
    assert ended["actions"] == []

    await bot.close()
    clock.now = meeting_end + 7 * DAY + 1
    bot = await make_bot(clock=clock)
    expected = {"welcome", "zone", "msal-cache"}
    assert await after_a_pass(data, lambda left: left == expected) == expected

    await bot.close()
    clock.now = now + 90 * DAY + 1
    bot = await make_bot(clock=clock)
    expected = {"welcome", "zone"}
    assert await after_a_pass(data, lambda left: left == expected) == expected

    await bot.close()
    clock.now = now + 365 * DAY + 1
    bot = await make_bot(clock=clock)
    assert await after_a_pass(data, lambda left: not left) == set()


async def test_a_start_purges_at_once_and_a_shutdown_stops_the_pass(
    make_bot: MakeBot, connector: Connector
) -> None:
    clock = Clock(datetime.now(UTC).timestamp())
    bot = await make_bot(clock=clock)
    data = bot.app[SETTINGS].data_dir
    await say(bot, connector, "/meet")
    await bot.close()
    assert kinds(data) == {"dialog"}

    clock.now += DAY + 1
    bot = await make_bot(clock=clock)

    assert await after_a_pass(data, lambda left: not left) == set()
    await bot.close()
    tasks = [task for task in asyncio.all_tasks() if "_upkeep" in repr(task.get_coro())]
    assert tasks == []


# -- each store's expiry, on its own ------------------------------------------------------------


def a_meeting() -> OnlineMeeting:
    return OnlineMeeting.from_fields(
        dict.fromkeys(OnlineMeeting.__dataclass_fields__, None)
        | {"id": "m1", "join_web_url": "https://teams.example/join", "passcode_required": False}
    )


async def expiry_of(storage: SqliteStorage, prefix: str) -> float:
    [key] = await storage.keys(prefix)
    [expires] = await storage.expired(prefix, float("inf"))
    assert expires == key
    value = (await storage.read([key]))[key]
    return float(value["expires"])


async def test_an_answer_is_owed_until_the_meeting_ends_and_at_least_a_day(
    tmp_path: Path,
) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    ask = an_ask()
    clock = Clock(ask.end.timestamp() - 7 * DAY)  # a meeting a week ahead
    outbox = Outbox(storage, Fernet(Fernet.generate_key()), clock=clock)

    await outbox.record(ask, None)
    assert await expiry_of(storage, "outbox/") == ask.end.timestamp()

    await storage.delete(await storage.keys("outbox/"))
    clock.now = ask.end.timestamp() - 3600  # a meeting in an hour
    await outbox.record(ask, None)
    assert await expiry_of(storage, "outbox/") == clock.now + DAY
    storage.close()


async def test_the_ledger_keeps_a_request_for_days_after_its_meeting_and_outlives_its_answer(
    tmp_path: Path,
) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    ask = an_ask()
    clock = Clock(ask.end.timestamp() - 3600)
    ledger = RequestLedger(
        storage,
        Fernet(Fernet.generate_key()),
        busy_after_seconds=60,
        keep_after_end_seconds=2 * DAY,
        clock=clock,
    )

    async def create() -> OnlineMeeting:
        return a_meeting()

    await ledger.once("ahead", create, repeatable=False, ends=ask.end)
    assert await expiry_of(storage, "request/ahead") == ask.end.timestamp() + 2 * DAY
    # A meeting whose end has passed (a card pressed late): counted from the request.
    clock.now = ask.end.timestamp() + DAY
    await ledger.once("late", create, repeatable=False, ends=ask.end)
    assert await expiry_of(storage, "request/late") == clock.now + 2 * DAY
    # Even at the shortest setting, whatever can ask for the request again ends first.
    outbox = Outbox(storage, Fernet(Fernet.generate_key()), clock=clock)
    await outbox.record(ask, None)
    assert await expiry_of(storage, "outbox/") < clock.now + 2 * DAY
    storage.close()


async def test_a_chosen_zone_is_renewed_by_use_once_a_day(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    clock = Clock(1_800_000_000.0)
    zones = ChosenZones(storage, clock=clock)
    alex = ALEX
    await zones.choose(alex, "Europe/Berlin")
    chosen_at = clock.now

    clock.now += 3600
    assert await zones.get(alex) == "Europe/Berlin"
    assert await expiry_of(storage, "zone/") == chosen_at + 365 * DAY  # not rewritten within a day
    clock.now += DAY
    assert await zones.get(alex) == "Europe/Berlin"
    assert await expiry_of(storage, "zone/") == clock.now + 365 * DAY
    storage.close()


async def test_a_zone_an_earlier_version_kept_gets_its_expiry_when_next_used(
    tmp_path: Path,
) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    clock = Clock(1_800_000_000.0)
    alex = ALEX
    key = f"zone/{alex.tenant_id}/{alex.person_id}"
    await storage.write({key: {"zone": "Europe/Berlin"}})  # no "expires": an earlier version's

    assert await ChosenZones(storage, clock=clock).get(alex) == "Europe/Berlin"

    assert await expiry_of(storage, "zone/") == clock.now + 365 * DAY
    storage.close()


def test_the_ledger_keeps_requests_a_week_after_their_meeting_and_at_least_two_days() -> None:
    assert Settings.from_env({}).ledger_retention_days == 7
    assert Settings.from_env({"LEDGER_RETENTION_DAYS": "30"}).ledger_retention_days == 30
    with pytest.raises(SettingsError, match="between 2 and 3650"):
        Settings.from_env({"LEDGER_RETENTION_DAYS": "1"})


# -- what /privacy and README say is what the code does ------------------------------------------


async def test_the_privacy_page_states_each_period_as_configured(make_bot: MakeBot) -> None:
    bot = await make_bot(LEDGER_RETENTION_DAYS="10")

    page = await (await bot.get("/privacy")).text()

    for period in (
        "until /signout, or 90 days after the bot last renewed it",
        "in a 1:1 chat: 24 hours after it last changed",
        "24 hours after the card last changed",
        "press Retry or Create another (encrypted): 24 hours",
        "until the meeting&#x27;s end, and at least 24 hours",
        "a second one: 10 days after the meeting&#x27;s end",
        "until it is used, at most 10 minutes",
        "until /timezone auto, or 365 days after you last used it",
        "until it is removed from the chat, or 365 days",
        "A pass about every 46 seconds deletes whatever has expired",
    ):
        assert period in page


def test_the_readme_states_the_periods_the_code_applies() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("### What the bot keeps, and for how long")[1].split("\n## ")[0]

    for period in (
        f"{TOKEN_CACHE_DAYS} days after",
        f"{UNNAMED_LIFETIME_SECONDS // 3600} hours after it last changed",
        f"{WAIT_HOURS} hours after the card last changed",
        f"at least {OWED_AT_LEAST_HOURS} hours",
        f"`LEDGER_RETENTION_DAYS` ({Settings().ledger_retention_days}) after the meeting's end",
        f"{SIGN_IN_TTL_SECONDS // 60} minutes",
        f"{ZONE_DAYS} days after it was last used",
        f"{WELCOME_DAYS} days after the last install",
        f"{EARLIER_VERSION_LIFETIME_SECONDS // 86400} days",
        f"{PURGE_BATCH} records",
    ):
        assert period in section
