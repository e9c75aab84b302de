"""Requests in German, French and Spanish, chosen by the locale; English is always understood.

Table-driven with a fixed `now` (Monday 23 November 2026, 10:00 in Berlin).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dialogs.request import RequestError, parse_length
from tests.parsing import parse


def expect(locale: str, text: str, subject: str | None, start: str, end: str) -> tuple[str, ...]:
    return (locale, text, subject or "", f"2026-{start}:00+01:00", f"2026-{end}:00+01:00")


CASES = [
    # German: relative days, weekdays, months, times, lengths, ranges.
    expect("de-DE", "Abstimmung heute um 15 Uhr", "Abstimmung", "11-23T15:00", "11-23T15:30"),
    expect("de-DE", "Abstimmung morgen 15:30 Uhr", "Abstimmung", "11-24T15:30", "11-24T16:00"),
    expect("de-DE", "Sync übermorgen um 10", "Sync", "11-25T10:00", "11-25T10:30"),
    expect("de-DE", "Sync uebermorgen um 10", "Sync", "11-25T10:00", "11-25T10:30"),
    expect("de-DE", "Sync am Freitag um 14 Uhr", "Sync", "11-27T14:00", "11-27T14:30"),
    expect("de-DE", "Sync nächsten Montag 9 Uhr", "Sync", "11-30T09:00", "11-30T09:30"),
    expect("de-DE", "Sync Freitag nächste Woche 9 Uhr", "Sync", "12-04T09:00", "12-04T09:30"),
    expect("de-DE", "Workshop 8. Dezember 9 Uhr", "Workshop", "12-08T09:00", "12-08T09:30"),
    expect("de-DE", "Workshop am 8. Dez. um 9 Uhr", "Workshop", "12-08T09:00", "12-08T09:30"),
    expect("de-DE", "Sync 3.12. 15 Uhr", "Sync", "12-03T15:00", "12-03T15:30"),
    expect("de-DE", "Sync 3.12.2026 15.30 Uhr", "Sync", "12-03T15:30", "12-03T16:00"),
    expect("de-DE", "Sync morgen 15 Uhr für 1 Stunde", "Sync", "11-24T15:00", "11-24T16:00"),
    expect("de-DE", "Sync morgen 15 Uhr 30 Minuten", "Sync", "11-24T15:00", "11-24T15:30"),
    expect("de-DE", "Sync morgen 15 Uhr eine halbe Stunde", "Sync", "11-24T15:00", "11-24T15:30"),
    expect("de-DE", "Sync morgen 15 Uhr anderthalb Stunden", "Sync", "11-24T15:00", "11-24T16:30"),
    expect("de-DE", "Sync morgen 15 Uhr 1h30", "Sync", "11-24T15:00", "11-24T16:30"),
    expect("de-DE", "Workshop morgen von 9 bis 17 Uhr", "Workshop", "11-24T09:00", "11-24T17:00"),
    expect("de-DE", "Sync morgen zwischen 9 und 10 Uhr", "Sync", "11-24T09:00", "11-24T10:00"),
    expect("de-DE", "Sync heute Abend um 8", "Sync", "11-23T20:00", "11-23T20:30"),
    expect("de-DE", "Sync morgen früh um halb 8", "Sync", "11-24T07:30", "11-24T08:00"),
    expect("de-DE", "Sync in 2 Stunden", "Sync", "11-23T12:00", "11-23T12:30"),
    expect("de-DE", "Sync jetzt für 45 Minuten", "Sync", "11-23T10:00", "11-23T10:45"),
    expect("de-DE", "Mittag mit Ana morgen 12:30", "Mittag mit Ana", "11-24T12:30", "11-24T13:00"),
    expect("de-DE", "Sync morgen Mittag", "Sync", "11-24T12:00", "11-24T12:30"),
    # French.
    expect("fr-FR", "Point hebdo demain à 16h", "Point hebdo", "11-24T16:00", "11-24T16:30"),
    expect("fr-FR", "Point aujourd'hui à 15h", "Point", "11-23T15:00", "11-23T15:30"),
    expect("fr-FR", "Point aujourd’hui à 15h", "Point", "11-23T15:00", "11-23T15:30"),
    expect("fr-FR", "Point après-demain 10h", "Point", "11-25T10:00", "11-25T10:30"),
    expect("fr-FR", "Point apres-demain 10h", "Point", "11-25T10:00", "11-25T10:30"),
    expect("fr-FR", "Point lundi prochain 10h30", "Point", "11-30T10:30", "11-30T11:00"),
    expect("fr-FR", "Point le 8 décembre à 9h", "Point", "12-08T09:00", "12-08T09:30"),
    expect("fr-FR", "Point mardi 8 décembre 9 h 30", "Point", "12-08T09:30", "12-08T10:00"),
    expect("fr-FR", "Point le 1er décembre à 16 heures", "Point", "12-01T16:00", "12-01T16:30"),
    expect("fr-FR", "Point demain à 16h et demie", "Point", "11-24T16:30", "11-24T17:00"),
    expect("fr-FR", "Point demain 10h pendant 45 minutes", "Point", "11-24T10:00", "11-24T10:45"),
    expect("fr-FR", "Point demain 10h pendant 1h30", "Point", "11-24T10:00", "11-24T11:30"),
    expect("fr-FR", "Point demain 10h une demi-heure", "Point", "11-24T10:00", "11-24T10:30"),
    expect("fr-FR", "Point demain 10h un quart d'heure", "Point", "11-24T10:00", "11-24T10:15"),
    expect("fr-FR", "Atelier demain de 9h à 17h", "Atelier", "11-24T09:00", "11-24T17:00"),
    expect("fr-FR", "Atelier demain de 9 à 17h", "Atelier", "11-24T09:00", "11-24T17:00"),
    expect("fr-FR", "Point demain entre 9h et 10h", "Point", "11-24T09:00", "11-24T10:00"),
    expect("fr-FR", "Point ce soir à 8h", "Point", "11-23T20:00", "11-23T20:30"),
    expect("fr-FR", "Point demain matin à 9", "Point", "11-24T09:00", "11-24T09:30"),
    expect("fr-FR", "Point demain après-midi à 3", "Point", "11-24T15:00", "11-24T15:30"),
    expect("fr-FR", "Point demain à midi", "Point", "11-24T12:00", "11-24T12:30"),
    expect("fr-FR", "Point dans 2 heures", "Point", "11-23T12:00", "11-23T12:30"),
    expect("fr-FR", "Point maintenant", "Point", "11-23T10:00", "11-23T10:30"),
    expect("fr-FR", "Point demain 16h et Marie", "Point et Marie", "11-24T16:00", "11-24T16:30"),
    # Spanish.
    expect("es-ES", "Reunión hoy a las 5 de la tarde", "Reunión", "11-23T17:00", "11-23T17:30"),
    expect("es-ES", "Reunión mañana a las 10", "Reunión", "11-24T10:00", "11-24T10:30"),
    expect("es-ES", "Reunión manana a las 10", "Reunión", "11-24T10:00", "11-24T10:30"),
    expect("es-ES", "Reunión pasado mañana a las 10", "Reunión", "11-25T10:00", "11-25T10:30"),
    expect("es-ES", "Reunión el próximo lunes a las 10", "Reunión", "11-30T10:00", "11-30T10:30"),
    expect("es-ES", "Reunión el lunes que viene a las 10", "Reunión", "11-30T10:00", "11-30T10:30"),
    expect("es-ES", "Reunión el 8 de diciembre a las 9", "Reunión", "12-08T09:00", "12-08T09:30"),
    expect("es-ES", "Reunión 8 de diciembre de 2026 16h", "Reunión", "12-08T16:00", "12-08T16:30"),
    expect("es-ES", "Reunión mañana a las 16 horas", "Reunión", "11-24T16:00", "11-24T16:30"),
    expect("es-ES", "Reunión mañana a las 4 y media", "Reunión", "11-24T16:30", "11-24T17:00"),
    expect("es-ES", "Reunión mañana 10:00 durante 1 hora", "Reunión", "11-24T10:00", "11-24T11:00"),
    expect("es-ES", "Reunión mañana a las 10 media hora", "Reunión", "11-24T10:00", "11-24T10:30"),
    expect(
        "es-ES", "Reunión mañana a las 10 hora y media", "Reunión", "11-24T10:00", "11-24T11:30"
    ),
    expect("es-ES", "Taller mañana de 9 a 17", "Taller", "11-24T09:00", "11-24T17:00"),
    expect(
        "es-ES", "Taller mañana desde las 9 hasta las 11", "Taller", "11-24T09:00", "11-24T11:00"
    ),
    expect("es-ES", "Reunión mañana entre las 9 y las 10", "Reunión", "11-24T09:00", "11-24T10:00"),
    expect(
        "es-ES", "Reunión mañana por la mañana a las 9", "Reunión", "11-24T09:00", "11-24T09:30"
    ),
    expect(
        "es-ES",
        "Reunión de la mañana mañana a las 9",
        "Reunión",
        "11-24T09:00",
        "11-24T09:30",
    ),
    expect("es-ES", "Reunión esta noche a las 9", "Reunión", "11-23T21:00", "11-23T21:30"),
    expect("es-ES", "Reunión en 2 horas", "Reunión", "11-23T12:00", "11-23T12:30"),
    expect("es-ES", "Reunión ahora durante 45 minutos", "Reunión", "11-23T10:00", "11-23T10:45"),
    # English words work in every language.
    expect("de-DE", "Sync tomorrow 3pm for 45m", "Sync", "11-24T15:00", "11-24T15:45"),
    expect("fr-FR", "Sync tomorrow 3pm for 1h30", "Sync", "11-24T15:00", "11-24T16:30"),
    expect("es-ES", "Sync next Monday 10:30 for 1h", "Sync", "11-30T10:30", "11-30T11:30"),
]


@pytest.mark.parametrize(("locale", "text", "subject", "start", "end"), CASES)
def test_reads_requests_in_the_users_language(
    locale: str, text: str, subject: str, start: str, end: str
) -> None:
    draft = parse(text, locale)
    assert (draft.subject or "", draft.start, draft.end) == (
        subject,
        datetime.fromisoformat(start),
        datetime.fromisoformat(end),
    )


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en-US", "Sync morgen 15 Uhr"),  # German words are German users' words only
        ("fr-FR", "Sync mañana a las 10"),
        ("es-ES", "Point demain à 16h"),
    ],
)
def test_another_languages_words_are_not_read(locale: str, text: str) -> None:
    draft = parse(text, locale)
    assert draft.start is None or draft.subject != "Sync"


def test_hier_is_here_in_german_and_yesterday_in_french() -> None:
    assert parse("Sync hier morgen 10 Uhr", "de-DE").subject == "Sync hier"
    with pytest.raises(RequestError, match="'hier' is in the past"):
        parse("Point hier 10h", "fr-FR")


@pytest.mark.parametrize(
    ("locale", "text", "start"),
    [
        # A day-first locale reads 12/3 as 12 March, a month-first one as 3 December.
        ("en-US", "Sync 12/3 10:00", "2026-12-03T10:00:00+01:00"),
        ("en-GB", "Sync 12/3 10:00", "2027-03-12T10:00:00+01:00"),
        ("de-DE", "Sync 12/3 10:00", "2027-03-12T10:00:00+01:00"),
        ("fr-FR", "Sync 12/3 10:00", "2027-03-12T10:00:00+01:00"),
        ("es-ES", "Sync 12/3 10:00", "2027-03-12T10:00:00+01:00"),
        ("en-us", "Sync 12/3 10:00", "2026-12-03T10:00:00+01:00"),
        ("en_GB", "Sync 12/3 10:00", "2027-03-12T10:00:00+01:00"),
        ("de", "Sync 12/3 10:00", "2027-03-12T10:00:00+01:00"),
        ("", "Sync 12/3 10:00", "2026-12-03T10:00:00+01:00"),
        ("xx-YY", "Sync 12/3 10:00", "2026-12-03T10:00:00+01:00"),
        ("en-US", "Sync 12/3/2027 10:00", "2027-12-03T10:00:00+01:00"),
        ("en-GB", "Sync 3/12/27 10:00", "2027-12-03T10:00:00+01:00"),
        # Dots are day first, ISO and year-first dates read the same everywhere.
        ("en-US", "Sync 3.12. 10:00", "2026-12-03T10:00:00+01:00"),
        ("de-DE", "Sync 3.12.2026 10:00", "2026-12-03T10:00:00+01:00"),
        ("de-DE", "Sync 03.12.26 10:00", "2026-12-03T10:00:00+01:00"),
        ("en-US", "Sync 2026/12/3 10:00", "2026-12-03T10:00:00+01:00"),
        ("en-GB", "Sync 2026-12-03 10:00", "2026-12-03T10:00:00+01:00"),
        ("de-DE", "Sync 2026-12-03T10:00", "2026-12-03T10:00:00+01:00"),
    ],
)
def test_numeric_dates_follow_the_locales_order(locale: str, text: str, start: str) -> None:
    draft = parse(text, locale)
    assert draft.start == datetime.fromisoformat(start)


@pytest.mark.parametrize(
    ("locale", "text", "minutes"),
    [
        ("de-DE", "30 Minuten", 30),
        ("de-DE", "eine halbe Stunde", 30),
        ("de-DE", "1,5 Stunden", 90),
        ("fr-FR", "1h30", 90),
        ("fr-FR", "pendant 45 minutes", 45),
        ("fr-FR", "une demi-heure", 30),
        ("es-ES", "media hora", 30),
        ("es-ES", "durante 1 hora", 60),
        ("es-ES", "una hora y media", 90),
        ("es-ES", "45m", 45),
    ],
)
def test_a_length_on_its_own_in_the_users_language(locale: str, text: str, minutes: int) -> None:
    assert parse_length(text, locale=locale) == timedelta(minutes=minutes)
