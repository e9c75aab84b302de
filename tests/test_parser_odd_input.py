"""Odd characters in a request: read as text or explained, never a crash."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.request import MeetingDraft, RequestError, parse_length, parse_request

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
