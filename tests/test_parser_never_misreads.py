"""Nothing is silently misread: what the parser can't use as said, it names and asks about.

Each of the misreadings issue 12 found, words for the past in every language, impossible dates
and times, days or times that disagree, and time-like words left over. `now` is Monday
23 November 2026, 10:00 in Berlin.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from dialogs.request import RequestError
from tests.parsing import parse

# -- the five misreadings of issue 12 -----------------------------------------------------------


def test_a_zone_after_the_time_sets_the_instant_and_leaves_the_subject() -> None:
    draft = parse("Partner sync tomorrow 4pm ET")
    assert draft.subject == "Partner sync"
    assert draft.start == datetime.fromisoformat("2026-11-24T22:00:00+01:00")
    assert (draft.named_timezone, draft.named_timezone_label) == ("America/New_York", "ET")


@pytest.mark.parametrize(
    ("text", "named"),
    [("Check-in yesterday 2pm", "yesterday"), ("Review last Monday 3pm", "last Monday")],
)
def test_the_past_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(RequestError, match=f"^'{named}' is in the past: ") as raised:
        parse(text)
    assert raised.value.params == {"text": named}


@pytest.mark.parametrize(
    ("locale", "start"),
    [("en-US", "2027-11-12T09:00:00+01:00"), ("en-GB", "2026-12-11T09:00:00+01:00")],
)
def test_a_numeric_date_is_read_not_dropped(locale: str, start: str) -> None:
    # en-US reads 11/12 as 12 November, already past this year: next year's, as "Nov 12" is.
    draft = parse("1:1 11/12 at 9am", locale)
    assert draft.subject == "1:1"
    assert draft.start == datetime.fromisoformat(start)


def test_a_french_time_is_a_time_not_a_length() -> None:
    draft = parse("Point hebdo demain à 16h", "fr-FR")
    assert draft.subject == "Point hebdo"
    assert draft.start == datetime.fromisoformat("2026-11-24T16:00:00+01:00")
    assert draft.end == datetime.fromisoformat("2026-11-24T16:30:00+01:00")
    assert not draft.length_given


def test_a_range_of_bare_hours_after_from_is_the_meetings_span() -> None:
    draft = parse("Workshop Dec 8 from 9 to 17")
    assert draft.subject == "Workshop"
    assert (draft.start, draft.end) == (
        datetime.fromisoformat("2026-12-08T09:00:00+01:00"),
        datetime.fromisoformat("2026-12-08T17:00:00+01:00"),
    )


# -- the past, in every language ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "text", "named"),
    [
        ("en-US", "Sync yesterday 3pm", "yesterday"),
        ("en-US", "Sync the day before yesterday at 3", "the day before yesterday"),
        ("en-US", "Sync last week", "last week"),
        ("en-US", "Sync this past Friday 3pm", "this past Friday"),
        ("en-US", "Sync 2 days ago", "2 days ago"),
        ("en-US", "Sync an hour ago", "an hour ago"),
        ("en-US", "Sync ago", "ago"),
        ("en-US", "Sync last night", "last night"),
        ("de-DE", "Sync gestern 15 Uhr", "gestern"),
        ("de-DE", "Sync vorgestern um 10", "vorgestern"),
        ("de-DE", "Sync letzten Montag 10 Uhr", "letzten Montag"),
        ("de-DE", "Sync letzte Woche", "letzte Woche"),
        ("de-DE", "Sync vergangenen Freitag", "vergangenen Freitag"),
        ("de-DE", "Sync vor 2 Tagen", "vor 2 Tagen"),
        ("de-DE", "Sync vor einer Stunde", "vor einer Stunde"),
        ("fr-FR", "Point hier à 10h", "hier"),
        ("fr-FR", "Point avant-hier à 10h", "avant-hier"),
        ("fr-FR", "Point lundi dernier à 10h", "lundi dernier"),
        ("fr-FR", "Point la semaine dernière", "semaine dernière"),
        ("fr-FR", "Point il y a 2 jours", "il y a 2 jours"),
        ("es-ES", "Reunión ayer a las 10", "ayer"),
        ("es-ES", "Reunión anteayer a las 10", "anteayer"),
        ("es-ES", "Reunión el lunes pasado a las 10", "lunes pasado"),
        ("es-ES", "Reunión el pasado lunes a las 10", "el pasado lunes"),
        ("es-ES", "Reunión la semana pasada", "semana pasada"),
        ("es-ES", "Reunión hace 2 días", "hace 2 días"),
        ("es-ES", "Reunión anoche", "anoche"),
    ],
)
def test_words_for_the_past_are_refused_in_every_language(
    locale: str, text: str, named: str
) -> None:
    with pytest.raises(RequestError, match=f"^'{named}' is in the past: pick a day") as raised:
        parse(text, locale)
    assert raised.value.template == "'{text}' is in the past: pick a day and time from now on."


@pytest.mark.parametrize(
    ("locale", "text", "subject"),
    [
        ("en-US", "Last call prep tomorrow 3pm", "Last call prep"),
        ("es-ES", "Reunión pasado mañana a las 10", "Reunión"),  # "pasado mañana": ahead
        ("de-DE", "Sync vor dem Termin morgen 10 Uhr", "Sync vor dem Termin"),
        ("de-DE", "Die letzte Abstimmung morgen 10 Uhr", "Die letzte Abstimmung"),
        ("fr-FR", "Le dernier point demain 10h", "Le dernier point"),
    ],
)
def test_words_that_only_look_like_the_past_are_subject(
    locale: str, text: str, subject: str
) -> None:
    assert parse(text, locale).subject == subject


def test_a_quoted_subject_may_speak_of_the_past() -> None:
    draft = parse('"Review of last Monday" tomorrow 3pm')
    assert draft.subject == "Review of last Monday"


# -- impossible dates and times -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "text", "message"),
    [
        ("en-US", "Sync 25:00", "25:00 is not a time I can read."),
        ("en-US", "Sync tomorrow 24:00", "24:00 is not a time I can read."),
        ("en-US", "Sync tomorrow 13pm", "13pm is not a time I can read."),
        ("en-US", "Sync tomorrow 9:75", "9:75 is not a time I can read."),
        ("en-US", "Sync Feb 30 3pm", "Feb 30 is not a date."),
        ("en-US", "Sync 4/31 3pm", "4/31 is not a date."),
        ("en-GB", "Sync 31/4 3pm", "31/4 is not a date."),
        ("en-US", "Sprint 24/7 tomorrow 3pm", "24/7 is not a date."),
        ("de-DE", "Sync 30.2. 10 Uhr", "30.2. is not a date."),
        ("de-DE", "Sync 31.4.2027 10 Uhr", "31.4.2027 is not a date."),
        ("de-DE", "Sync 31. April 10 Uhr", "31. April is not a date."),
        ("de-DE", "Sync morgen 25 Uhr", "25 Uhr is not a time I can read."),
        ("fr-FR", "Point 31 avril 10h", "31 avril is not a date."),
        ("fr-FR", "Point demain 25h", "25h is not a time I can read."),
        ("es-ES", "Reunión 30 de febrero a las 10", "30 de febrero is not a date."),
        ("es-ES", "Reunión mañana a las 25", "25 is not an hour of the day."),
    ],
)
def test_impossible_dates_and_times_are_named(locale: str, text: str, message: str) -> None:
    with pytest.raises(RequestError) as raised:
        parse(text, locale)
    assert str(raised.value) == message


# -- days and times that disagree, and what is left over ----------------------------------------


@pytest.mark.parametrize(
    ("locale", "text", "first", "second"),
    [
        ("en-US", "Sync Monday Dec 8 3pm", "Monday", "Dec 8"),
        ("en-US", "Friday drinks tomorrow 5pm", "Friday", "tomorrow"),
        ("en-US", "Sync tomorrow 11/25 10am", "tomorrow", "11/25"),
        ("en-US", "Sync now 3pm", "now", "3pm"),
        ("en-US", "Sync in 2 hours tomorrow", "in 2 hours", "tomorrow"),
        ("de-DE", "Sync morgen 10 Uhr am Montag", "am Montag", "morgen"),
        ("fr-FR", "Point lundi 8 décembre 10h", "lundi", "8 décembre"),
    ],
)
def test_days_or_times_that_disagree_are_asked_about(
    locale: str, text: str, first: str, second: str
) -> None:
    with pytest.raises(RequestError, match="don't agree: which one do you mean") as raised:
        parse(text, locale)
    assert raised.value.params == {"first": first, "second": second}


@pytest.mark.parametrize(
    ("locale", "text", "named"),
    [
        ("en-US", "Sync tomorrow 3pm 5pm", "5pm"),
        ("en-US", "Sync tomorrow 3pm for 1h 2h", "2h"),
        ("en-US", "Sync 3pm Tuesday or Wednesday", "Wednesday"),
        ("en-US", "Sync Dec 3 or Dec 4 at 10", "Dec 4"),
        ("en-US", "Sync tomorrow 10am 3.30pm", "3.30pm"),
        ("en-US", "Sync from 9 to 17 at 10", "at 10"),
        ("en-US", "Sync next week", "next week"),
        ("de-DE", "Sync Montag 15 Uhr 16 Uhr", "16 Uhr"),
        ("fr-FR", "Point demain 14h 1h30", "1h30"),
        ("fr-FR", "Point demain 10h 2 heures", "2 heures"),
        ("es-ES", "Reunión mañana a las 10 16h", "a las 10"),
    ],
)
def test_a_time_or_day_left_over_is_asked_about(locale: str, text: str, named: str) -> None:
    with pytest.raises(RequestError, match="put the subject in quotes") as raised:
        parse(text, locale)
    assert raised.value.params == {"text": named}


@pytest.mark.parametrize(
    "text",
    [
        "1:1 with Ana tomorrow 3pm",
        "Q3 2026 planning tomorrow 3pm",
        "Release 1.2.3 review Friday 9am",
    ],
)
def test_numbers_that_are_no_time_stay_in_the_subject(text: str) -> None:
    assert parse(text).subject == text.rsplit(" ", 2)[0]


# -- ranges -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "text", "start", "end"),
    [
        ("en-US", "Sync 2-3pm", "2026-11-23T14:00", "2026-11-23T15:00"),
        ("en-US", "Sync 10am-12:30pm", "2026-11-23T10:00", "2026-11-23T12:30"),
        ("en-US", "Sync 11-1pm", "2026-11-23T11:00", "2026-11-23T13:00"),
        ("en-US", "Sync tomorrow from 9 to 5", "2026-11-24T09:00", "2026-11-24T17:00"),
        ("en-US", "Sync tomorrow from 9 to 17", "2026-11-24T09:00", "2026-11-24T17:00"),
        ("en-US", "Sync tomorrow from 9:30 to 11", "2026-11-24T09:30", "2026-11-24T11:00"),
        ("en-US", "Sync tomorrow between 2 and 3pm", "2026-11-24T14:00", "2026-11-24T15:00"),
        ("en-US", "Sync tomorrow noon-1pm", "2026-11-24T12:00", "2026-11-24T13:00"),
        ("de-DE", "Sync morgen 9-17 Uhr", "2026-11-24T09:00", "2026-11-24T17:00"),
        ("de-DE", "Sync morgen von 9 Uhr bis 17 Uhr", "2026-11-24T09:00", "2026-11-24T17:00"),
        ("fr-FR", "Point demain 9h-10h30", "2026-11-24T09:00", "2026-11-24T10:30"),
        ("es-ES", "Reunión mañana de 9 a 17", "2026-11-24T09:00", "2026-11-24T17:00"),
    ],
)
def test_ranges_give_start_and_end(locale: str, text: str, start: str, end: str) -> None:
    draft = parse(text, locale)
    assert draft.length_given
    assert (draft.start, draft.end) == (
        datetime.fromisoformat(f"{start}:00+01:00"),
        datetime.fromisoformat(f"{end}:00+01:00"),
    )


def test_a_length_in_brackets_leaves_no_empty_brackets() -> None:
    draft = parse("Sync tomorrow 3pm (45 min)")
    assert draft.subject == "Sync"
    assert draft.end == datetime.fromisoformat("2026-11-24T15:45:00+01:00")
