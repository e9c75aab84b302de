"""Speaking the user's language: translated messages, and dates, times and lengths in CLDR's words.

A `Language` is one user's: the text language (one of the catalogs, else English) and the full
locale the values are written in (en-US "3:00 PM", en-GB "15:00"). `Languages` picks one for a
language tag such as Teams sends ("de-DE") and keeps it, so a turn parses no locale data.

Pure: the catalogs come in as mappings, English message → translation; reading them from
files is the app's business (bot.conversation.catalogs). A message is its English text with
plain `{name}` fields. A missing or empty translation is the English message, and so is one
whose fields don't match it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.dates import DateTimePattern, match_skeleton
from babel.lists import format_list
from babel.numbers import format_decimal
from babel.units import format_unit

from dialogs.zones import zone_to_text

log = logging.getLogger(__name__)

# The messages' own language: what every catalog translates from, and the fallback.
SOURCE_LANGUAGE = "en"
# Distinct language tags whose Language is kept. Tags come from the sender's activity (checked
# to look like one); past this many, a rare tag is worked out anew each time instead of kept.
MAX_KEPT_TAGS = 256
# Meeting lengths kept written out per language: the form's few, and those people ask for.
MAX_KEPT_LENGTHS = 64


def N_(message: str) -> str:
    """Marks `message` for the catalogs where it is written; it is translated where it is shown."""
    return message


class Message(Protocol):
    """A message with its values apart (as RequestError keeps them): translated, then filled."""

    @property
    def template(self) -> str: ...
    @property
    def params(self) -> Mapping[str, object]: ...


class Language:
    """One user's language: messages translated, and values written as their locale writes them."""

    def __init__(self, locale: Locale, translations: Mapping[str, str]) -> None:
        self.locale = locale
        self._translations = translations
        # Worked out once per locale, not per turn: CLDR's patterns for what the bot shows.
        self._day = _skeleton(locale, "yMMMEd")  # Tue, Dec 1, 2026 / Di., 1. Dez. 2026
        self._short_day = _skeleton(locale, "MMMEd")  # Tue, Dec 1 / Di., 1. Dez.
        self._time: DateTimePattern = locale.time_formats["short"]  # 3:00 PM / 15:00
        # How a date and a time (or a span of times) go together: "{1}, {0}", fr "{1} 'à' {0}".
        self._date_time = str(locale.datetime_formats["medium"]).replace("'", "")
        self._range = str(locale.interval_formats.get(None) or "{0} – {1}")
        # A short time depends on the hour and minute alone: each is written once, at most 1,440.
        self._times: dict[tuple[int, int], str] = {}
        self._lengths: dict[int, str] = {}

    @property
    def code(self) -> str:
        """The text's ISO 639-1 language ("de"), as an Adaptive Card's `lang` wants it."""
        return str(self.locale.language)

    def gettext(self, message: str, **params: object) -> str:
        """`message` in this language, its `{name}` fields filled with `params` written here."""
        translated = self._translations.get(message) or message
        if not params:
            return translated
        values = {name: self.value(value) for name, value in params.items()}
        try:
            return translated.format(**values)
        except (KeyError, IndexError, ValueError):
            log.warning("the %s translation of %r has other fields; using English", self, message)
            return message.format(**values)

    def message(self, message: Message) -> str:
        """A message kept with its values apart (a RequestError), in this language."""
        return self.gettext(message.template, **message.params)

    def value(self, value: object) -> str:
        """A message's field as text: dates, times, numbers and lengths as its locale writes."""
        if isinstance(value, datetime):
            return self._date_time.format(self.time(value), self._short_day_of(value))
        if isinstance(value, date):
            return self._short_day_of(value)
        if isinstance(value, time):
            return self.time(value)
        if isinstance(value, timedelta):
            return self.length(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(format_decimal(value, locale=self.locale))
        return str(value)

    def time(self, moment: datetime | time) -> str:
        """The wall-clock time of `moment` (in its own zone): "3:00 PM", "15:00"."""
        key = (moment.hour, moment.minute)
        if (known := self._times.get(key)) is None:
            known = self._times[key] = str(self._time.apply(moment, self.locale))
        return known

    def day(self, moment: datetime | date) -> str:
        """The date with weekday and year: "Tue, Dec 1, 2026", "Di., 1. Dez. 2026"."""
        return str(self._day.apply(moment, self.locale))

    def _short_day_of(self, moment: datetime | date) -> str:
        return str(self._short_day.apply(moment, self.locale))

    def span(self, start: datetime, end: datetime, tz: tzinfo) -> str:
        """When a meeting is, in zone `tz`, naming the zone; both days when it crosses midnight.

        "Tue, Dec 1, 2026, 3:00 PM – 3:45 PM (Europe/Berlin)",
        "Di., 1. Dez. 2026, 15:00 – 15:45 (Europe/Berlin)".
        """
        start, end = start.astimezone(tz), end.astimezone(tz)
        if end.date() == start.date():
            times = self._range.format(self.time(start), self.time(end))
            span = self._date_time.format(times, self.day(start))
        else:
            span = self._range.format(
                self._date_time.format(self.time(start), self.day(start)),
                self._date_time.format(self.time(end), self.day(end)),
            )
        return f"{span} ({zone_name(start)})"

    def length(self, length: timedelta) -> str:
        """A meeting's length in whole minutes, in the locale's short units: "1 hr, 30 min"."""
        minutes = int(length.total_seconds() // 60)
        if (known := self._lengths.get(minutes)) is not None:
            return known
        hours, rest = divmod(minutes, 60)
        parts = [self.duration(hours, "hour", "short")] if hours else []
        if rest or not hours:
            parts.append(self.duration(rest, "minute", "short"))
        text = str(format_list(parts, style="unit-short", locale=self.locale))
        if len(self._lengths) < MAX_KEPT_LENGTHS:
            self._lengths[minutes] = text
        return text

    def duration(self, amount: int, unit: str, style: str = "long") -> str:
        """An amount of one unit of time ("24 hours", "10 Minuten"), `unit` as CLDR names it
        without its "duration-" prefix: "second", "minute", "hour"."""
        return str(format_unit(amount, f"duration-{unit}", style, locale=self.locale))

    def __str__(self) -> str:
        return str(self.locale)


class Languages:
    """The languages the bot speaks; picks the best for a language tag, English by default."""

    def __init__(self, catalogs: Mapping[str, Mapping[str, str]]) -> None:
        # Each catalog by its language tag, lower case ("de", "pt-br" for a folder pt_BR),
        # English (the messages themselves) included.
        self._catalogs = {
            code.lower().replace("_", "-"): dict(texts) for code, texts in catalogs.items()
        }
        self._catalogs.setdefault(SOURCE_LANGUAGE, {})
        self._kept: dict[str, Language] = {}

    @property
    def codes(self) -> list[str]:
        """The languages spoken: English first, then the catalogs' in order of their codes."""
        return [SOURCE_LANGUAGE, *sorted(set(self._catalogs) - {SOURCE_LANGUAGE})]

    def pick(self, tag: str) -> Language:
        """The language for a BCP 47 tag ("de-AT": German, written as in Austria); English
        when the tag is empty or names a language without a catalog."""
        if (kept := self._kept.get(tag)) is not None:
            return kept
        language = self._work_out(tag)
        if len(self._kept) < MAX_KEPT_TAGS:
            self._kept[tag] = language
        return language

    def warm(self, tags: Iterable[str]) -> None:
        """Work out the languages of `tags` now and write a value of each kind in each, so
        Babel has read their CLDR data before the first turn needs it (blocking: at start-up)."""
        moment = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
        for tag in tags:
            language = self.pick(tag)
            language.span(moment, moment + timedelta(minutes=90), UTC)
            for value in (moment, moment.date(), moment.timetz(), timedelta(minutes=45), 1_000):
                language.value(value)
            language.duration(24, "hour")

    def _work_out(self, tag: str) -> Language:
        code = (negotiate_locale([tag], list(self._catalogs), sep="-") or SOURCE_LANGUAGE).lower()
        try:
            locale = Locale.parse(tag, sep="-")
        except (ValueError, TypeError, UnknownLocaleError):
            locale = None
        if locale is None or locale.language != code.split("-")[0]:
            # Values written as the text's language writes them: a Portuguese user reads
            # English text, so English dates; a German one in Austria, Austrian dates.
            locale = Locale.parse(code, sep="-")
        return Language(locale, self._catalogs[code])


def zone_name(moment: datetime) -> str:
    """The IANA name of `moment`'s zone where there is one, else its UTC offset."""
    text = zone_to_text(moment.tzinfo or UTC)
    if text[:1] not in "+-":
        return text
    return "UTC" if text == "+00:00" else f"UTC{text}"


def _skeleton(locale: Locale, skeleton: str) -> DateTimePattern:
    """The locale's own pattern for the fields `skeleton` names (CLDR availableFormats)."""
    formats = locale.datetime_skeletons
    pattern: DateTimePattern = formats[match_skeleton(skeleton, formats) or skeleton]
    return pattern
