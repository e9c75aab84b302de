"""Understanding the text after `/meet`: subject, start and length, read in the user's zone.

Pure: the caller passes the clock, the zone and the locale. English is always understood, and
the locale's language too when it is German, French or Spanish (dialogs.vocabulary holds their
words). Phrases it reads (case-insensitive), in English:

- start: "now", "in 2 hours", "3pm", "10:30", "noon", "midnight", "at 3", "tonight 11:30",
  with a day: "today", "tomorrow", "day after tomorrow", "Friday", "next Monday",
  "Friday next week", "Dec 3", "3 December 2027", "12/3" (day and month in the locale's
  order), "3.12.", "2026-12-01"; or ISO "2026-12-01T10:00[+01:00]";
- a zone right after the time: "4pm ET", "9:00 CEST", "10am Tokyo time", "9 UTC+5:30",
  "15:00 (Europe/Berlin)": the meeting is at that instant, and the draft names the zone;
- end or length: "to 4:30pm", "3pm-4pm", "3-4pm", "from 9 to 17", "for 45m", "for 1h30",
  "90 min", "half an hour", "an hour";
- subject: what is left, or a "quoted subject" taken verbatim.

A weekday or time already past today means the next one; a named day must come with a time.
Nothing is silently misread: words for the past ("yesterday", "last Monday", "gestern"),
impossible dates and times ("Feb 30", "31/4", "25:00"), days or times that disagree, and
anything left over that looks like a day, a time or a zone ("3pm" twice) are explained in a
RequestError that names them, never dropped or kept in the subject.

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

from dialogs.grammar import Grammar, day_first, grammar, key, language_of
from dialogs.language import N_
from dialogs.vocabulary import AFTERNOON, EVENING, LANGUAGES, MORNING
from dialogs.zones import NamedZone, is_zone_like, read_zone, zone_to_text

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
DEFAULT_LOCALE = "en-US"

# A meeting keeps two days clear of the calendar's ends (years 1 and 9999), so showing it in any
# zone or adding up to a day to it, as the dialog's length step does, cannot overflow.
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=2)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)
_OFF_CALENDAR = N_("That date is too far from today for me to work with: pick one nearer now.")
# Longer than any meeting, yet small enough to add to any date a meeting may have.
_TOO_LONG = MAX_LENGTH + timedelta(minutes=1)
_NOT_A_TIME = N_("{text} is not a time I can read.")
_DISAGREE = N_("'{first}' and '{second}' don't agree: which one do you mean?")

_QUOTED = re.compile(r"[\"“”](?P<subject>[^\"“”]+)[\"“”]")
_EMPTY_BRACKETS = re.compile(r"\(\s*+\)|\[\s*+\]")
# Trimmed from the leftover subject: punctuation at its edges, and a word left dangling at its end
# once the phrase after it was cut ("Lunch at" from "Lunch at noon"). No trailing "." ("Sync.").
_LEADING_EDGE = " ,;:.-–"
_TRAILING_EDGE = " ,;:-–"
# How a time was written, which decides how a range or a part of the day reads it.
# A bare hour ("at 3", "um 10") is read with the part of the day, or as working hours; a range's
# start is read with its end.
_AM, _PM, _MARKED, _PLAIN, _WORD = "am", "pm", "marked", "plain", "word"
_BARE, _RANGE = "bare", "range"


def warm_up() -> None:
    """Compile every language's patterns and the zone index now, not on someone's first request.

    Each takes about 0.1 s once per process; a server calls this before it takes requests.
    """
    for language in LANGUAGES:
        grammar(language)
    read_zone("Berlin")


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
    # The zone the text named for its time ("4pm ET"), as dialogs.zones writes it, and the
    # label to show for it as the user wrote it ("ET", "Tokyo"); None when it named none.
    named_timezone: str | None = None
    named_timezone_label: str | None = None

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
            "named_timezone": self.named_timezone,
            "named_timezone_label": self.named_timezone_label,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MeetingDraft:
        """The draft `to_json` wrote (one written before a field existed reads it as unset)."""
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
            named_timezone=_text_or_none(data.get("named_timezone")),
            named_timezone_label=_text_or_none(data.get("named_timezone_label")),
        )


def _text_or_none(value: object) -> str | None:
    return str(value) if value else None


def parse_request(
    text: str,
    *,
    now: datetime,
    tz: tzinfo,
    default_length: timedelta,
    locale: str = DEFAULT_LOCALE,
) -> MeetingDraft:
    """Read `text` as a meeting request in zone `tz` at time `now`, in `locale`'s language."""
    if len(text) > MAX_COMMAND_CHARS:
        raise RequestError(
            "That's too long for me to read: keep a request to {limit} characters or fewer.",
            limit=MAX_COMMAND_CHARS,
        )
    _check_readable(text)
    try:
        return _Reading(" ".join(text.split()), now=now, tz=tz, locale=locale).draft(default_length)
    except OverflowError:
        # Only date arithmetic overflows, and only within days of year 1 or year 9999.
        raise RequestError(_OFF_CALENDAR) from None


@dataclass(frozen=True)
class _Clock:
    """A time of day as written: `kind` tells whether it said am/pm, a marker, or nothing."""

    time: time
    kind: str
    text: str


class _Reading:
    """One request's reading: phrases are cut from the text one kind at a time."""

    def __init__(self, text: str, *, now: datetime, tz: tzinfo, locale: str) -> None:
        self.words = grammar(language_of(locale))
        self.text = text
        self.now = now
        self.tz = tz
        self.locale = locale
        self.today = now.astimezone(tz).date()
        self.zone: NamedZone | None = None  # the zone named by the phrase `take` cut last

    def draft(self, default_length: timedelta) -> MeetingDraft:
        words, now_local = self.words, self.now.astimezone(self.tz)
        quoted = self.take(_QUOTED)
        if past := words.past.search(self.text):
            raise RequestError(
                "'{text}' is in the past: pick a day and time from now on.", text=past.group(0)
            )

        start: datetime | None = None
        start_said = ""
        zone: NamedZone | None = None
        if match := self.take(words.iso_datetime):
            zone = self.zone  # "2026-12-01T10:00 ET": 10:00 in New York
            start = _iso_start(match, zone.zone if zone else self.tz)
            start_said = match.group("when").strip()
        if match := self.take(words.now):
            start_said = _only_start(start_said, match)
            start = now_local
        if match := self.take(words.in_):
            start_said = _only_start(start_said, match)
            start = now_local + _length(words, match.group("length"))

        # Lengths a word announces come first ("pendant 1h30": not the time 1:30 in French),
        # then times, then bare lengths ("a las 16 horas" is a time in Spanish).
        clock: _Clock | None = None
        end_clock: time | None = None
        length: timedelta | None = None
        if match := self.take(words.range):
            clock, end_clock = _range(words, match)
            zone = self.zone
        if match := self.take(words.for_):
            length = _length(words, match.group("length"))
        if clock is None and (match := self.take(words.clock_at)):
            clock, zone = _clock(words, match.group("clock")), self.zone
        if clock is None and (match := self.take(words.bare_at)):
            clock, zone = _bare(words, match), self.zone
        if length is None and (match := self.take(words.bare_length)):
            length = _length(words, match.group("length"))
        day, day_is_explicit, part = self._day()
        # "noon", "midi" last: "après-midi" is a part of the day, "Mittag mit Ana 12:30" a subject.
        if clock is None and (match := self.take(words.clock_word_at)):
            clock, zone = _clock(words, match.group("clock")), self.zone
        clock = _in_part_of_day(clock, part)
        if start is not None and clock is not None:
            raise RequestError(_DISAGREE, first=start_said, second=clock.text)
        if start is not None and day is not None and day[1] != start.date():
            raise RequestError(_DISAGREE, first=start_said, second=day[0])
        self._nothing_left_over(has_time=clock is not None or start is not None)

        subject = (check_subject(quoted.group("subject")) or None) if quoted else self._subject()
        zone_tz = zone.zone if zone else self.tz
        if start is None and clock is not None:
            start = _at(day[1] if day else None, clock.time, self.now.astimezone(zone_tz), zone_tz)
            if day is not None and not day_is_explicit and self.now - start > PAST_TOLERANCE:
                start += timedelta(days=7)  # "Friday 9am" on a Friday at noon: next week's
        elif start is None and day is not None:
            raise RequestError(
                "What time on {day}? Add one, for example 'Friday 2pm' or 'tomorrow 10:30'.",
                day=day[1],
            )
        if start is None:
            if length is None and end_clock is None:
                return MeetingDraft(subject, None, None)
            start = now_local
        if end_clock is not None:
            end = datetime.combine(start.date(), end_clock, tzinfo=start.tzinfo)
        else:
            # Add the length in UTC so a meeting across a DST change lasts what was asked.
            chosen = length if length is not None else default_length
            end = (start.astimezone(UTC) + chosen).astimezone(start.tzinfo)
        if zone is not None:  # the instant it named, in the user's own zone
            start, end = start.astimezone(self.tz), end.astimezone(self.tz)
        validate_times(start, end, now=self.now)
        return MeetingDraft(
            subject,
            start,
            end,
            length_given=length is not None or end_clock is not None,
            named_timezone=zone_to_text(zone.zone) if zone else None,
            named_timezone_label=zone.label if zone else None,
        )

    # -- cutting phrases out -----------------------------------------------------------------

    def take(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        """The first match of `pattern`, cut from the text; a zone it names goes to self.zone.

        A pattern with a `zone` group may have caught words that name no zone ("3pm team
        time"): then only the time is cut, and the words stay.
        """
        match = pattern.search(self.text)
        self.zone = None
        if match is None:
            return None
        end = match.end()
        if "zone" in pattern.groupindex and match.group("zone"):
            self.zone, end = self._zone_in(match)
        self.text = f"{self.text[: match.start()]} {self.text[end:]}"
        return match

    def _zone_in(self, match: re.Match[str]) -> tuple[NamedZone | None, int]:
        """The zone a match's `zone` group names, and where the cut ends."""
        text = match.group("zone")
        prefix = self.words.zone_prefix.match(text)
        if prefix is None:
            named = read_zone(text)
            return (named, match.end()) if named else (None, match.end("when"))
        # "heure de New York demain": the place is as many of the next words as name one.
        pieces = text[prefix.end() :].split(" ")
        for count in range(len(pieces), 0, -1):
            place = " ".join(pieces[:count])
            if named := read_zone(place):
                return named, match.start("zone") + prefix.end() + len(place)
        return None, match.end("when")

    def _day(self) -> tuple[tuple[str, date] | None, bool, str | None]:
        """The day the text names (as written, and its date), whether it was a date, its part.

        A weekday without a date is the next one; with a date, it must be that date's.
        Two days that differ are asked about, never chosen between.
        """
        words, today = self.words, self.today
        part: str | None = None
        dates: list[tuple[str, date]] = []
        weekday = self.take(words.weekday)
        if weekday and weekday.group("part"):
            part = words.parts_of_day[key(weekday.group("part"))]
        if match := self.take(words.relative_day):
            offset, relative_part = words.relative_days[key(match.group("day"))]
            part = relative_part or part
            if match.group("part"):
                part = words.parts_of_day[key(match.group("part"))]
            dates.append((match.group("day"), today + timedelta(days=offset)))
        if match := self.take(words.part_of_day):  # "por la mañana", "in the morning"
            part = words.parts_of_day[key(match.group("part"))]
        if match := self.take(words.month_day):
            dates.append((_said(match), _month_day(words, match, today)))
        if match := self.take(words.numeric_date):
            dates.append((match.group("date"), _numeric_date(match.group("date"), self)))
        if match := self.take(words.iso_date):
            dates.append((match.group("date"), _iso_date(match.group("date"))))
        for said, when in dates[1:]:
            if when != dates[0][1]:
                raise RequestError(_DISAGREE, first=dates[0][0], second=said)
        if weekday is None:
            return (dates[0] if dates else None), bool(dates), part
        wanted = words.weekdays[key(weekday.group("weekday"))]
        if dates:
            if dates[0][1].weekday() != wanted:
                raise RequestError(_DISAGREE, first=_said(weekday), second=dates[0][0])
            return dates[0], True, part
        return (_said(weekday), _weekday(weekday, wanted, today)), False, part

    def _nothing_left_over(self, *, has_time: bool) -> None:
        """Refuse what is left that looks like a day, a time or a zone: it was not understood.

        It would otherwise stay in the subject while the meeting is set by the rest.
        """
        for match in self.words.leftover.finditer(self.text):
            said: str | None = match.group(0)
            if match.group("abbreviation") and len(match.group(0)) < 3 and not has_time:
                continue  # "CT scan review": two capitals are a zone only beside a time
            if match.group("iana") and not is_zone_like(match.group("iana")):
                continue  # "and/or"; "Europe/Nowhere" is asked about
            if match.group("place") or match.group("place2"):
                said = _zone_phrase(match)  # "Tokyo time" in "Sync Tokyo time", or none
            if said is None:
                continue
            raise RequestError(
                "I'm not sure what '{text}' means here: give the day and time once, "
                "or put the subject in quotes.",
                text=said,
            )

    def _subject(self) -> str | None:
        rest = _EMPTY_BRACKETS.sub(" ", self.text)  # "(30 min)" once its length was cut
        words = " ".join(rest.split()).lstrip(_LEADING_EDGE).split()
        # From the end, one word at a time and each word once: stripping one dangling word per
        # pass over the whole text was quadratic ("x at at at ..." froze the bot for seconds).
        while words:
            last = words[-1].rstrip(_TRAILING_EDGE)
            if last and not (len(words) > 1 and self.words.dangling.fullmatch(last)):
                words[-1] = last
                break
            words.pop()
        return check_subject(" ".join(words)) or None


def _only_start(said: str, match: re.Match[str]) -> str:
    """What says the start, when `match` says it; refused when something else already did."""
    if said:
        raise RequestError(_DISAGREE, first=said, second=match.group(0).strip())
    return match.group(0).strip()


def _said(match: re.Match[str]) -> str:
    return match.group(0).strip()


def _zone_phrase(match: re.Match[str]) -> str | None:
    """The words of a leftover "<place> time" or "heure de <place>" that name a zone, if any.

    The place's words are a few: the pattern takes at most four.
    """
    if place := match.group("place"):  # the last words before "time" that name one
        pieces = place.split(" ")
        for start in range(len(pieces)):
            if read_zone(" ".join(pieces[start:])):
                return f"{' '.join(pieces[start:])} {match.group('after')}"
        return None
    pieces = match.group("place2").split(" ")  # the first words after "heure de" that name one
    for end in range(len(pieces), 0, -1):
        if read_zone(" ".join(pieces[:end])):
            return f"{match.group('before')} {' '.join(pieces[:end])}"
    return None


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


def parse_length(text: str, *, locale: str = DEFAULT_LOCALE) -> timedelta | None:
    """A length on its own ("45m", "1h", "half an hour", "90", "1h30"), for the length step.

    None when the text is not one; anything over a day comes back as just over MAX_LENGTH.
    """
    if len(text) > MAX_COMMAND_CHARS:
        return None
    text = " ".join(text.split())
    if text.isascii() and text.isdigit():  # str.isdigit() is also true for "²" and "٣"
        length = timedelta(minutes=_count(text))
    elif match := (words := grammar(language_of(locale))).length_only.fullmatch(text):
        length = _named_length(words, match.group("length"))
    else:
        return None
    return min(length, _TOO_LONG)


def _check_readable(text: str) -> None:
    # A lone surrogate ("\ud800" in an activity's JSON) is not a character: it can't be encoded
    # to send to Graph or to echo back in a reply, so the text is refused while it is still ours.
    try:
        text.encode()
    except UnicodeEncodeError:
        raise RequestError(
            "That message has characters I can't read. Please type it again."
        ) from None


def _length(words: Grammar, text: str) -> timedelta:
    """The length a phrase names; beyond a day it is refused before any arithmetic overflows."""
    length = _named_length(words, text)
    if length > MAX_LENGTH:
        raise RequestError("A meeting can last at most 24 hours.")
    return length


def _named_length(words: Grammar, text: str) -> timedelta:
    parts = words.length_parts.fullmatch(text)
    assert parts is not None  # the pattern that found `text` is made of the same pieces
    if parts.group("phrase"):
        return timedelta(minutes=words.lengths[key(parts.group("phrase"))])
    if parts.group("hours"):
        hours = min(float(parts.group("hours").replace(",", ".")), 1e6)
        return timedelta(hours=hours, minutes=min(_count(parts.group("hmin") or "0"), 10**6))
    return timedelta(minutes=_count(parts.group("minutes")))


def _count(digits: str) -> int:
    """A run of ASCII digits as a number, at most 10**9: int() refuses 4,300 digits or more."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= 9 else 10**9


def _clock(words: Grammar, text: str) -> _Clock:
    """A time of day as written: "3pm", "15:30", "15 Uhr", "16h30", "4 de la tarde", "noon"."""
    if (hour := words.clock_words.get(key(text))) is not None:
        return _Clock(time(hour), _WORD, text)
    parts = words.clock_parts.fullmatch(text)
    assert parts is not None  # the pattern that found `text` is made of the same pieces
    hour = int(parts.group("hour"))
    minute = int(parts.group("minute") or parts.group("minute2") or 0)
    kind = _MARKED if parts.group("marker") else _PLAIN
    if parts.group("minute_word"):  # "16h et demie", "16h moins le quart"
        hour, minute = divmod(hour * 60 + words.minute_words[key(parts.group("minute_word"))], 60)
    if parts.group("meridiem"):
        kind = words.meridiems[key(parts.group("meridiem"))]
        if not 1 <= hour <= 12:
            raise RequestError(_NOT_A_TIME, text=text)
        hour = hour % 12 + (12 if kind == _PM else 0)
    if hour > 23 or minute > 59:
        raise RequestError(_NOT_A_TIME, text=text)
    return _Clock(time(hour, minute), kind, text)


def _range(words: Grammar, match: re.Match[str]) -> tuple[_Clock, time]:
    """Start and end of "3-4pm", "10am-12:30pm", "from 9 to 17", "von 9 bis 17 Uhr"."""
    first = match.group("first") or match.group("first2") or match.group("first3")
    second = match.group("second") or match.group("second2") or match.group("second3")
    said = match.group("when")
    if second.isdigit():
        end = _Clock(_business_hour(int(second)), _BARE, second)
    else:
        end = _clock(words, second)
    if not first.isdigit():
        start = _clock(words, first)
        if start.kind == _PLAIN and end.kind in (_AM, _PM):
            start = _shared_meridiem(start.time.hour, start.time.minute, end, said)
        return _Clock(start.time, _RANGE, said), end.time
    hour = int(first)
    if end.kind in (_AM, _PM):  # "3-4pm": the first time shares the second's am/pm
        return _Clock(_shared_meridiem(hour, 0, end, said).time, _RANGE, said), end.time
    if end.kind == _MARKED:  # "9-17 Uhr", "de 9 à 17h": both in 24-hour time
        if hour > 23:
            raise RequestError(_NOT_A_TIME, text=first)
        return _Clock(time(hour), _RANGE, said), end.time
    return _Clock(_business_hour(hour), _RANGE, said), end.time


def _shared_meridiem(hour: int, minute: int, end: _Clock, said: str) -> _Clock:
    """`hour` with the end's am/pm, unless that puts it after the end: "11-1pm" starts at 11am."""
    if not 1 <= hour <= 12:
        raise RequestError(_NOT_A_TIME, text=said)
    same = time(hour % 12 + (12 if end.kind == _PM else 0), minute)
    if same > end.time:
        return _Clock(time(hour % 12 + (0 if end.kind == _PM else 12), minute), end.kind, said)
    return _Clock(same, end.kind, said)


def _bare(words: Grammar, match: re.Match[str]) -> _Clock:
    """ "at 3", "um halb 4" (3:30), "a las 4 y media", as said: the part of the day reads it."""
    hour = int(match.group("hour"))
    if hour > 23:
        raise RequestError("{hour} is not an hour of the day.", hour=str(hour))
    minutes = hour * 60
    if match.group("half") or match.group("half2"):
        minutes -= 30
    if match.group("minute_word"):
        minutes += words.minute_words[key(match.group("minute_word"))]
    if not 0 <= minutes < 24 * 60:
        raise RequestError(_NOT_A_TIME, text=match.group("when"))
    return _Clock(time(*divmod(minutes, 60)), _BARE, match.group("when"))


def _in_part_of_day(clock: _Clock | None, part: str | None) -> _Clock | None:
    """A time as the part of the day reads it: "tonight 8" is 20:00, "demain matin à 7" 7:00.

    Without one, a bare hour is in working hours ("at 3" is 15:00).
    """
    if clock is None:
        return None
    hour = clock.time.hour
    if clock.kind == _BARE:
        if part == MORNING or hour == 0:
            return clock
        if part in (AFTERNOON, EVENING):
            later = clock.time.replace(hour=hour + 12 if hour < 12 else hour)
            return _Clock(later, _BARE, clock.text)
        return _Clock(_business_hour(hour).replace(minute=clock.time.minute), _BARE, clock.text)
    if part in (AFTERNOON, EVENING) and clock.kind in (_PLAIN, _MARKED) and hour < 12:
        return _Clock(clock.time.replace(hour=hour + 12), clock.kind, clock.text)
    return clock


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


def _weekday(match: re.Match[str], wanted: int, today: date) -> date:
    if match.group("week"):  # "Friday next week": in the week after this one
        return today + timedelta(days=7 - today.weekday() + wanted)
    ahead = (wanted - today.weekday()) % 7
    if (match.group("next") or match.group("next2")) and ahead == 0:
        ahead = 7
    return today + timedelta(days=ahead)


def _month_day(words: Grammar, match: re.Match[str], today: date) -> date:
    month = words.months[key(match.group("month") or match.group("month2"))]
    day = int(match.group("day") or match.group("day2"))
    year = int(match.group("year")) if match.group("year") else None
    return _calendar_date(year, month, day, _said(match), today)


def _numeric_date(text: str, reading: _Reading) -> date:
    """ "12/3" in the locale's order of day and month, "3.12." day first, "2026/12/3" year first."""
    if "/" in text:
        pieces = text.split("/")
        if len(pieces[0]) == 4:
            year, month, day = pieces
        else:
            first, second = pieces[0], pieces[1]
            day, month = (first, second) if day_first(reading.locale) else (second, first)
            year = pieces[2] if len(pieces) == 3 else ""
    else:
        day, month, year = text.split(".")
    if len(year) == 2:
        year = f"20{year}"
    return _calendar_date(int(year) if year else None, int(month), int(day), text, reading.today)


def _calendar_date(year: int | None, month: int, day: int, said: str, today: date) -> date:
    """That date; without a year, this year's, or next year's once this year's has passed."""
    try:
        result = date(today.year if year is None else year, month, day)
    except ValueError:
        raise RequestError("{text} is not a date.", text=said) from None
    if year is None and result < today:
        try:
            result = result.replace(year=today.year + 1)  # "Jan 5" in December is next January
        except ValueError:  # no Feb 29 next year, or no year after 9999
            raise RequestError("{text} is not a date next year.", text=said) from None
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
            "{text} is not a date and time I can read.", text=match.group("when").strip()
        ) from None
    # A time written without an offset is wall-clock time in the user's zone.
    return start.replace(tzinfo=tz) if start.tzinfo is None else start
