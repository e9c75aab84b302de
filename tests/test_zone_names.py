"""Zone names as people write them: abbreviations, regions, cities, IANA names, UTC offsets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dialogs.zones import read_zone, zone_named, zone_to_text


@pytest.mark.parametrize(
    ("text", "zone", "label"),
    [
        ("ET", "America/New_York", "ET"),
        ("et", "America/New_York", "ET"),
        ("EST", "America/New_York", "EST"),
        ("EDT", "America/New_York", "EDT"),
        ("Eastern", "America/New_York", "ET"),
        ("eastern time", "America/New_York", "ET"),
        ("CT", "America/Chicago", "CT"),
        ("Central time", "America/Chicago", "CT"),
        ("MST", "America/Denver", "MST"),
        ("Mountain", "America/Denver", "MT"),
        ("PT", "America/Los_Angeles", "PT"),
        ("PDT", "America/Los_Angeles", "PDT"),
        ("Pacific", "America/Los_Angeles", "PT"),
        ("CET", "Europe/Berlin", "CET"),
        ("CEST", "Europe/Berlin", "CEST"),
        ("MEZ", "Europe/Berlin", "MEZ"),
        ("BST", "Europe/London", "BST"),
        ("WET", "Europe/Lisbon", "WET"),
        ("EET", "Europe/Athens", "EET"),
        ("GMT", "UTC", "GMT"),
        ("UTC", "UTC", "UTC"),
        ("utc+0", "UTC", "UTC"),
        ("UTC+2", "+02:00", "UTC+2"),
        ("utc+5:30", "+05:30", "UTC+5:30"),
        ("UTC+0530", "+05:30", "UTC+5:30"),
        ("GMT-3", "-03:00", "GMT-3"),
        ("GMT − 3", "-03:00", "GMT-3"),
        ("UTC+14", "+14:00", "UTC+14"),
        ("Europe/Berlin", "Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin", "Europe/Berlin"),
        ("(Europe/Berlin)", "Europe/Berlin", "Europe/Berlin"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires", None),
        ("Tokyo", "Asia/Tokyo", "Tokyo"),
        ("Tokyo time", "Asia/Tokyo", "Tokyo"),
        ("tokyo  TIME", "Asia/Tokyo", "Tokyo"),
        ("New York", "America/New_York", "New York"),
        ("new york time", "America/New_York", "New York"),
        ("São Paulo", "America/Sao_Paulo", "Sao Paulo"),
        ("sao_paulo", "America/Sao_Paulo", "Sao Paulo"),
        ("america/new york", "America/New_York", "America/New_York"),
        ("Berlin", "Europe/Berlin", "Berlin"),
        ("Kolkata", "Asia/Kolkata", "Kolkata"),
        # CLDR's German, French and Spanish names of cities.
        ("Tokio", "Asia/Tokyo", "Tokio"),
        ("nueva york", "America/New_York", "Nueva York"),
        ("Wien", "Europe/Vienna", "Wien"),
        ("Vienne", "Europe/Vienna", "Vienne"),
        ("Ciudad de México", "America/Mexico_City", "Ciudad de México"),
    ],
)
def test_a_zone_is_named_by_what_people_write(text: str, zone: str, label: str | None) -> None:
    named = read_zone(text)
    assert named is not None
    assert zone_to_text(named.zone) == zone
    assert named.label == (label or zone)
    assert zone_named(text) == named.zone


@pytest.mark.parametrize(
    "text",
    [
        "",
        "time",
        "Nowhere",
        "Sync",
        "team time",
        "UTC+15",
        "UTC+14:30",
        "GMT+2:75",
        "localtime",
        "Factory",
        "posix/Europe/Berlin",
        "Europe/" + "x" * 100,
        "Tokyo" * 20,
        "\ud800",
    ],
)
def test_anything_else_names_no_zone(text: str) -> None:
    assert zone_named(text) is None
    assert read_zone(text) is None


def test_an_abbreviation_keeps_its_zones_summer_time() -> None:
    # "EST" in July is New York's summer time, as people mean it, not a fixed UTC-5.
    zone = zone_named("EST")
    assert zone is not None
    assert datetime(2027, 7, 1, 9, tzinfo=zone).utcoffset() == timedelta(hours=-4)
    assert datetime(2027, 1, 1, 9, tzinfo=zone).utcoffset() == timedelta(hours=-5)


def test_an_offset_from_utc_is_a_fixed_zone() -> None:
    assert zone_named("UTC-3") == timezone(timedelta(hours=-3))
