"""Understanding the text after `/meet`: subject, start and length, read in the user's zone.

Pure: the caller passes the clock and the zone. Phrases it reads (case-insensitive):

- start: "now", "in 2 hours", "3pm", "10:30", "noon", "midnight", "at 3", "tonight 11:30",
  with a day: "today", "tomorrow", "day after tomorrow", "Friday", "next Monday", "Dec 3",
  "3 December 2027", "2026-12-01"; or ISO "2026-12-01T10:00[+01:00]";
- end or length: "to 4:30pm", "3pm-4pm", "3-4pm", "for 45m", "for 1h30", "90 min",
  "half an hour", "an hour";
- subject: what is left, or a "quoted subject" taken verbatim.

A weekday or time already past today means the next one; a named day must come with a time.

Bounded for any input: text over MAX_COMMAND_CHARS is refused before any pattern runs, reading
is linear in the text, digits are ASCII only, and whatever cannot become a meeting (a subject
over MAX_SUBJECT_CHARS, unreadable characters, a date at the calendar's ends) raises
RequestError with one line for the user; nothing else escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from dialogs.language import N_

# How far in the past a start may be before it is a mistake rather than "now, give or take".
PAST_TOLERANCE = timedelta(minutes=5)
MAX_LENGTH = timedelta(hours=24)
# The most text one request may hold (after /meet, or one answer in the dialog). Longer text is
# refused before any pattern runs, so the parser's work per message has a fixed ceiling.
MAX_COMMAND_CHARS = 1_000
# Graph documents no maximum for onlineMeeting.subject (the resource and createOrGet pages say
# only "String"). 255 is the nearest documented Microsoft limit, Exchange's for an item's subject
# (EWS `Subject`), so the subject would also fit the meeting's calendar event.
MAX_SUBJECT_CHARS = 255

# A meeting keeps two days clear of the calendar's ends (years 1 and 9999), so showing it in any
# zone or adding up to a day to it, as the dialog's length step does, cannot overflow.
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=2)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)
_OFF_CALENDAR = N_("That date is too far from today for me to work with: pick one nearer now.")
# Longer than any meeting, yet small enough to add to any date a meeting may have.
_TOO_LONG = MAX_LENGTH + timedelta(minutes=1)

_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for name in names
}
_MONTHS = {
    name: index + 1
    for index, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
_WEEKDAY = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_B, _E = r"(?<![\w:])", r"(?![\w:])"  # word edges that also keep "10:30" whole
# Digits are ASCII [0-9], never \d: superscript or other-script digits ("²", "٣") are text here,
# not numbers (int() refuses some and quietly reads others); as \w they also keep "٣3pm" one word.

_CLOCK = r"(?:[0-9]{1,2}(?::[0-9]{2})?\s*(?:[ap]\.?m\.?)|[0-9]{1,2}:[0-9]{2}|noon|midday|midnight)"
_LENGTH = (
    r"(?:(?P<hours>[0-9]+(?:[.,][0-9]+)?)\s*(?:h|hrs?|hours?)"
    r"(?:\s*(?P<hmin>[0-9]+)\s*(?:m|mins?|minutes?)?)?"
    r"|(?P<minutes>[0-9]+)\s*(?:m|mins?|minutes?)"
    r"|(?P<half>half\s+an?\s+hour|half\s+hour)"
    r"|(?P<quarter>(?:a\s+)?quarter\s+(?:of\s+)?an?\s+hour)"
    r"|(?P<one>an?\s+hour|one\s+hour))"
)

_QUOTED = re.compile(r"[\"“”](?P<subject>[^\"“”]+)[\"“”]")
_ISO_DATETIME = re.compile(
    _B + r"(?:on\s+|at\s+)?(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"[T ](?P<time>[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)"
    r"(?P<offset>Z|[+-][0-9]{2}:?[0-9]{2})?" + _E,
    re.IGNORECASE,
)
_NOW = re.compile(_B + r"(?:right\s+)?now" + _E, re.IGNORECASE)
_IN = re.compile(_B + r"in\s+" + _LENGTH + _E, re.IGNORECASE)
_FOR = re.compile(_B + r"(?:for\s+)?" + _LENGTH + _E, re.IGNORECASE)
_RANGE = re.compile(
    _B + r"(?:from\s+|at\s+)?(?P<first>" + _CLOCK + r"|[0-9]{1,2})\s*(?:-|–|to|until|till)\s*"
    r"(?P<second>" + _CLOCK + r")" + _E,
    re.IGNORECASE,
)
_CLOCK_AT = re.compile(_B + r"(?:at\s+)?(?P<clock>" + _CLOCK + r")" + _E, re.IGNORECASE)
_BARE_AT = re.compile(_B + r"at\s+(?P<hour>[0-9]{1,2})" + _E, re.IGNORECASE)
_RELATIVE_DAY = re.compile(
    _B + r"(?:on\s+)?(?P<day>day\s+after\s+tomorrow|today|tonight|tomorrow|tmrw|tmr)" + _E,
    re.IGNORECASE,
)
_WEEKDAY_DAY = re.compile(
    _B + r"(?:on\s+)?(?P<next>next\s+|this\s+)?(?P<weekday>" + _WEEKDAY + r")" + _E, re.IGNORECASE
)
_MONTH_DAY = re.compile(
    _B + r"(?:on\s+)?(?:(?P<month>" + _MONTH + r")\.?\s+(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?"
    r"|(?P<day2>[0-9]{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month2>" + _MONTH + r")\.?)"
    r"(?:,?\s+(?P<year>[0-9]{4}))?" + _E,
    re.IGNORECASE,
)
_ISO_DATE = re.compile(_B + r"(?:on\s+)?(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})" + _E)
# Trimmed from the leftover subject: punctuation at its edges, and a word left dangling at its end
# once the phrase after it was cut ("Lunch at" from "Lunch at noon"). No trailing "." ("Sync.").
_LEADING_EDGE = " ,;:.-–"
_TRAILING_EDGE = " ,;:-–"
_DANGLING_WORD = re.compile(r"at|on|for|from|in", re.IGNORECASE)


class RequestError(ValueError):
    """The text describes a meeting that cannot exist; the message is for the user.

    `template` is the English message with plain `{name}` fields (no format specs), and `params`
    fills them with values, not text: numbers, dates, strings the user typed. The template is the
    message catalog's key, so a reply can be translated, and its values formatted for the user's
    locale, before it is filled; str() is the English message.
    """

    def __init__(self, template: str, **params: object) -> None:
        english = {name: _english(value) for name, value in params.items()}
        super().__init__(template.format(**english) if params else template)
        self.template = template
        self.params = params


def _english(value: object) -> str:
    if isinstance(value, datetime):
        return f"{value:%a %d %b %H:%M}"
    if isinstance(value, date):
        return f"{value:%a %d %b}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass(frozen=True)
class MeetingDraft:
    """A meeting as far as it is known: what a command said, and what the dialog added since.

    `end` is filled from the default length when a start was given without one; `length_given`
    tells whether an end or a length was named. The complete request (who asked, where to
    answer) is bot.meetings.request.MeetingRequest, made from a draft once it has a start.
    """

    subject: str | None
    start: datetime | None
    end: datetime | None
    length_given: bool = False
    timezone: str = "UTC"  # the zone it was read in, as dialogs.zones writes it
    zone_guessed: bool = False  # read in a zone nobody chose (a client's UTC): the card says so
    passcode_required: bool | None = None  # None: the configured policy decides
    request_id: str = ""  # the asking activity: however often it is confirmed, one meeting

    def to_json(self) -> dict[str, Any]:
        """Plain JSON, for the dialog's stored state."""
        return {
            "subject": self.subject,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "length_given": self.length_given,
            "timezone": self.timezone,
            "zone_guessed": self.zone_guessed,
            "passcode_required": self.passcode_required,
            "request_id": self.request_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MeetingDraft:
        """The draft `to_json` wrote."""
        start, end = data.get("start"), data.get("end")
        return cls(
            subject=data.get("subject"),
            start=datetime.fromisoformat(start) if start else None,
            end=datetime.fromisoformat(end) if end else None,
            length_given=bool(data.get("length_given")),
            timezone=str(data.get("timezone") or "UTC"),
            zone_guessed=data.get("zone_guessed") is True,
            passcode_required=data.get("passcode_required"),
            request_id=str(data.get("request_id") or ""),
        )


def parse_request(
    text: str, *, now: datetime, tz: tzinfo, default_length: timedelta
) -> MeetingDraft:
    """Read `text` as a meeting request in zone `tz` at time `now`."""
    if len(text) > MAX_COMMAND_CHARS:
        raise RequestError(
            "That's too long for me to read: keep a request to {limit} characters or fewer.",
            limit=MAX_COMMAND_CHARS,
        )
    _check_readable(text)
    try:
        return _read(" ".join(text.split()), now=now, tz=tz, default_length=default_length)
    except OverflowError:
        # Only date arithmetic overflows, and only within days of year 1 or year 9999.
        raise RequestError(_OFF_CALENDAR) from None


def _read(text: str, *, now: datetime, tz: tzinfo, default_length: timedelta) -> MeetingDraft:
    """parse_request on text already checked for size and readability."""
    reader = _Reader(text)
    quoted = reader.take(_QUOTED)
    now_local = now.astimezone(tz)

    start: datetime | None = None
    end: datetime | None = None
    length: timedelta | None = None
    day: date | None = None
    clock: time | None = None
    end_clock: time | None = None
    day_is_explicit = False
    evening = False

    if match := reader.take(_ISO_DATETIME):
        start = _iso_start(match, tz)
    if match := reader.take(_NOW):
        start = now_local
    if match := reader.take(_IN):
        start = now_local + _length(match)
    if match := reader.take(_RANGE):
        clock, end_clock = _range(match)
    if match := reader.take(_FOR):
        length = _length(match)
    if match := reader.take(_RELATIVE_DAY):
        word = match.group("day").lower()
        offset = {"today": 0, "tonight": 0, "day after tomorrow": 2}.get(" ".join(word.split()), 1)
        day, day_is_explicit, evening = (
            now_local.date() + timedelta(days=offset),
            True,
            word == "tonight",
        )
    elif match := reader.take(_WEEKDAY_DAY):
        day = _weekday(match, now_local.date())
    elif match := reader.take(_MONTH_DAY):
        day, day_is_explicit = _month_day(match, now_local.date()), True
    elif match := reader.take(_ISO_DATE):
        day, day_is_explicit = _iso_date(match.group("date")), True
    if clock is None and (match := reader.take(_CLOCK_AT)):
        clock = _clock(match.group("clock"))
    if clock is None and (match := reader.take(_BARE_AT)):
        clock = _business_hour(int(match.group("hour")))
    if evening and clock is not None and clock.hour < 12:
        clock = clock.replace(hour=clock.hour + 12)

    subject = (check_subject(quoted.group("subject")) or None) if quoted else _subject(reader.text)

    if start is None and clock is not None:
        start = _at(day, clock, now_local, tz)
        if day is not None and not day_is_explicit and now_local - start > PAST_TOLERANCE:
            start += timedelta(days=7)  # "Friday 9am" on a Friday at noon: next week's
    elif start is None and day is not None:
        raise RequestError(
            "What time on {day}? Add one, for example 'Friday 2pm' or 'tomorrow 10:30'.",
            day=day,
        )
    if start is None:
        if length is not None or end_clock is not None:
            start = now_local
        else:
            return MeetingDraft(subject, None, None)
    if end_clock is not None:
        end = datetime.combine(start.date(), end_clock, tzinfo=start.tzinfo)
    else:
        # Add the length in UTC so a meeting across a DST change lasts what was asked.
        chosen = length if length is not None else default_length
        end = (start.astimezone(UTC) + chosen).astimezone(start.tzinfo)
    validate_times(start, end, now=now)
    return MeetingDraft(
        subject, start, end, length_given=length is not None or end_clock is not None
    )


def validate_times(start: datetime, end: datetime, *, now: datetime) -> None:
    if end <= start:
        raise RequestError("The meeting must end after it starts: give it a length such as 30m.")
    if end - start > MAX_LENGTH:
        raise RequestError("A meeting can last at most 24 hours.")
    # Differences, not `now - PAST_TOLERANCE`: that overflows when now is in year 1.
    if now - start > PAST_TOLERANCE:
        raise RequestError("That start time has already passed. Pick a time from now on.")
    if start < _EARLIEST or end > _LATEST:
        raise RequestError(_OFF_CALENDAR)


def check_subject(text: str) -> str:
    """`text` as a subject, whitespace normalised; over MAX_SUBJECT_CHARS is refused."""
    subject = " ".join(text.split())
    if len(subject) > MAX_SUBJECT_CHARS:
        raise RequestError(
            "That subject is too long: keep it to {limit} characters or fewer.",
            limit=MAX_SUBJECT_CHARS,
        )
    _check_readable(subject)
    return subject


def parse_length(text: str) -> timedelta | None:
    """A length on its own ("45m", "1h", "half an hour", "90"), for the dialog's length step.

    None when the text is not one; anything over a day comes back as just over MAX_LENGTH.
    """
    if len(text) > MAX_COMMAND_CHARS:
        return None
    text = " ".join(text.split())
    if text.isascii() and text.isdigit():  # str.isdigit() is also true for "²" and "٣"
        length = timedelta(minutes=_count(text))
    elif match := _FOR.fullmatch(text):
        length = _named_length(match)
    else:
        return None
    return min(length, _TOO_LONG)


class _Reader:
    """The request text, from which recognised phrases are cut one by one."""

    def __init__(self, text: str) -> None:
        self.text = text

    def take(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        match = pattern.search(self.text)
        if match:
            self.text = f"{self.text[: match.start()]} {self.text[match.end() :]}"
        return match


def _check_readable(text: str) -> None:
    # A lone surrogate ("\ud800" in an activity's JSON) is not a character: it can't be encoded
    # to send to Graph or to echo back in a reply, so the text is refused while it is still ours.
    try:
        text.encode()
    except UnicodeEncodeError:
        raise RequestError(
            "That message has characters I can't read. Please type it again."
        ) from None


def _subject(rest: str) -> str | None:
    words = " ".join(rest.split()).lstrip(_LEADING_EDGE).split()
    # From the end, one word at a time and each word once: stripping one dangling word per pass
    # over the whole text was quadratic ("x at at at ..." froze the bot for seconds).
    while words:
        last = words[-1].rstrip(_TRAILING_EDGE)
        if last and not (len(words) > 1 and _DANGLING_WORD.fullmatch(last)):
            words[-1] = last
            break
        words.pop()
    return check_subject(" ".join(words)) or None


def _length(match: re.Match[str]) -> timedelta:
    """The length a phrase names; beyond a day it is refused before any arithmetic overflows."""
    length = _named_length(match)
    if length > MAX_LENGTH:
        raise RequestError("A meeting can last at most 24 hours.")
    return length


def _named_length(match: re.Match[str]) -> timedelta:
    if match.group("half"):
        return timedelta(minutes=30)
    if match.group("quarter"):
        return timedelta(minutes=15)
    if match.group("one"):
        return timedelta(hours=1)
    if match.group("hours"):
        hours = min(float(match.group("hours").replace(",", ".")), 1e6)
        return timedelta(hours=hours, minutes=min(_count(match.group("hmin") or "0"), 10**6))
    return timedelta(minutes=_count(match.group("minutes")))


def _count(digits: str) -> int:
    """A run of ASCII digits as a number, at most 10**9: int() refuses 4,300 digits or more."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= 9 else 10**9


def _clock(text: str) -> time:
    word = text.lower().replace(".", "").replace(" ", "")
    if word in ("noon", "midday"):
        return time(12)
    if word == "midnight":
        return time(0)
    suffix = word[-2:] if word[-2:] in ("am", "pm") else ""
    digits = word.removesuffix(suffix)
    hour_text, _, minute_text = digits.partition(":")
    hour, minute = int(hour_text), int(minute_text or 0)
    if suffix:
        if not 1 <= hour <= 12:
            raise RequestError("{text} is not a time I can read.", text=text)
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        raise RequestError("{text} is not a time I can read.", text=text)
    return time(hour, minute)


def _range(match: re.Match[str]) -> tuple[time, time]:
    first, second = match.group("first"), match.group("second")
    end = _clock(second)
    suffix = _meridiem(second)
    if suffix and first[0].isdigit() and not _meridiem(first):
        # "3-4pm", "10:30-11am": the first time shares the second's am/pm...
        start = _clock(first + suffix)
        if start > end:  # ...unless that puts it after the end: "11-1pm" starts at 11am.
            start = _clock(first + ("am" if suffix == "pm" else "pm"))
        return start, end
    return (_business_hour(int(first)) if first.isdigit() else _clock(first)), end


def _meridiem(text: str) -> str:
    tail = text.lower().replace(".", "").replace(" ", "")[-2:]
    return tail if tail in ("am", "pm") else ""


def _business_hour(hour: int) -> time:
    """A bare hour ("at 3") in working hours: 1-7 are afternoon, 8-12 morning, 13-23 as said."""
    if hour > 23:
        raise RequestError("{hour} is not an hour of the day.", hour=str(hour))
    return time(hour + 12 if 1 <= hour <= 7 else hour)


def _at(day: date | None, clock: time, now: datetime, tz: tzinfo) -> datetime:
    if day is None:
        start = datetime.combine(now.date(), clock, tzinfo=tz)
        # A time already past today means tomorrow's.
        return start if now - start <= PAST_TOLERANCE else start + timedelta(days=1)
    return datetime.combine(day, clock, tzinfo=tz)


def _weekday(match: re.Match[str], today: date) -> date:
    wanted = _WEEKDAYS[match.group("weekday").lower()]
    ahead = (wanted - today.weekday()) % 7
    if match.group("next") and match.group("next").lower().startswith("next") and ahead == 0:
        ahead = 7
    return today + timedelta(days=ahead)


def _month_day(match: re.Match[str], today: date) -> date:
    month = _MONTHS[(match.group("month") or match.group("month2")).lower().rstrip(".")]
    day = int(match.group("day") or match.group("day2"))
    year = int(match.group("year")) if match.group("year") else today.year
    try:
        result = date(year, month, day)
    except ValueError:
        raise RequestError("{text} is not a date.", text=match.group(0).strip()) from None
    if not match.group("year") and result < today:
        try:
            result = result.replace(year=year + 1)  # "Jan 5" in December is next January
        except ValueError:  # no Feb 29 next year, or no year after 9999
            raise RequestError(
                "{text} is not a date next year.", text=match.group(0).strip()
            ) from None
    return result


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RequestError("{text} is not a date I can read.", text=text) from None


def _iso_start(match: re.Match[str], tz: tzinfo) -> datetime:
    clock = match.group("time")
    clock = clock.zfill(5 if clock.count(":") == 1 else 8)
    offset = match.group("offset") or ""
    if offset.upper() == "Z":
        offset = "+00:00"
    try:
        start = datetime.fromisoformat(f"{match.group('date')}T{clock}{offset}")
    except ValueError:
        raise RequestError(
            "{text} is not a date and time I can read.", text=match.group(0).strip()
        ) from None
    # A time written without an offset is wall-clock time in the user's zone.
    return start.replace(tzinfo=tz) if start.tzinfo is None else start
