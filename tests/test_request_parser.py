"""The request parser, table-driven with a fixed `now` in several zones (DST included)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dialogs.request import MeetingDraft, RequestError, parse_length, parse_request

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = timedelta(minutes=30)
BERLIN_NOW = "2026-11-23T10:00:00+01:00"  # a Monday


def parse(text: str, zone: str = "Europe/Berlin", now: str = BERLIN_NOW) -> MeetingDraft:
    return parse_request(
        text, now=datetime.fromisoformat(now), tz=ZoneInfo(zone), default_length=DEFAULT
    )


@pytest.mark.parametrize(
    ("text", "subject", "start", "end"),
    [
        (
            "Design review tomorrow at 3pm for 45 minutes",
            "Design review",
            "2026-11-24T15:00:00+01:00",
            "2026-11-24T15:45:00+01:00",
        ),
        ("tomorrow 3pm for 45m", None, "2026-11-24T15:00:00+01:00", "2026-11-24T15:45:00+01:00"),
        (
            "next Monday 10:30 for 1h",
            None,
            "2026-11-30T10:30:00+01:00",
            "2026-11-30T11:30:00+01:00",
        ),
        ("Friday 2pm", None, "2026-11-27T14:00:00+01:00", "2026-11-27T14:30:00+01:00"),
        ("in 2 hours", None, "2026-11-23T12:00:00+01:00", "2026-11-23T12:30:00+01:00"),
        (
            "Dec 3 at 14:00 for 2 hours",
            None,
            "2026-12-03T14:00:00+01:00",
            "2026-12-03T16:00:00+01:00",
        ),
        ("Thursday 3pm to 4:30pm", None, "2026-11-26T15:00:00+01:00", "2026-11-26T16:30:00+01:00"),
        ("4pm-5pm today", None, "2026-11-23T16:00:00+01:00", "2026-11-23T17:00:00+01:00"),
        (
            "noon tomorrow for half an hour",
            None,
            "2026-11-24T12:00:00+01:00",
            "2026-11-24T12:30:00+01:00",
        ),
        ("tonight 11:30pm", None, "2026-11-23T23:30:00+01:00", "2026-11-24T00:00:00+01:00"),
        ("tonight 11:30", None, "2026-11-23T23:30:00+01:00", "2026-11-24T00:00:00+01:00"),
        ("now", None, "2026-11-23T10:00:00+01:00", "2026-11-23T10:30:00+01:00"),
        (
            "Sync 2026-12-01T10:00 30m",
            "Sync",
            "2026-12-01T10:00:00+01:00",
            "2026-12-01T10:30:00+01:00",
        ),
        (
            "Plan 2026-12-01T10:00Z 1h30m",
            "Plan",
            "2026-12-01T10:00:00+00:00",
            "2026-12-01T11:30:00+00:00",
        ),
        (
            '"Q3 numbers: review" Friday 2pm',
            "Q3 numbers: review",
            "2026-11-27T14:00:00+01:00",
            "2026-11-27T14:30:00+01:00",
        ),
        (
            "Lunch with Ana on Friday at noon",
            "Lunch with Ana",
            "2026-11-27T12:00:00+01:00",
            "2026-11-27T12:30:00+01:00",
        ),
        ("Sync 3-4pm", "Sync", "2026-11-23T15:00:00+01:00", "2026-11-23T16:00:00+01:00"),
        ("Chat at 3", "Chat", "2026-11-23T15:00:00+01:00", "2026-11-23T15:30:00+01:00"),
        ("9am standup", "standup", "2026-11-24T09:00:00+01:00", "2026-11-24T09:30:00+01:00"),
        ("Monday 9am", None, "2026-11-30T09:00:00+01:00", "2026-11-30T09:30:00+01:00"),
        ("Monday 11am", None, "2026-11-23T11:00:00+01:00", "2026-11-23T11:30:00+01:00"),
        ("Jan 5 at 9am", None, "2027-01-05T09:00:00+01:00", "2027-01-05T09:30:00+01:00"),
        (
            "3rd of December 2027 at 8:15am quarter of an hour",
            None,
            "2027-12-03T08:15:00+01:00",
            "2027-12-03T08:30:00+01:00",
        ),
        ("Retro 1h30", "Retro", "2026-11-23T10:00:00+01:00", "2026-11-23T11:30:00+01:00"),
        ("Standup", "Standup", None, None),
        ("Q3 2026 planning", "Q3 2026 planning", None, None),
        ("1:1 with Ana", "1:1 with Ana", None, None),
    ],
)
def test_reads_subject_start_and_end_in_berlin(
    text: str, subject: str | None, start: str | None, end: str | None
) -> None:
    draft = parse(text)
    assert draft.subject == subject
    assert (draft.start.isoformat() if draft.start else None) == start
    assert (draft.end.isoformat() if draft.end else None) == end


@pytest.mark.parametrize(
    ("zone", "now", "text", "start", "end"),
    [
        # New York, booked in November (EST) for after the 2027-03-14 spring-forward (EDT).
        (
            "America/New_York",
            "2026-11-23T10:00:00-05:00",
            "March 16 at 9am",
            "2027-03-16T09:00:00-04:00",
            "2027-03-16T09:30:00-04:00",
        ),
        (
            "America/New_York",
            "2026-11-23T10:00:00-05:00",
            "March 10 at 9am",
            "2027-03-10T09:00:00-05:00",
            "2027-03-10T09:30:00-05:00",
        ),
        # Across the change itself: four hours of real time, ending on the summer offset.
        (
            "America/New_York",
            "2026-11-23T10:00:00-05:00",
            "Mar 13 11pm for 4h",
            "2027-03-13T23:00:00-05:00",
            "2027-03-14T04:00:00-04:00",
        ),
        (
            "Asia/Kolkata",
            "2026-11-23T10:00:00+05:30",
            "tomorrow 9am for 1h",
            "2026-11-24T09:00:00+05:30",
            "2026-11-24T10:00:00+05:30",
        ),
        (
            "Asia/Kolkata",
            "2026-11-23T10:00:00+05:30",
            "in 90 minutes",
            "2026-11-23T11:30:00+05:30",
            "2026-11-23T12:00:00+05:30",
        ),
        # Sydney in southern summer (AEDT), and after April's change back to AEST.
        (
            "Australia/Sydney",
            "2026-11-23T10:00:00+11:00",
            "Friday 2pm",
            "2026-11-27T14:00:00+11:00",
            "2026-11-27T14:30:00+11:00",
        ),
        (
            "Australia/Sydney",
            "2026-11-23T10:00:00+11:00",
            "April 10 10am",
            "2027-04-10T10:00:00+10:00",
            "2027-04-10T10:30:00+10:00",
        ),
    ],
)
def test_reads_times_in_the_users_zone_with_the_right_offset(
    zone: str, now: str, text: str, start: str, end: str
) -> None:
    draft = parse(text, zone, now)
    assert draft.start is not None
    assert draft.end is not None
    assert (draft.start.isoformat(), draft.end.isoformat()) == (start, end)


def test_length_given_is_reported() -> None:
    assert parse("Standup tomorrow 9am for 15m").length_given
    assert parse("Standup 3-4pm").length_given
    assert not parse("Standup tomorrow 9am").length_given


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Retro 2026-11-01T10:00", "already passed"),
        ("today 9am", "already passed"),
        ("Retro 2026-12-01T10:00 0m", "end after it starts"),
        ("Thursday 3pm to 2pm", "end after it starts"),
        ("Offsite 2026-12-01T10:00 30h", "at most 24 hours"),
        ("Offsite Friday", "What time on Fri 27 Nov?"),
        ("Sync 2026-12-01", "What time on Tue 01 Dec?"),
        ("Sync 2026-13-45T10:00", "not a date and time"),
        ("Sync Feb 30 at 10am", "not a date"),
        ("Sync 13pm", "not a time"),
    ],
)
def test_impossible_meetings_are_explained(text: str, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        parse(text)


def test_a_start_a_few_minutes_ago_is_still_fine() -> None:
    draft = parse("Standup 2026-11-23T09:57")
    assert draft.start == datetime.fromisoformat("2026-11-23T09:57:00+01:00")


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("45m", 45), ("45", 45), ("1h", 60), ("1.5 hours", 90), ("half an hour", 30), ("an hour", 60)],
)
def test_a_length_on_its_own(text: str, minutes: int) -> None:
    assert parse_length(text) == timedelta(minutes=minutes)


def test_not_a_length() -> None:
    assert parse_length("soon") is None


# -- the command line ---------------------------------------------------------------------------


def when(*args: str | bytes) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialogs.when", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_cli_prints_one_json_object() -> None:
    result = when(
        "--tz",
        "Europe/Berlin",
        "--now",
        "2026-11-23T10:00:00+01:00",
        "Design review tomorrow at 3pm for 45 minutes",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "subject": "Design review",
        "start": "2026-11-24T15:00:00+01:00",
        "end": "2026-11-24T15:45:00+01:00",
    }


@pytest.mark.parametrize(
    ("args", "answer"),
    [
        (
            ["--locale", "fr-FR", "Point hebdo demain à 16h"],
            {
                "subject": "Point hebdo",
                "start": "2026-11-24T16:00:00+01:00",
                "end": "2026-11-24T16:30:00+01:00",
            },
        ),
        (
            ["--locale", "en-GB", "1:1 11/12 at 9am"],
            {
                "subject": "1:1",
                "start": "2026-12-11T09:00:00+01:00",
                "end": "2026-12-11T09:30:00+01:00",
            },
        ),
        (
            ["Partner sync tomorrow 4pm ET"],
            {
                "subject": "Partner sync",
                "start": "2026-11-24T22:00:00+01:00",
                "end": "2026-11-24T22:30:00+01:00",
                "named_timezone": "America/New_York",
                "named_timezone_label": "ET",
            },
        ),
    ],
)
def test_cli_reads_the_locales_language_and_names_the_zone(
    args: list[str], answer: dict[str, str]
) -> None:
    result = when("--tz", "Europe/Berlin", "--now", BERLIN_NOW, *args)
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == answer


def test_cli_explains_a_word_for_the_past_with_exit_2() -> None:
    result = when("--locale", "de-DE", "--now", BERLIN_NOW, "Sync gestern 10 Uhr")
    assert result.returncode == 2
    assert json.loads(result.stdout) == {
        "error": "'gestern' is in the past: pick a day and time from now on."
    }


def test_cli_gives_nulls_when_the_text_names_no_time() -> None:
    result = when("--tz", "Asia/Kolkata", "Standup")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"subject": "Standup", "start": None, "end": None}


def test_cli_reports_an_impossible_meeting_with_exit_2() -> None:
    result = when("--tz", "Europe/Berlin", "--now", BERLIN_NOW, "Retro 2026-01-01T10:00")
    assert result.returncode == 2
    assert json.loads(result.stdout) == {
        "error": "That start time has already passed. Pick a time from now on."
    }


@pytest.mark.parametrize(
    "args",
    [
        # Bytes that are not UTF-8 reach Python's argv as lone surrogates.
        [b"Sync \xff tomorrow 3pm"],
        [b"\xed\xa0\x80 Plan"],
        ["x " + "at " * 30_000],
        ["for " + "0" * 4_400 + "1m"],
        ["Sync tomorrow at \u0663pm"],
        ["--now", "0001-01-01T00:00+05:00", "Standup"],
        ["--now", "9999-12-31T23:59-05:00", "Standup"],
        ["--now", "9999-12-31T12:00Z", "tomorrow 10am"],
        ["--now", "9999-12-31T23:59", "--tz", "America/New_York", "now"],
        ["--now", BERLIN_NOW, "Dec 31 9999 11:50pm"],
        ["--locale", "x" * 100_000, "yesterday"],
        ["--locale", b"\xff", "Sync tomorrow 3pm 5pm"],
    ],
)
def test_cli_explains_text_it_cannot_use_in_one_json_line(args: list[str | bytes]) -> None:
    result = when(*args)
    assert (result.returncode, result.stderr) == (2, "")
    assert result.stdout.count("\n") == 1
    assert set(json.loads(result.stdout)) == {"error"}


@pytest.mark.parametrize(
    "args",
    [
        ["--tz", b"\xff", "Sync"],
        ["--now", b"\xff", "Sync"],
        ["--now", "x" * 100_000, "Sync"],
        ["--tz", "Europe", "Sync"],
        ["--bogus", "Sync"],
        ["-5m"],
    ],
)
def test_cli_answers_bad_flags_with_usage_not_a_traceback(args: list[str | bytes]) -> None:
    result = when(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage: python -m dialogs.when")
    assert "Traceback" not in result.stderr


def test_cli_prints_odd_unicode_as_ascii_json() -> None:
    subject = "\u202eRTL\u202c \u200fplan\u200f \U0001f389 \u00b2"
    result = when("--tz", "Europe/Berlin", "--now", BERLIN_NOW, f"{subject} tomorrow 3pm")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.isascii()
    assert json.loads(result.stdout)["subject"] == subject
