"""Understanding the text after `/meet`: a subject, an ISO start time and a length.

Pure: the caller passes the clock and the user's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

# How far in the past a start may be before it is a mistake rather than "now, give or take".
PAST_TOLERANCE = timedelta(minutes=5)
MAX_LENGTH = timedelta(hours=24)

_ISO = re.compile(
    r"(?<!\S)(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<time>\d{1,2}:\d{2}(?::\d{2})?))?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?(?!\S)",
    re.IGNORECASE,
)
_LENGTH = re.compile(
    r"(?<!\S)(?:(?P<h>\d+(?:\.\d+)?)\s?(?:h|hr|hrs|hours?))?\s?"
    r"(?:(?P<m>\d+)\s?(?:m|min|mins|minutes?))?(?!\S)",
    re.IGNORECASE,
)


class RequestError(ValueError):
    """The text describes a meeting that cannot exist; the message is for the user."""


@dataclass(frozen=True)
class MeetingDraft:
    """What the text said; None where it said nothing."""

    subject: str | None
    start: datetime | None
    end: datetime | None


def parse_request(
    text: str, *, now: datetime, tz: tzinfo, default_length: timedelta
) -> MeetingDraft:
    """Read `text` in zone `tz`; a length without a start counts from `now`."""
    remaining = text
    start: datetime | None = None
    if match := _ISO.search(remaining):
        start = _iso_start(match, tz)
        remaining = _cut(remaining, match)
    length: timedelta | None = None
    for match in _LENGTH.finditer(remaining):
        if match.group("h") or match.group("m"):
            length = timedelta(
                hours=float(match.group("h") or 0), minutes=int(match.group("m") or 0)
            )
            remaining = _cut(remaining, match)
            break
    subject = " ".join(remaining.split()) or None
    if start is None and length is None:
        return MeetingDraft(subject, None, None)
    start = start or now.astimezone(tz)
    # Add the length in UTC so a meeting across a DST change lasts what was asked.
    end = (start.astimezone(UTC) + (length if length is not None else default_length)).astimezone(
        start.tzinfo
    )
    validate_times(start, end, now=now)
    return MeetingDraft(subject, start, end)


def validate_times(start: datetime, end: datetime, *, now: datetime) -> None:
    if end <= start:
        raise RequestError("The meeting must end after it starts: give it a length such as 30m.")
    if end - start > MAX_LENGTH:
        raise RequestError("A meeting can last at most 24 hours.")
    if start < now - PAST_TOLERANCE:
        raise RequestError("That start time has already passed. Pick a time from now on.")


def _iso_start(match: re.Match[str], tz: tzinfo) -> datetime:
    if not match.group("time"):
        raise RequestError(
            f"Add a start time to {match.group('date')}, for example {match.group('date')}T10:00."
        )
    clock = match.group("time").zfill(5 if match.group("time").count(":") == 1 else 8)
    offset = match.group("offset") or ""
    if offset.upper() == "Z":
        offset = "+00:00"
    try:
        start = datetime.fromisoformat(f"{match.group('date')}T{clock}{offset}")
    except ValueError:
        raise RequestError(f"{match.group(0)} is not a date and time I can read.") from None
    # A time written without an offset is wall-clock time in the user's zone.
    return start.replace(tzinfo=tz) if start.tzinfo is None else start


def _cut(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " + text[match.end() :]
