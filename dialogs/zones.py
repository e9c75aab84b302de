"""Time zones as text: storing a user's zone, and reading a zone a person names.

A zone is stored as an IANA name, or a fixed offset like '+05:30'. A person may name one as
an abbreviation ("ET", "CEST"), a region ("Pacific"), a city ("Tokyo", "New York time"), an
IANA name in any case ("europe/berlin") or an offset from UTC ("UTC+5:30", "GMT-3"). Cities
go by IANA's English names and by CLDR's German, French and Spanish ones ("Tokio", "Viena").
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from babel import Locale

# What people write for a zone, each meaning the zone's local time with its own DST rules:
# "EST" in July is New York's time, as people mean it, not a fixed UTC-5. GMT is UTC (as in
# "GMT+2"); "BST" or "London time" is London's.
ABBREVIATIONS = {
    **dict.fromkeys(("ET", "EST", "EDT"), "America/New_York"),
    **dict.fromkeys(("CT", "CST", "CDT"), "America/Chicago"),
    **dict.fromkeys(("MT", "MST", "MDT"), "America/Denver"),
    **dict.fromkeys(("PT", "PST", "PDT"), "America/Los_Angeles"),
    **dict.fromkeys(("CET", "CEST", "MEZ", "MESZ"), "Europe/Berlin"),
    **dict.fromkeys(("WET", "WEST"), "Europe/Lisbon"),
    **dict.fromkeys(("EET", "EEST"), "Europe/Athens"),
    "BST": "Europe/London",
    "GMT": "UTC",
    "UTC": "UTC",
}
# Regions of North America, shown as their abbreviation.
REGIONS = {
    "eastern": ("America/New_York", "ET"),
    "central": ("America/Chicago", "CT"),
    "mountain": ("America/Denver", "MT"),
    "pacific": ("America/Los_Angeles", "PT"),
}
# IANA's areas: the last part of their zones' names is a city ("America/New_York").
_AREAS = frozenset(
    (
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    )
)
_AREA_NAMES = frozenset(area.lower() for area in (*_AREAS, "Etc", "US", "Canada", "Brazil"))
_OFFSET = re.compile(
    r"(?P<base>UTC|GMT)\s?(?:(?P<sign>[+\-−])\s?(?P<hours>[0-9]{1,2})(?::?(?P<minutes>[0-9]{2}))?)?",
    re.IGNORECASE,
)
MAX_ZONE_NAME_CHARS = 64  # IANA's longest name is 32; a longer text is no zone


@dataclass(frozen=True)
class NamedZone:
    """A zone a person named, and the label to show for it ("ET", "Tokyo", "UTC+5:30")."""

    zone: tzinfo
    label: str


def zone_to_text(zone: tzinfo) -> str:
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    offset = zone.utcoffset(None) or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_from_text(text: str) -> tzinfo:
    if text[:1] in "+-" and len(text) == 6:
        sign = 1 if text[0] == "+" else -1
        return timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))
    return ZoneInfo(text)


def is_zone_like(text: str) -> bool:
    """Whether `text` is written like an IANA name ("Europe/Nowhere"), whether or not it is one."""
    area, slash, _ = text.partition("/")
    return bool(slash) and area.lower() in _AREA_NAMES


def zone_named(text: str) -> tzinfo | None:
    """The zone `text` names (see the module's docstring), or None when it names none."""
    named = read_zone(text)
    return named.zone if named else None


def read_zone(text: str) -> NamedZone | None:
    """The zone `text` names with the label to show for it, or None when it names none."""
    if len(text) > MAX_ZONE_NAME_CHARS:
        return None
    words = " ".join(text.strip().strip("()").split())
    if words[-5:].lower() == " time":  # "Tokyo time", "Eastern time"
        words = words[:-5]
    if match := _OFFSET.fullmatch(words):
        return _offset(match)
    if key := ABBREVIATIONS.get(words.upper()):
        return NamedZone(ZoneInfo(key), words.upper())
    if region := REGIONS.get(words.lower()):
        return NamedZone(ZoneInfo(region[0]), region[1])
    keys, cities = _index()
    if key := keys.get(words.lower().replace(" ", "_")):  # "america/new york" too
        return NamedZone(ZoneInfo(key), key)
    if city := cities.get(_folded(words.replace("_", " "))):  # "sao_paulo" too
        return NamedZone(ZoneInfo(city[0]), city[1])
    return None


def _offset(match: re.Match[str]) -> NamedZone | None:
    base = match.group("base").upper()
    if not match.group("sign"):
        return NamedZone(ZoneInfo("UTC"), base)
    hours, minutes = int(match.group("hours")), int(match.group("minutes") or 0)
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        return None  # no place on Earth is further from UTC than 14 hours
    sign = 1 if match.group("sign") == "+" else -1
    if not hours and not minutes:
        return NamedZone(ZoneInfo("UTC"), base)
    label = f"{base}{'+' if sign > 0 else '-'}{hours}" + (f":{minutes:02d}" if minutes else "")
    return NamedZone(timezone(sign * timedelta(hours=hours, minutes=minutes)), label)


# Languages whose names for cities (CLDR's: "Tokio", "Nueva York", "Vienne") are read too.
CITY_LANGUAGES = ("de", "fr", "es")


@functools.cache
def _index() -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """IANA's names by their lower case, and its cities by name: built once, when first asked.

    Reading the zone database's folder and CLDR's city names takes a tenth of a second, so it
    waits for the first zone a person names; every lookup after that is a dictionary's.
    """
    keys: dict[str, str] = {}
    cities: dict[str, tuple[str, str]] = {}  # city → zone, and the city's name to show
    # Shorter names first, so a city in two areas' names keeps the plainer one.
    for key in sorted(zoneinfo.available_timezones(), key=lambda key: (key.count("/"), key)):
        if key == "localtime" or key.startswith(("posix", "right", "Factory")):
            continue
        keys.setdefault(key.lower(), key)
        area, _, city = key.rpartition("/")
        if area.partition("/")[0] in _AREAS:
            name = city.replace("_", " ")
            cities.setdefault(_folded(name), (key, name))
    for language in CITY_LANGUAGES:
        for cldr_key, names in Locale.parse(language).time_zones.items():
            local_name, iana = names.get("city"), keys.get(str(cldr_key).lower())
            if isinstance(local_name, str) and iana:
                cities.setdefault(_folded(local_name), (iana, local_name))
    return keys, cities


def _folded(text: str) -> str:
    """`text` in lower case without accents, so "São Paulo" finds "Sao_Paulo"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def looks_default(zone: str) -> bool:
    """UTC under any name, or a bare offset: what a client without a zone setting sends."""
    return zone[:1] in "+-" or zone.startswith("Etc/") or zone in _UTC_NAMES


_UTC_NAMES = frozenset({"UTC", "UCT", "GMT", "Universal", "Zulu", "Greenwich", "GMT0"})
