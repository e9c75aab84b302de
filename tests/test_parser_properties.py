"""Whatever the text and clock: a draft that can exist or one line of explanation, nothing else.

Property-based, over huge numbers, odd Unicode (lone surrogates, superscripts, other scripts'
digits, direction marks) and long repetitive texts, with clocks up to the calendar's ends.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dialogs.request import (
    MAX_LENGTH,
    MAX_SUBJECT_CHARS,
    PAST_TOLERANCE,
    MeetingDraft,
    RequestError,
    check_subject,
    parse_length,
    parse_request,
)

ZONES = [ZoneInfo(name) for name in ("UTC", "Europe/Berlin", "Pacific/Kiritimati", "Etc/GMT+12")]
ODD = st.sampled_from(
    [
        "\ud800",
        "\udfff",
        "\udc80",
        "²",
        "³",
        "¹⁰",
        "٣",
        "٠٩:٣٠",
        "०",
        "𝟘",
        "１",
        "\u200f",
        "\u202e",
        "\u2066",
        "\u00a0",
        "\u3000",
        "\x85",
    ]
)
PHRASES = st.sampled_from(
    [
        "at ",
        "for ",
        "in ",
        "from ",
        "on ",
        "to ",
        "-",
        "–",
        " ",
        '"',
        "“",
        "m",
        "h",
        "pm",
        ":",
        ".",
        ",",
        "T",
        "Z",
        "+14:00",
        "-12:00",
        "Dec ",
        "Feb 29 ",
        "9999",
        "0001",
        "9999-12-31",
        "0001-01-01",
        "tomorrow ",
        "tonight ",
        "next Friday ",
        "noon ",
        "half an hour ",
        "yesterday ",
        "last ",
        "ago ",
        "ET ",
        "et ",
        "UTC+",
        "Tokyo time ",
        "Europe/Berlin ",
        "12/3 ",
        "31/4 ",
        "3.12. ",
        "from 9 to 17 ",
        "morgen ",
        "um ",
        "15 Uhr ",
        "von 9 bis ",
        "halb ",
        "demain ",
        "à ",
        "16h30 ",
        "de 9h à ",
        "hier ",
        "mañana ",
        "a las ",
        "y media ",
        "pasado ",
        "de la ",
    ]
)
LOCALES = st.sampled_from(["en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "", "xx", "de-\ud800"])
HUGE_NUMBERS = st.integers(min_value=0, max_value=6_000).flatmap(
    lambda zeros: st.sampled_from(["1", "9", "45", ".5"]).map(lambda tail: "0" * zeros + tail)
)
REPEATED = st.tuples(st.one_of(PHRASES, ODD, HUGE_NUMBERS), st.integers(1, 40_000)).map(
    lambda piece: (piece[0] * piece[1])[:120_000]
)
PIECES = st.one_of(st.text(max_size=20), ODD, PHRASES, HUGE_NUMBERS, st.integers().map(str))
TEXT = st.one_of(st.lists(PIECES, max_size=16).map("".join), REPEATED)
CLOCKS = st.one_of(
    st.datetimes(timezones=st.sampled_from(ZONES)),
    st.sampled_from(
        [
            datetime(1, 1, 1, tzinfo=UTC),
            datetime.fromisoformat("0001-01-01T00:00:00+14:00"),
            datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
            datetime.fromisoformat("9999-12-31T23:59:00-12:00"),
            datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Europe/Berlin")),
        ]
    ),
)


def read(text: str, now: datetime, zone: ZoneInfo, locale: str = "en-US") -> MeetingDraft | str:
    """The draft, or the explanation the user would see instead."""
    try:
        return parse_request(
            text, now=now, tz=zone, default_length=timedelta(minutes=30), locale=locale
        )
    except RequestError as error:
        return str(error)


def subject_or_explanation(text: str) -> str | RequestError:
    try:
        return check_subject(text)
    except RequestError as error:
        return error


@given(TEXT, CLOCKS, st.sampled_from(ZONES), LOCALES)
@settings(max_examples=600, deadline=None)
def test_any_text_at_any_time_gives_a_possible_meeting_or_an_explanation(
    text: str, now: datetime, zone: ZoneInfo, locale: str
) -> None:
    draft = read(text, now, zone, locale)
    if isinstance(draft, str):
        assert draft
        assert "\n" not in draft
        draft.encode()  # a reply can carry it
        return
    if draft.subject is not None:
        assert draft.subject == check_subject(draft.subject)
        assert 0 < len(draft.subject) <= MAX_SUBJECT_CHARS
    if draft.start is None:
        assert draft.end is None
        return
    if draft.named_timezone is not None:
        assert draft.named_timezone_label
    assert draft.end is not None
    assert timedelta(0) < draft.end - draft.start <= MAX_LENGTH
    assert now - draft.start <= PAST_TOLERANCE
    for anywhere in ZONES:  # the card shows it in the reader's zone; the dialog may add a day
        draft.start.astimezone(anywhere)
        (draft.start.astimezone(UTC) + MAX_LENGTH).astimezone(anywhere)


@given(TEXT)
@settings(max_examples=400, deadline=None)
def test_any_answer_to_how_long_is_a_length_or_none(text: str) -> None:
    length = parse_length(text)
    assert length is None or timedelta(0) <= length <= MAX_LENGTH + timedelta(minutes=1)


@given(TEXT)
@settings(max_examples=400, deadline=None)
def test_any_answer_to_what_about_is_a_subject_or_an_explanation(text: str) -> None:
    subject = subject_or_explanation(text)
    if isinstance(subject, RequestError):
        assert "\n" not in str(subject)
        return
    assert len(subject) <= MAX_SUBJECT_CHARS
    assert subject == " ".join(subject.split())
    subject.encode()


BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, tzinfo=BERLIN)  # a Monday
TOMORROW_AT = {
    "en-US": "Sync tomorrow {hour}:{minute:02d}",
    "de-DE": "Sync morgen {hour}:{minute:02d} Uhr",
    "fr-FR": "Sync demain {hour}h{minute:02d}",
    "es-ES": "Sync mañana a las {hour}:{minute:02d}",
}


@given(st.sampled_from(sorted(TOMORROW_AT)), st.integers(0, 23), st.integers(0, 59))
def test_tomorrow_at_any_time_in_any_language(locale: str, hour: int, minute: int) -> None:
    draft = read(TOMORROW_AT[locale].format(hour=hour, minute=minute), NOW, BERLIN, locale)
    assert isinstance(draft, MeetingDraft)
    assert draft.subject == "Sync"
    assert draft.start == datetime(2026, 11, 24, hour, minute, tzinfo=BERLIN)


@given(
    st.dates(min_value=date(2026, 11, 25), max_value=date(2027, 11, 22)),
    st.integers(1, 12),
    st.sampled_from(["am", "pm"]),
    st.sampled_from(
        [("ET", "America/New_York"), ("PT", "America/Los_Angeles"), ("BST", "Europe/London")]
    ),
)
@example(date(2027, 11, 7), 1, "am", ("ET", "America/New_York"))  # 1am ET happens twice
def test_a_named_zone_is_that_zones_wall_clock_on_any_day(
    day: date, hour: int, meridiem: str, zone: tuple[str, str]
) -> None:
    text = f"Sync {day:%b} {day.day} {day.year} {hour}{meridiem} {zone[0]}"
    draft = read(text, NOW, BERLIN)
    assert isinstance(draft, MeetingDraft)
    wall = time(hour % 12 + (12 if meridiem == "pm" else 0))
    # As instants: Python never counts a wall time that happens twice (1am ET on the day clocks
    # go back) equal to a time in another zone, even at the same instant.
    expected = datetime.combine(day, wall, tzinfo=ZoneInfo(zone[1]))
    assert draft.start is not None
    assert draft.start.timestamp() == expected.timestamp()
    assert draft.named_timezone == zone[1]
