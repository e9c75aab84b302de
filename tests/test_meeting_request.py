"""The meeting request carries the zone its text named, through storage and from older records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet

from bot.meetings.request import MeetingRequest, seal, unseal
from dialogs.request import parse_request
from tests.meeting_requests import ADDRESS, ALEX

NOW = datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Europe/Berlin"))


def ask_for(text: str) -> MeetingRequest:
    draft = parse_request(
        text, now=NOW, tz=ZoneInfo("Europe/Berlin"), default_length=timedelta(minutes=30)
    )
    return MeetingRequest.from_draft(
        draft,
        user=ALEX,
        address=ADDRESS,
        locale="en-US",
        default_start=NOW,
        default_length=timedelta(minutes=30),
    )


def test_a_request_carries_the_zone_its_text_named() -> None:
    ask = ask_for("Partner sync tomorrow 4pm ET")
    assert (ask.named_timezone, ask.named_timezone_label) == ("America/New_York", "ET")
    assert ask.start == datetime(2026, 11, 24, 16, tzinfo=ZoneInfo("America/New_York"))


def test_a_request_without_a_named_zone_carries_none() -> None:
    ask = ask_for("Standup tomorrow 9am")
    assert (ask.named_timezone, ask.named_timezone_label) == (None, None)


@pytest.mark.parametrize("text", ["Partner sync tomorrow 4pm ET", "Standup tomorrow 9am"])
def test_the_named_zone_survives_storage(text: str) -> None:
    ask = ask_for(text)
    fernet = Fernet(Fernet.generate_key())
    assert MeetingRequest.from_json(ask.to_json()) == ask
    assert unseal(seal(ask, fernet), fernet) == ask


def test_a_record_stored_before_named_zones_still_reads() -> None:
    older = ask_for("Standup tomorrow 9am").to_json()
    del older["named_timezone"], older["named_timezone_label"]
    ask = MeetingRequest.from_json(older)
    assert (ask.named_timezone, ask.named_timezone_label) == (None, None)
    assert ask.start == datetime(2026, 11, 24, 8, tzinfo=UTC)


@pytest.mark.parametrize("field", ["named_timezone", "named_timezone_label"])
def test_a_record_whose_named_zone_is_not_text_is_refused(field: str) -> None:
    record = ask_for("Partner sync tomorrow 4pm ET").to_json()
    record[field] = 5
    with pytest.raises(TypeError):
        MeetingRequest.from_json(record)
