"""The one-shot /meet parser: subject, ISO start in the user's zone, length."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.request import MeetingDraft, RequestError, parse_request

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
DEFAULT = timedelta(minutes=30)


def parse(text: str, tz: ZoneInfo = BERLIN) -> MeetingDraft:
    return parse_request(text, now=NOW, tz=tz, default_length=DEFAULT)


@pytest.mark.parametrize(
    ("text", "subject", "start", "minutes"),
    [
        ("Standup", "Standup", None, None),
        ("Sync 2026-12-01T10:00 30m", "Sync", datetime(2026, 12, 1, 10, tzinfo=BERLIN), 30),
        ("Sync 2026-12-01T9:30", "Sync", datetime(2026, 12, 1, 9, 30, tzinfo=BERLIN), 30),
        ("Sync 2026-12-01 10:00 1h", "Sync", datetime(2026, 12, 1, 10, tzinfo=BERLIN), 60),
        ("Plan 2026-12-01T10:00Z 1h30m", "Plan", datetime(2026, 12, 1, 11, tzinfo=BERLIN), 90),
        (
            "Plan 2026-12-01T10:00+05:30 90min",
            "Plan",
            datetime.fromisoformat("2026-12-01T10:00+05:30"),
            90,
        ),
        ("Deep work 2h", "Deep work", NOW, 120),
        ("2026-12-01T10:00 45m", None, datetime(2026, 12, 1, 10, tzinfo=BERLIN), 45),
        ("Q3 2026 planning", "Q3 2026 planning", None, None),
    ],
)
def test_reads_subject_start_and_length(
    text: str, subject: str | None, start: datetime | None, minutes: int | None
) -> None:
    draft = parse(text)
    assert draft.subject == subject
    assert draft.start == start
    if start is None:
        assert draft.end is None
    else:
        assert draft.end is not None
        assert draft.start is not None
        assert minutes is not None
        assert draft.end - draft.start == timedelta(minutes=minutes)


def test_length_across_a_dst_change_is_real_elapsed_time() -> None:
    # 2027-03-14 02:00 is when New York springs forward.
    draft = parse_request(
        "Night shift 2027-03-14T01:30 1h",
        now=datetime(2026, 11, 23, tzinfo=NEW_YORK),
        tz=NEW_YORK,
        default_length=DEFAULT,
    )
    assert draft.start is not None
    assert draft.end is not None
    assert draft.end.utcoffset() == timedelta(hours=-4)
    assert (draft.end.hour, draft.end.minute) == (3, 30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Retro 2026-11-01T10:00", "already passed"),
        ("Retro 2026-12-01T10:00 0m", "end after it starts"),
        ("Offsite 2026-12-01T10:00 30h", "at most 24 hours"),
        ("Sync 2026-12-01", "Add a start time"),
        ("Sync 2026-13-45T10:00", "not a date and time"),
    ],
)
def test_impossible_meetings_are_explained(text: str, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        parse(text)


def test_a_start_a_few_minutes_ago_is_still_fine() -> None:
    draft = parse("Standup 2026-11-23T09:57")
    assert draft.start == datetime(2026, 11, 23, 9, 57, tzinfo=BERLIN)
