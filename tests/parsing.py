"""Reading a request as a Berlin user on Monday 23 November 2026, 10:00, in any locale."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dialogs.request import MeetingDraft, parse_request

BERLIN_NOW = datetime.fromisoformat("2026-11-23T10:00:00+01:00")  # a Monday


def parse(text: str, locale: str = "en-US") -> MeetingDraft:
    return parse_request(
        text,
        now=BERLIN_NOW,
        tz=ZoneInfo("Europe/Berlin"),
        default_length=timedelta(minutes=30),
        locale=locale,
    )
