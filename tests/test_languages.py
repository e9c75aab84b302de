"""Choosing a user's language from their Teams locale, and writing messages and values in it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.language import MAX_KEPT_TAGS, Languages
from dialogs.request import RequestError

BERLIN = ZoneInfo("Europe/Berlin")
THREE_PM = datetime(2026, 12, 1, 15, 0, tzinfo=BERLIN)
GERMAN = {
    "Cancelled.": "Abgebrochen.",
    "What time on {day}?": "Um wie viel Uhr am {day}?",
    "Keep it to {limit} characters.": "Höchstens {limit} Zeichen.",
    "Hello {name}.": "Hallo {nom}.",  # a translator's slip: a field the message doesn't have
    "Untranslated.": "",
}
LANGUAGES = Languages({"de": GERMAN, "fr": {}})


@pytest.mark.parametrize(
    ("tag", "time"),
    [("en-US", "3:00 PM"), ("en-GB", "15:00"), ("de-DE", "15:00"), ("", "3:00 PM")],
)
def test_times_are_written_as_the_users_locale_writes_them(tag: str, time: str) -> None:
    assert LANGUAGES.pick(tag).time(THREE_PM) == time


def test_english_text_for_british_and_american_users_alike() -> None:
    assert LANGUAGES.pick("en-GB").gettext("Cancelled.") == "Cancelled."
    assert LANGUAGES.pick("en-US").code == LANGUAGES.pick("en-GB").code == "en"


def test_a_regional_tag_gets_its_language_and_its_regions_formats() -> None:
    austrian = LANGUAGES.pick("de-AT")
    assert austrian.code == "de"
    assert str(austrian.locale) == "de_AT"
    assert austrian.gettext("Cancelled.") == "Abgebrochen."


@pytest.mark.parametrize("tag", ["pt-BR", "zh-Hant-TW", "xx", "en-ZZ", "tlh"])
def test_a_language_without_a_catalog_is_answered_in_english_with_english_values(
    tag: str,
) -> None:
    language = LANGUAGES.pick(tag)
    assert language.code == "en"
    assert language.gettext("Cancelled.") == "Cancelled."
    # Not "15:00" in a Portuguese sentence's place: the values match the text's language.
    assert language.time(THREE_PM) == "3:00 PM"


def test_a_missing_or_empty_translation_is_the_english_message() -> None:
    german = LANGUAGES.pick("de")
    assert german.gettext("Not in the catalog.") == "Not in the catalog."
    assert german.gettext("Untranslated.") == "Untranslated."


def test_a_translation_whose_fields_differ_falls_back_to_english() -> None:
    assert LANGUAGES.pick("de").gettext("Hello {name}.", name="Megan") == "Hello Megan."


def test_a_request_error_is_translated_and_its_values_written_for_the_locale() -> None:
    german = LANGUAGES.pick("de-DE")
    assert german.message(RequestError("What time on {day}?", day=date(2026, 12, 1))) == (
        "Um wie viel Uhr am Di., 1. Dez.?"
    )
    assert german.message(RequestError("Keep it to {limit} characters.", limit=1000)) == (
        "Höchstens 1.000 Zeichen."
    )
    american = LANGUAGES.pick("en-US")
    assert american.message(RequestError("Keep it to {limit} characters.", limit=1000)) == (
        "Keep it to 1,000 characters."
    )
    # Times and fractions too, should a template take them.
    assert american.value(THREE_PM.timetz()) == "3:00 PM"
    assert german.value(1.5) == "1,5"
    # A template no catalog has yet (the parser adds them before translators do): English.
    later = RequestError("{text} is not a time yet.", text="25pm")
    assert german.message(later) == str(later) == "25pm is not a time yet."


def test_spans_and_lengths_follow_the_locale() -> None:
    end = THREE_PM + timedelta(minutes=90)
    german, american = LANGUAGES.pick("de-DE"), LANGUAGES.pick("en-US")
    assert german.span(THREE_PM, end, BERLIN) == (
        "Di., 1. Dez. 2026, 15:00 – 16:30 (Europe/Berlin)"
    )
    assert american.span(THREE_PM, end, BERLIN) == (
        "Tue, Dec 1, 2026, 3:00 PM – 4:30 PM (Europe/Berlin)"
    )
    assert german.length(end - THREE_PM) == "1 Std., 30 Min."
    assert american.length(end - THREE_PM) == "1 hr, 30 min"
    assert american.length(timedelta(minutes=45)) == "45 min"
    assert german.duration(24, "hour") == "24 Stunden"
    assert american.duration(1, "second") == "1 second"


def test_a_tag_is_worked_out_once_and_strangers_tags_do_not_pile_up() -> None:
    languages = Languages({"de": GERMAN})
    assert languages.pick("de-DE") is languages.pick("de-DE")
    for n in range(MAX_KEPT_TAGS + 50):
        assert languages.pick(f"de-x-{n:04d}").code == "de"
    assert len(languages._kept) == MAX_KEPT_TAGS


def test_a_regional_catalog_serves_its_region_and_the_language_falls_back_to_english() -> None:
    languages = Languages({"pt_BR": {"Cancelled.": "Cancelado."}})
    assert languages.pick("pt-BR").gettext("Cancelled.") == "Cancelado."
    assert str(languages.pick("pt-BR").locale) == "pt_BR"
    assert languages.pick("pt-PT").gettext("Cancelled.") == "Cancelled."


def test_warming_works_the_languages_out_before_any_turn() -> None:
    languages = Languages({"de": GERMAN})
    languages.warm(["en-US", "de"])
    assert set(languages._kept) == {"en-US", "de"}
    assert languages.pick("de")._times  # a time was written, so CLDR's data is read
