"""A zone named in the request: the meeting is at that instant, and the draft names the zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.request import MeetingDraft, RequestError, parse_request

BERLIN_NOW = "2026-11-23T10:00:00+01:00"  # a Monday


def parse(text: str, now: str = BERLIN_NOW, locale: str = "en-US") -> MeetingDraft:
    return parse_request(
        text,
        now=datetime.fromisoformat(now),
        tz=ZoneInfo("Europe/Berlin"),
        default_length=timedelta(minutes=30),
        locale=locale,
    )


@pytest.mark.parametrize(
    ("now", "text", "start", "end"),
    [
        # The US moves to summer time on 14 March 2027, Europe on 28 March: between the two,
        # New York is five hours behind Berlin instead of six.
        (
            "2027-03-01T10:00:00+01:00",
            "Sync Mar 13 9am ET",
            "2027-03-13T15:00:00+01:00",
            "2027-03-13T15:30:00+01:00",
        ),
        (
            "2027-03-01T10:00:00+01:00",
            "Sync Mar 20 9am ET",
            "2027-03-20T14:00:00+01:00",
            "2027-03-20T14:30:00+01:00",
        ),
        (
            "2027-03-01T10:00:00+01:00",
            "Sync Mar 30 9am ET",
            "2027-03-30T15:00:00+02:00",
            "2027-03-30T15:30:00+02:00",
        ),
        # And back: Europe leaves summer time on 31 October 2027, the US on 7 November.
        (
            "2027-10-01T10:00:00+02:00",
            "Sync Nov 3 9am ET",
            "2027-11-03T14:00:00+01:00",
            "2027-11-03T14:30:00+01:00",
        ),
        (
            "2027-10-01T10:00:00+02:00",
            "Sync Nov 9 9am EST for 1h",
            "2027-11-09T15:00:00+01:00",
            "2027-11-09T16:00:00+01:00",
        ),
        # A range in a zone, across New York's own change on 14 March 2027.
        (
            "2027-03-01T10:00:00+01:00",
            "Sync Mar 14 1am-4am ET",
            "2027-03-14T07:00:00+01:00",
            "2027-03-14T09:00:00+01:00",
        ),
    ],
)
def test_a_named_zone_is_read_with_its_own_summer_time(
    now: str, text: str, start: str, end: str
) -> None:
    draft = parse(text, now)
    assert (draft.start, draft.end) == (datetime.fromisoformat(start), datetime.fromisoformat(end))
    assert draft.named_timezone == "America/New_York"


@pytest.mark.parametrize(
    ("text", "locale", "subject", "start", "zone", "label"),
    [
        (
            "Partner sync tomorrow 4pm ET",
            "en-US",
            "Partner sync",
            "2026-11-24T22:00:00+01:00",
            "America/New_York",
            "ET",
        ),
        ("Sync 4pm ET", "en-US", "Sync", "2026-11-23T22:00:00+01:00", "America/New_York", "ET"),
        ("Sync 4pm et", "en-US", "Sync", "2026-11-23T22:00:00+01:00", "America/New_York", "ET"),
        ("Sync 3pm (ET)", "en-US", "Sync", "2026-11-23T21:00:00+01:00", "America/New_York", "ET"),
        (
            "Sync 3-4pm PT",
            "en-US",
            "Sync",
            "2026-11-24T00:00:00+01:00",
            "America/Los_Angeles",
            "PT",
        ),
        (
            "Sync 9am Pacific time",
            "en-US",
            "Sync",
            "2026-11-23T18:00:00+01:00",
            "America/Los_Angeles",
            "PT",
        ),
        (
            "Sync at 9 Eastern",
            "en-US",
            "Sync",
            "2026-11-23T15:00:00+01:00",
            "America/New_York",
            "ET",
        ),
        (
            "Sync Friday 9am Tokyo time",
            "en-US",
            "Sync",
            "2026-11-27T01:00:00+01:00",
            "Asia/Tokyo",
            "Tokyo",
        ),
        (
            "Call 3pm New York time",
            "en-US",
            "Call",
            "2026-11-23T21:00:00+01:00",
            "America/New_York",
            "New York",
        ),
        ("Sync 4pm UTC", "en-US", "Sync", "2026-11-23T17:00:00+01:00", "UTC", "UTC"),
        ("Sync 4pm GMT", "en-US", "Sync", "2026-11-23T17:00:00+01:00", "UTC", "GMT"),
        (
            "Sync 10am UTC+5:30 tomorrow",
            "en-US",
            "Sync",
            "2026-11-24T05:30:00+01:00",
            "+05:30",
            "UTC+5:30",
        ),
        (
            "Sync 15:00 (Europe/London)",
            "en-US",
            "Sync",
            "2026-11-23T16:00:00+01:00",
            "Europe/London",
            "Europe/London",
        ),
        (
            "Sync 15:00 europe/london",
            "en-US",
            "Sync",
            "2026-11-23T16:00:00+01:00",
            "Europe/London",
            "Europe/London",
        ),
        (
            "Workshop Dec 8 from 9 to 17 CET",
            "en-US",
            "Workshop",
            "2026-12-08T09:00:00+01:00",
            "Europe/Berlin",
            "CET",
        ),
        (
            "Sync Mittwoch 15 Uhr MEZ",
            "de-DE",
            "Sync",
            "2026-11-25T15:00:00+01:00",
            "Europe/Berlin",
            "MEZ",
        ),
        (
            "Sync morgen 15 Uhr ET",
            "de-DE",
            "Sync",
            "2026-11-24T21:00:00+01:00",
            "America/New_York",
            "ET",
        ),
        (
            "Point demain 16h ET",
            "fr-FR",
            "Point",
            "2026-11-24T22:00:00+01:00",
            "America/New_York",
            "ET",
        ),
        (
            "Point demain 16h heure de Tokyo",
            "fr-FR",
            "Point",
            "2026-11-24T08:00:00+01:00",
            "Asia/Tokyo",
            "Tokyo",
        ),
        (
            "Reunión mañana a las 10 hora de Nueva York",
            "es-ES",
            "Reunión",
            "2026-11-24T16:00:00+01:00",
            "America/New_York",
            "Nueva York",
        ),
        (
            "Reunión mañana a las 10 hora de Madrid",
            "es-ES",
            "Reunión",
            "2026-11-24T10:00:00+01:00",
            "Europe/Madrid",
            "Madrid",
        ),
    ],
)
def test_the_draft_names_the_zone_the_text_named(
    text: str, locale: str, subject: str, start: str, zone: str | None, label: str | None
) -> None:
    draft = parse(text, locale=locale)
    assert draft.subject == subject
    assert draft.start == datetime.fromisoformat(start)
    assert (draft.named_timezone, draft.named_timezone_label) == (zone, label)


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("Sync tomorrow 3pm", "Sync"),
        ("Sync 3pm team time", "Sync team time"),  # no zone is called "team"
        ("Sync 3pm Tokyo", "Sync Tokyo"),  # a city alone may be the subject's
        ("Point demain 16h et Marie", "Point et Marie"),  # French "et" is "and"
        ("CT scan review", "CT scan review"),
    ],
)
def test_no_zone_named_no_zone_kept(text: str, subject: str) -> None:
    locale = "fr-FR" if "Point" in text else "en-US"
    draft = parse(text, locale=locale)
    assert draft.subject == subject
    assert (draft.named_timezone, draft.named_timezone_label) == (None, None)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Partner sync ET tomorrow 4pm", "'ET'"),
        ("Sync UTC tomorrow 4pm", "'UTC'"),
        ("Sync Europe/London tomorrow 4pm", "'Europe/London'"),
        ("Sync Tokyo time tomorrow 4pm", "'Tokyo time'"),
        ("Sync tomorrow 4pm CET ET", "'ET'"),
        ("Sync tomorrow 4pm Europe/Nowhere", "'Europe/Nowhere'"),
        ("Sync 2026-12-01T10:00+01:00 ET", "'ET'"),
        ("CT scan review tomorrow 3pm", "'CT'"),
    ],
)
def test_a_zone_not_beside_a_time_is_asked_about(text: str, named: str) -> None:
    with pytest.raises(RequestError, match=f"not sure what {named} means"):
        parse(text)


def test_a_draft_keeps_its_named_zone_through_json() -> None:
    draft = parse("Partner sync tomorrow 4pm ET")
    assert MeetingDraft.from_json(draft.to_json()) == draft
    assert draft.to_json()["named_timezone"] == "America/New_York"
    assert draft.to_json()["named_timezone_label"] == "ET"


def test_a_draft_stored_before_named_zones_reads_without_one() -> None:
    older = {"subject": "Sync", "start": None, "end": None, "timezone": "Europe/Berlin"}
    draft = MeetingDraft.from_json(older)
    assert (draft.named_timezone, draft.named_timezone_label) == (None, None)


def test_an_iso_time_without_an_offset_may_name_its_zone() -> None:
    draft = parse("Sync 2026-12-01T10:00 ET")
    assert draft.start == datetime.fromisoformat("2026-12-01T16:00:00+01:00")
    assert (draft.named_timezone, draft.named_timezone_label) == ("America/New_York", "ET")
