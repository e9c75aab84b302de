"""Storing a user's time zone as text: an IANA name, or a fixed offset like '+05:30'."""

from __future__ import annotations

import functools
from datetime import timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, available_timezones


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


def zone_named(text: str) -> tzinfo | None:
    """The zone `text` names: an IANA name or its city ("berlin", "new york"), any case."""
    key = _zone_index().get(" ".join(text.replace("_", " ").split()).lower())
    return ZoneInfo(key) if key else None


@functools.cache
def _zone_index() -> dict[str, str]:
    """Lower-case IANA names and their cities, each to its name; built once, on first use."""
    index: dict[str, str] = {}
    for key in sorted(available_timezones()):
        index.setdefault(key.replace("_", " ").lower(), key)
        index.setdefault(key.rsplit("/", 1)[-1].replace("_", " ").lower(), key)
    return index


def looks_default(zone: str) -> bool:
    """UTC under any name, or a bare offset: what a client without a zone setting sends."""
    return zone[:1] in "+-" or zone.startswith("Etc/") or zone in _UTC_NAMES


_UTC_NAMES = frozenset({"UTC", "UCT", "GMT", "Universal", "Zulu", "Greenwich", "GMT0"})
