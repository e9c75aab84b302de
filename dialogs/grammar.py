"""The request parser's patterns, built once per language from dialogs.vocabulary.

English is always understood; a user's language (German, French, Spanish) adds its words.
Every pattern starts at a word's edge and has no nested unbounded repetition, so reading a text
is linear in its length: dialogs.request's bounds tests check it for each language.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from babel import Locale, UnknownLocaleError

from dialogs.vocabulary import ENGLISH, LANGUAGES, Words
from dialogs.zones import ABBREVIATIONS, REGIONS

T = TypeVar("T")

# Word edges that also keep "10:30" whole. Every phrase starts with a letter or a digit: looking
# ahead for one first rules most positions out before the (slower) look behind.
# A phrase never starts inside "12/3" or "3.12." either; what is left over is looked at more
# loosely, so no part of such a token is missed there.
LOOSE_B, E = r"(?=[^\W_])(?<![\w:])", r"(?![\w:])"
B = r"(?=[^\W_])(?<![\w:/])(?<![0-9]\.)"
# Digits are ASCII [0-9], never \d: superscript or other-script digits ("²", "٣") are text here,
# not numbers (int() refuses some and quietly reads others); as \w they also keep "٣3pm" one word.
HOUR = r"[0-9]{1,2}"
MINUTES = r"[0-9]{2}"
NUMBER = r"[0-9]++(?:[.,][0-9]++)?"
COUNT = r"[0-9]++"
NEVER = r"(?!)"
# A place's name: up to four words that start with a letter, joined by a space, hyphen,
# apostrophe or dot ("New York", "Port-au-Prince", "St. John's"); each piece is a bounded step.
PLACE = r"[^\W\d_]\w*+(?:(?:[ '’-]|\. ?)[^\W\d_]\w*+){0,3}"
_DASH = r"[-–]"
_LOCALE_TAG = re.compile(r"[A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,8}){0,3}")
MAX_LOCALE_CHARS = 35


@dataclass(frozen=True)
class Grammar:
    """Compiled patterns and word lookups for English plus one language."""

    language: str
    iso_datetime: re.Pattern[str]
    now: re.Pattern[str]
    in_: re.Pattern[str]
    for_: re.Pattern[str]
    bare_length: re.Pattern[str]
    length_parts: re.Pattern[str]
    length_only: re.Pattern[str]
    range: re.Pattern[str]
    clock_at: re.Pattern[str]
    bare_at: re.Pattern[str]
    clock_word_at: re.Pattern[str]
    clock_parts: re.Pattern[str]
    relative_day: re.Pattern[str]
    part_of_day: re.Pattern[str]
    weekday: re.Pattern[str]
    month_day: re.Pattern[str]
    numeric_date: re.Pattern[str]
    iso_date: re.Pattern[str]
    past: re.Pattern[str]
    leftover: re.Pattern[str]
    dangling: re.Pattern[str]
    zone_prefix: re.Pattern[str]
    lengths: Mapping[str, int]
    meridiems: Mapping[str, str]
    minute_words: Mapping[str, int]
    clock_words: Mapping[str, int]
    relative_days: Mapping[str, tuple[int, str | None]]
    parts_of_day: Mapping[str, str]
    weekdays: Mapping[str, int]
    months: Mapping[str, int]


def language_of(locale: str) -> str:
    """The language of a locale tag ("de-AT" → "de") when its words are known, else "en"."""
    match = re.match(r"[A-Za-z]{2,3}(?![A-Za-z])", locale)
    language = match.group().lower() if match else "en"
    return language if language in LANGUAGES else "en"


def day_first(locale: str) -> bool:
    """Whether `locale` writes the day before the month ("12/3" is 12 March), per CLDR.

    Unknown or malformed tags read as en-US, month first.
    """
    tag = locale.replace("-", "_")
    if len(tag) > MAX_LOCALE_CHARS or not _LOCALE_TAG.fullmatch(tag):
        tag = "en_US"
    return _day_first(tag)


@functools.lru_cache(maxsize=256)  # tags come from clients: the cache is bounded
def _day_first(tag: str) -> bool:
    for candidate in (tag, tag.partition("_")[0], "en_US"):
        try:
            pattern = str(Locale.parse(candidate).date_formats["short"].pattern)
        except (UnknownLocaleError, ValueError, TypeError, KeyError):
            continue
        # A pattern that starts with the year ("y/MM/dd") writes month before day too.
        return pattern.find("d") < pattern.find("M")
    return False


def key(text: str) -> str:
    """How a matched phrase is looked up: lower case, no accents, one kind of apostrophe."""
    text = " ".join(text.lower().replace("’", "'").replace("-", " ").split())
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def grammar(language: str) -> Grammar:
    """The patterns for English and `language` (a key of vocabulary.LANGUAGES), made once."""
    english = ENGLISH
    other = LANGUAGES.get(language, ENGLISH)
    both = (english,) if other is english else (english, other)

    def words(name: str) -> list[str]:
        return [word for table in both for word in getattr(table, name)]

    def table(name: str) -> dict[str, T]:
        merged: dict[str, T] = {}
        for each in both:
            merged.update(getattr(each, name))
        return merged

    lengths: dict[str, int] = table("lengths")
    meridiems: dict[str, str] = table("meridiems")
    clock_words: dict[str, int] = table("clock_words")
    relative_days: dict[str, tuple[int, str | None]] = table("relative_days")
    parts_of_day: dict[str, str] = table("parts_of_day")
    weekdays: dict[str, int] = table("weekdays")
    months: dict[str, int] = table("months")

    # A word of the user's language that is also an English meridiem ("am Montag") is a
    # meridiem only when written against the number ("10am").
    small_words = {key(w) for w in (*other.on, *other.at, *other.of, *other.and_)}
    tight_meridiems = [m for m in meridiems if key(m) in small_words]
    spaced_meridiems = [m for m in meridiems if key(m) not in small_words]
    meridiem = rf"(?: ?{alt(spaced_meridiems)}|{alt(tight_meridiems)})"
    after_marker = rf"(?: {alt(spaced_meridiems)})?"  # "8 Uhr früh", not "10 Uhr am Montag"
    markers = alt(words("clock_markers"))
    marker_minutes = any(t.marker_minutes for t in both)
    clock_word = alt(clock_words)
    minute_words = alt(table("minute_words"))
    clock = (
        "(?:"
        + rf"{HOUR}(?:[:.]{MINUTES})?{meridiem}"
        + (rf"|{HOUR} ?{markers} ?{MINUTES}{after_marker}" if marker_minutes else "")
        + rf"|{HOUR}(?:[:.]{MINUTES})? ?{markers}(?: {minute_words})?{after_marker}"
        + rf"|{HOUR}:{MINUTES}"
        + ")"
    )
    clock_parts = (
        rf"(?P<hour>{HOUR})(?:[:.](?P<minute>{MINUTES}))?"
        rf" ?(?P<marker>{markers})? ?(?P<minute2>{MINUTES})?(?: (?P<minute_word>{minute_words}))?"
        rf" ?(?P<meridiem>{alt(meridiems)})?"
    )
    at = alt(words("at"))
    half = alt(words("half_before"))
    # "la mañana" is the morning, never tomorrow.
    not_after = "".join(f"(?<!{re.escape(w)} )" for w in words("day_not_after"))
    zone = _zone_pattern(other)
    zoned = rf"(?: \(?(?P<zone>{zone})\)?)?"
    hour_or_clock = rf"(?:{clock}|{clock_word}|{HOUR})"
    to = rf"(?: ?{_DASH} ?| {alt(words('range_to'))} )"
    range_ = (
        rf"{B}(?P<when>"
        rf"(?:(?:{alt([*words('range_from'), *words('at')])}) )?"
        rf"(?P<first>{hour_or_clock}){to}(?P<second>{clock}|{clock_word})"
        rf"|{alt(words('range_from'))} (?P<first2>{hour_or_clock}){to}(?P<second2>{hour_or_clock})"
        rf"|{alt(words('between'))} (?P<first3>{hour_or_clock}) {alt(words('and_'))} "
        rf"(?P<second3>{hour_or_clock})"
        rf"){zoned}{E}"
    )

    # Units that are also a clock's marker in the user's language ("15h" is a time in French)
    # make a length only after a word that says so ("pendant 1h30").
    marker_keys = {key(m) for m in other.clock_markers}
    all_hours = words("hour_units")
    bare_hours = [u for u in all_hours if key(u) not in marker_keys]
    minute = alt(words("minute_units"))
    joiner = alt(words("length_joiners"))

    def length(hour_units: str) -> str:
        return (
            rf"(?:{NUMBER} ?{hour_units}(?: ?(?:{joiner} )?{COUNT}(?: ?{minute})?)?"
            rf"|{COUNT} ?{minute}|{alt(lengths)})"
        )

    length_parts = (
        rf"(?P<hours>{NUMBER}) ?{alt(all_hours)}"
        rf"(?: ?(?:{joiner} )?(?P<hmin>{COUNT})(?: ?{minute})?)?"
        rf"|(?P<minutes>{COUNT}) ?{minute}|(?P<phrase>{alt(lengths)})"
    )

    on = rf"(?:{alt(words('on'))} )?"
    weekday = alt(weekdays)
    month = alt(months)
    day_suffix = alt(words("day_suffixes"))
    of = alt(words("of"))
    month_day = (
        rf"{B}{on}(?:(?P<month>{month})\.? (?P<day>[0-9]{{1,2}}){day_suffix}?"
        rf"|(?P<day2>[0-9]{{1,2}}){day_suffix}?\.? (?:{of} )?(?P<month2>{month})\.?)"
        rf"(?:,? (?:{of} )?(?P<year>[0-9]{{4}}))?{E}"
    )
    numeric_date = (
        rf"{B}{on}(?P<date>[0-9]{{4}}/[0-9]{{1,2}}/[0-9]{{1,2}}"
        r"|[0-9]{1,2}/[0-9]{1,2}(?:/(?:[0-9]{4}|[0-9]{2}))?"
        rf"|[0-9]{{1,2}}\.[0-9]{{1,2}}\.(?:[0-9]{{4}}|[0-9]{{2}})?){E}"
    )
    periods = alt(words("periods"))
    ago_units = alt(words("ago_units"))
    past = (
        rf"{B}(?:{alt(words('past_days'))}"
        rf"|{alt(words('last_before'))} (?:{weekday}|{periods})"
        rf"|(?:{weekday}|{periods}) {alt(words('last_after'))}"
        rf"|{alt(words('ago_before'))} (?:[^\W_]++ )?{ago_units}"
        rf"|(?:(?:[^\W_]++) {ago_units} )?{alt(words('ago_after'))}"
        rf"){E}"
    )
    leftover = (
        rf"{LOOSE_B}(?:"
        # Led by a digit: times, lengths, dates.
        rf"(?=[0-9])(?:{HOUR}(?:[:.]{MINUTES})? ?(?:{alt(meridiems)}|{markers})(?: ?{MINUTES})?"
        rf"|{HOUR}:{MINUTES}"
        rf"|{NUMBER} ?(?:{alt(all_hours)}|{minute})(?: ?{COUNT})?"
        r"|[0-9]{1,4}/[0-9]{1,2}(?:/[0-9]{2,4})?"
        r"|[0-9]{1,2}\.[0-9]{1,2}\.(?:[0-9]{2,4})?"
        r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9:]++)?"
        rf"|[0-9]{{1,2}}\.? (?:{of} )?{month}"
        rf"){E}"
        # Led by a word: "at 3", days, zones.
        rf"|(?:{at} {HOUR}|{half} {HOUR}"
        rf"|{alt(relative_days)}|{weekday}|{alt(words('next_week'))}"
        rf"|{month}\.? [0-9]{{1,2}}"
        rf"|(?P<offset>(?:UTC|GMT)(?: ?[+\-−] ?{HOUR}(?::?{MINUTES})?)?)"
        rf"|(?P<abbreviation>(?-i:{alt(sorted(ABBREVIATIONS))}))"
        rf"|(?P<iana>[A-Za-z]++(?:/[A-Za-z0-9_+\-]++){{1,2}})"
        rf"){E}"
        # "<place> time", "heure de <place>": looked at, not taken, so that when the place is
        # no zone's ("team time") the words in it are still looked at one by one.
        rf"|(?=(?P<place>{PLACE}) (?P<after>{alt(words('zone_after'))}){E})"
        rf"|(?=(?P<before>{alt(words('zone_before'))}) (?P<place2>{PLACE}))"
        ")"
    )
    dangling = [w for t in both for w in (*t.at, *t.on, *t.for_, *t.in_, *t.range_from)]

    def compiled(pattern: str) -> re.Pattern[str]:
        return re.compile(pattern, re.IGNORECASE)

    return Grammar(
        language=other.language,
        iso_datetime=compiled(
            rf"{B}(?P<when>(?:{on}|{at} )?(?P<date>[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})"
            r"[T ](?P<time>[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?))"
            rf"(?:(?P<offset>Z|[+-][0-9]{{2}}:?[0-9]{{2}})|{zoned}){E}"
        ),
        now=compiled(rf"{B}{alt(words('now'))}{E}"),
        in_=compiled(rf"{B}{alt(words('in_'))} (?P<length>{length(alt(all_hours))}){E}"),
        for_=compiled(rf"{B}{alt(words('for_'))} (?P<length>{length(alt(all_hours))}){E}"),
        bare_length=compiled(rf"{B}(?P<length>{length(alt(bare_hours))}){E}"),
        length_parts=compiled(length_parts),
        length_only=compiled(rf"(?:{alt(words('for_'))} )?(?P<length>{length(alt(all_hours))})"),
        range=compiled(range_),
        clock_at=compiled(rf"{B}(?P<when>(?:{at} )?(?P<clock>{clock})){zoned}{E}"),
        bare_at=compiled(
            rf"{B}(?P<when>(?:{at} (?:(?P<half>{half}) )?|(?P<half2>{half}) )(?P<hour>{HOUR})"
            rf"(?: (?P<minute_word>{minute_words}))?(?: {alt(words('at_suffixes'))})?){zoned}{E}"
        ),
        clock_word_at=compiled(rf"{B}(?P<when>(?:{at} )?(?P<clock>{clock_word})){zoned}{E}"),
        clock_parts=compiled(clock_parts),
        relative_day=compiled(
            rf"{B}{not_after}{on}(?P<day>{alt(relative_days)})"
            rf"(?: (?P<part>{alt(parts_of_day)}))?{E}"
        ),
        part_of_day=compiled(rf"{B}(?P<part>{alt(parts_of_day)}){E}"),
        weekday=compiled(
            rf"{B}{on}(?:(?P<next>{alt(words('next_before'))}) |{alt(words('this_before'))} )?"
            rf"(?P<weekday>{weekday})(?:,? (?P<next2>{alt(words('next_after'))})"
            rf"|,? (?P<week>{alt(words('next_week'))}))?"
            rf"(?: (?P<part>{alt(parts_of_day)}))?{E}"
        ),
        month_day=compiled(month_day),
        numeric_date=compiled(numeric_date),
        iso_date=compiled(rf"{B}{on}(?P<date>[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}){E}"),
        past=compiled(past),
        leftover=compiled(leftover),
        dangling=compiled(alt(dangling)),
        zone_prefix=compiled(rf"{alt(words('zone_before'))} "),
        lengths=lookup(lengths),
        meridiems=lookup(meridiems),
        minute_words=lookup(table("minute_words")),
        clock_words=lookup(clock_words),
        relative_days=lookup(relative_days),
        parts_of_day=lookup(parts_of_day),
        weekdays=lookup(weekdays),
        months=lookup(months),
    )


def _zone_pattern(other: Words) -> str:
    """What may name a zone right after a time; dialogs.zones decides whether it does."""
    zone_after = alt((*ENGLISH.zone_after, *other.zone_after))
    zone_before = alt((*ENGLISH.zone_before, *other.zone_before))
    lower_words = {w.upper() for w in other.not_zones}
    anycase = [a for a in ABBREVIATIONS if a not in lower_words]
    capitals = [a for a in ABBREVIATIONS if a in lower_words]
    return (
        rf"(?:UTC|GMT) ?[+\-−] ?{HOUR}(?::?{MINUTES})?"
        rf"|{PLACE} {zone_after}"
        rf"|{zone_before} {PLACE}"
        r"|[A-Za-z]++(?:/[A-Za-z0-9_+\-]++){1,2}"
        rf"|{alt(anycase)}|(?-i:{alt(capitals)})|{alt(REGIONS)}"
    )


def variants(word: str) -> set[str]:
    """`word` as people may type it: without accents, umlauts as "ue", ’ for ', " " for "-"."""
    forms = {word}
    if "'" in word:
        forms.add(word.replace("'", "’"))
    if "-" in word:
        forms |= {form.replace("-", " ") for form in forms}
    for form in list(forms):
        decomposed = unicodedata.normalize("NFKD", form)
        forms.add("".join(c for c in decomposed if not unicodedata.combining(c)))
        if any(c in form for c in "äöü"):
            forms.add(form.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue"))
    return forms


def alt(words: Iterable[str]) -> str:
    """One alternation of `words` and their variants, longest first; never matches if empty.

    Written as a trie ("mo(?:n(?:day)?|nth)"), so a position is ruled out after comparing
    its first letter with each first letter, not with each of a hundred words.
    """
    trie: dict[str, Any] = {}
    for word in words:
        for form in variants(word):
            node = trie
            for char in form:
                node = node.setdefault(char, {})
            node[""] = {}
    return _branches(trie) if trie else NEVER


def _branches(node: dict[str, Any]) -> str:
    """The regex of a trie's node: its children, longest first, then the word ending here."""
    branches = [
        re.escape(char).replace(r"\ ", " ") + _branches(child)
        for char, child in sorted(node.items())
        if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" in node:
        return f"(?:{body})?"
    return body


def lookup(table: Mapping[str, T]) -> dict[str, T]:
    """`table` keyed as `key` writes a matched phrase, variants included."""
    return {key(form): value for word, value in table.items() for form in variants(word)}
