"""/timezone: a person whose client sends no zone (or UTC) sets theirs once, for every chat."""

from __future__ import annotations

from bot.conversation.time_zones import UserZone
from dialogs.zones import looks_default, zone_named
from tests.conftest import BotClient, Connector, card_of, facts_of, say


def card_texts(reply: dict[str, object]) -> str:
    return " ".join(str(block.get("text", "")) for block in card_of(reply)["body"])


async def test_a_client_without_a_zone_gets_utc_and_the_card_says_how_to_fix_it(
    bot: BotClient, connector: Connector
) -> None:
    [card] = await say(bot, connector, "/meet Standup tomorrow 9am", timezone=None)
    assert "(UTC)" in facts_of(card_of(card))["When"]
    assert "timezone Berlin" in card_texts(card)


async def test_a_zone_from_teams_is_not_questioned(bot: BotClient, connector: Connector) -> None:
    [card] = await say(bot, connector, "/meet Standup tomorrow 9am")  # clientInfo: Berlin
    assert "(Europe/Berlin)" in facts_of(card_of(card))["When"]
    assert "timezone" not in card_texts(card)


async def test_a_chosen_zone_reads_and_shows_times_in_every_chat_until_auto(
    bot: BotClient, connector: Connector
) -> None:
    [told] = await say(bot, connector, "/timezone new york", timezone=None)
    assert told["text"].startswith("Your time zone is now America/New_York")

    # The choice wins over what the client sends, in another chat too.
    [card] = await say(
        bot, connector, "/meet Standup tomorrow 9am", conversation_id="a:another-chat"
    )
    when = facts_of(card_of(card))["When"]
    assert "9:00 AM – 9:30 AM (America/New_York)" in when
    assert "timezone" not in card_texts(card)

    [shown] = await say(bot, connector, "timezone")
    assert "America/New_York (you chose it)" in shown["text"]

    [back] = await say(bot, connector, "/timezone auto")
    assert back["text"] == "I'll use the zone your Teams app sends: Europe/Berlin for now."
    [card] = await say(bot, connector, "/meet Standup tomorrow 9am")
    assert "(Europe/Berlin)" in facts_of(card_of(card))["When"]


async def test_an_unknown_zone_changes_nothing(bot: BotClient, connector: Connector) -> None:
    [told] = await say(bot, connector, "/timezone Atlantis")
    assert told["text"].startswith("I don't know a time zone called 'Atlantis'.")
    [told] = await say(bot, connector, "/timezone " + "x" * 500)
    assert "I don't know a time zone" in told["text"]
    assert len(told["text"]) < 300
    [shown] = await say(bot, connector, "/timezone")
    assert "Europe/Berlin (from your Teams app)" in shown["text"]


def test_zone_names_cities_and_defaults() -> None:
    assert str(zone_named("Europe/Berlin")) == "Europe/Berlin"
    assert str(zone_named("europe/berlin")) == "Europe/Berlin"
    assert str(zone_named("Los Angeles")) == "America/Los_Angeles"
    assert str(zone_named("sao_paulo")) == "America/Sao_Paulo"
    assert zone_named("Atlantis") is None
    for default in ("UTC", "Etc/UTC", "Etc/GMT", "+00:00", "-05:00"):
        assert looks_default(default)
    assert not looks_default("Europe/London")
    assert not UserZone(zone_named("UTC"), chosen=True).guessed  # type: ignore[arg-type]


async def test_a_zone_named_in_the_text_is_shown_beside_the_users(
    bot: BotClient, connector: Connector
) -> None:
    # The first misreading: a Berlin user's "4pm ET" is 22:00 in Berlin.
    [card] = await say(bot, connector, "/meet Partner sync tomorrow 4pm ET")
    facts = facts_of(card_of(card))
    assert card_of(card)["body"][1]["text"] == "Partner sync"
    assert "10:00 PM – 10:30 PM (Europe/Berlin)" in facts["When"]
    assert facts["Asked as"] == "4:00 PM ET · 10:00 PM your time"

    [card] = await say(bot, connector, "/meet Partner sync morgen 16 Uhr ET", locale="de-DE")
    facts = facts_of(card_of(card))
    assert facts["Angefragt als"] == "16:00 ET · 22:00 bei Ihnen"


async def test_a_zone_named_that_is_the_users_own_adds_nothing(
    bot: BotClient, connector: Connector
) -> None:
    [card] = await say(bot, connector, "/meet Sync tomorrow 4pm Berlin time")
    assert "Asked as" not in facts_of(card_of(card))
