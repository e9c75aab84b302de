"""Odd characters in a request: read as text or explained, never a crash."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import dialogs.request
from dialogs.request import (
    MAX_COMMAND_CHARS,
    MAX_LENGTH,
    MeetingDraft,
    RequestError,
    check_subject,
    parse_length,
    parse_request,
)

BERLIN_NOW = datetime.fromisoformat("2026-11-23T10:00:00+01:00")  # a Monday


def parse(text: str, zone: str = "Europe/Berlin", now: datetime = BERLIN_NOW) -> MeetingDraft:
    return parse_request(text, now=now, tz=ZoneInfo(zone), default_length=timedelta(minutes=30))


@pytest.mark.parametrize(
    "text",
    [
        "Sync tomorrow at ٣pm",  # Arabic-Indic three
        "Sync tomorrow at ³pm",  # superscript three
        "Sync tomorrow 𝟘9:00",  # mathematical double-struck zero
        "Sync tomorrow ٠٩:٣٠",
        "Sync tomorrow at ٣",
        "Sync tomorrow ٣-٤pm",
    ],
)
def test_digits_from_other_scripts_are_not_read_as_a_time(text: str) -> None:
    with pytest.raises(RequestError, match="What time on Tue 24 Nov"):
        parse(text)


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("Sync tomorrow 3pm for ²m", "Sync for ²m"),
        ("Sync tomorrow 3pm for ٤٥ minutes", "Sync for ٤٥ minutes"),
        ("Sync tomorrow 3pm ١h", "Sync ١h"),
    ],
)
def test_digits_from_other_scripts_are_not_read_as_a_length(text: str, subject: str) -> None:
    draft = parse(text)
    assert draft.subject == subject
    assert draft.start == datetime.fromisoformat("2026-11-24T15:00:00+01:00")
    assert not draft.length_given


@pytest.mark.parametrize("text", ["²", "٣٠", "𝟘", "٤٥m", "１h", "1²"])
def test_a_length_on_its_own_is_written_in_ascii_digits(text: str) -> None:
    assert parse_length(text) is None


# -- the calendar's ends: years 1 and 9999 ------------------------------------------------------

OFF_CALENDAR = "too far from today for me to work with"


@pytest.mark.parametrize(
    ("text", "zone", "message"),
    [
        ("Dec 31 9999 11pm", "Europe/Berlin", OFF_CALENDAR),
        ("Dec 31 9999 11:50pm", "America/New_York", OFF_CALENDAR),
        ("9999-12-31 10am", "Europe/Berlin", OFF_CALENDAR),
        ("9999-12-31T23:50 for 30m", "Europe/Berlin", OFF_CALENDAR),
        ("9999-12-31T23:50Z", "Europe/Berlin", OFF_CALENDAR),
        ("9999-12-31T10:00-14:00", "Pacific/Kiritimati", OFF_CALENDAR),
        ("0001-01-01T00:00+05:00", "Europe/Berlin", OFF_CALENDAR),
        ("0001-01-01T00:00", "Europe/Berlin", OFF_CALENDAR),
        ("0001-01-01T00:00-05:00", "Europe/Berlin", "already passed"),
        ("0001-01-01 10am", "Europe/Berlin", "already passed"),
        ("Jan 1 0001 9am", "America/New_York", "already passed"),
        ("Jan 1 0001 9am", "Asia/Tokyo", OFF_CALENDAR),  # before year 1 in UTC
        ("0000-01-01 10am", "Europe/Berlin", "not a date"),
        ("Dec 3 0000 10am", "Europe/Berlin", "not a date"),
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_explained(
    text: str, zone: str, message: str
) -> None:
    with pytest.raises(RequestError, match=message):
        parse(text, zone)


def test_a_far_date_clear_of_the_calendars_end_is_still_a_meeting() -> None:
    draft = parse("Dec 3 9999 10am")
    assert draft.start == datetime.fromisoformat("9999-12-03T10:00:00+01:00")
    assert draft.end == datetime.fromisoformat("9999-12-03T10:30:00+01:00")


@pytest.mark.parametrize(
    ("now", "zone", "text", "message"),
    [
        ("9999-12-31T12:00:00+00:00", "UTC", "tomorrow 10am", OFF_CALENDAR),
        ("9999-12-31T12:00:00+00:00", "UTC", "now", OFF_CALENDAR),
        ("9999-12-31T12:00:00+00:00", "UTC", "in 20 hours", OFF_CALENDAR),
        ("9999-12-31T12:00:00+00:00", "UTC", "Friday 2pm", OFF_CALENDAR),
        ("9999-12-31T12:00:00+00:00", "UTC", "11am", OFF_CALENDAR),
        ("9999-12-31T12:00:00+00:00", "UTC", "Jan 5 10am", "Jan 5 is not a date next year"),
        ("9999-12-31T23:59:00-05:00", "UTC", "Standup", OFF_CALENDAR),
        ("0001-01-01T00:00:00+05:00", "UTC", "Standup", OFF_CALENDAR),
        ("0001-01-01T00:00:00+00:00", "UTC", "for 30m", OFF_CALENDAR),
        ("2028-03-01T10:00:00+01:00", "Europe/Berlin", "Feb 29 10am", "not a date next year"),
    ],
)
def test_a_clock_at_the_ends_of_the_calendar_gets_an_explanation(
    now: str, zone: str, text: str, message: str
) -> None:
    with pytest.raises(RequestError, match=message):
        parse(text, zone, datetime.fromisoformat(now))


# -- numbers longer than int() reads ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "for " + "0" * 4_400 + "1m",
        "at " + "0" * 4_400 + "9",
        "Sync " + "9" * 5_000,
        "Sync tomorrow 3pm for 1h " + "0" * 5_000 + "m",
    ],
)
def test_a_number_of_thousands_of_digits_is_too_long_to_read(text: str) -> None:
    with pytest.raises(RequestError, match="too long for me to read"):
        parse(text)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("for " + "0" * 4_400 + "1m", 1),
        ("for 1h " + "0" * 5_000 + "15m", 75),
        ("for " + "0" * 4_400 + "1.5" + "0" * 4_400 + "h", 90),
    ],
)
def test_a_long_run_of_zeros_is_still_a_number_whatever_the_cap(
    text: str, minutes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lifting the cap shows the numbers themselves are safe: int() refuses 4,300 digits.
    monkeypatch.setattr(dialogs.request, "MAX_COMMAND_CHARS", 10**6)
    draft = parse(text)
    assert draft.start == BERLIN_NOW
    assert draft.end is not None
    assert round((draft.end - draft.start).total_seconds() / 60) == minutes


@pytest.mark.parametrize("text", ["for " + "9" * 5_000 + "m", "in " + "9" * 5_000 + "h"])
def test_a_length_of_thousands_of_digits_is_over_a_day_whatever_the_cap(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialogs.request, "MAX_COMMAND_CHARS", 10**6)
    with pytest.raises(RequestError, match="at most 24 hours"):
        parse(text)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("0" * 990 + "45", timedelta(minutes=45)),
        ("9" * 990, MAX_LENGTH + timedelta(minutes=1)),
        ("9" * 990 + "h", MAX_LENGTH + timedelta(minutes=1)),
        ("1h " + "9" * 990 + "m", MAX_LENGTH + timedelta(minutes=1)),
        ("1" + "0" * MAX_COMMAND_CHARS, None),
    ],
)
def test_a_length_on_its_own_of_many_digits(text: str, length: timedelta | None) -> None:
    assert parse_length(text) == length


# -- lone surrogates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Sync \ud800 tomorrow 3pm", '"Plan \udfff" Friday 2pm', "\udc80", "tomorrow 3pm \ud83d"],
)
def test_a_lone_surrogate_is_refused_with_an_explanation(text: str) -> None:
    with pytest.raises(RequestError, match="characters I can't read"):
        parse(text)


def test_a_subject_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(RequestError, match="characters I can't read"):
        check_subject("Plan \ud800")
    assert check_subject("Plan 🎉 \u202eRTL\u202c") == "Plan 🎉 \u202eRTL\u202c"


def test_a_length_with_a_lone_surrogate_is_not_a_length() -> None:
    assert parse_length("4\ud8005") is None
    assert parse_length("45m\udc80") is None
