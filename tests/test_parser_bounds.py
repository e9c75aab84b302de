"""How much text the parser reads, and how long any text can keep it busy."""

from __future__ import annotations

import contextlib
import time

import pytest

import dialogs.request
from dialogs.request import (
    MAX_COMMAND_CHARS,
    MAX_SUBJECT_CHARS,
    RequestError,
    check_subject,
    parse_length,
)
from tests.parsing import parse

# Repeated, each of these once made some part of the parser slow: a dangling word stripped per
# pass, digit runs and separators a pattern backtracks over, phrases that almost match.
WORST_SHAPES = [
    "at ",
    "for ",
    "9",
    "1 ",
    " ",
    "1.",
    '"',
    "“",
    "- ",
    "-",
    "x at ",
    "at 1 ",
    "1h ",
    "1 h ",
    "3pm ",
    "1:1 ",
    "11-",
    "1,1",
    "12:00 to ",
    "at 3 to ",
    "from 1 ",
    "in 1",
    "on next ",
    "half an ",
    "quarter of ",
    "Dec 3 ",
    "3rd of ",
    "2026-12-01T",
    "for 1 hours 1",
    "٣",
]
# The same for the words of each language, zones and dates, each with the locale that reads it.
LANGUAGE_SHAPES = [
    ("en-US", "3pm ET "),
    ("en-US", "3pm a b c "),
    ("en-US", "3pm Tokyo time "),
    ("en-US", "9am New York "),
    ("en-US", "a.a."),
    ("en-US", "a-a-"),
    ("en-US", "a/a/"),
    ("en-US", "a/b-"),
    ("en-US", "Europe/"),
    ("en-US", "UTC+1 "),
    ("en-US", "GMT-"),
    ("en-US", "(ET) "),
    ("en-US", "1/1 "),
    ("en-US", "12/3/"),
    ("en-US", "1.1."),
    ("en-US", "from 9 to "),
    ("en-US", "between 9 and "),
    ("en-US", "2 days "),
    ("en-US", "last "),
    ("en-US", "ago "),
    ("en-US", "next week "),
    ("de-DE", "15 Uhr "),
    ("de-DE", "von 9 bis "),
    ("de-DE", "zwischen 9 und "),
    ("de-DE", "um halb "),
    ("de-DE", "8. "),
    ("de-DE", "vor 2 "),
    ("de-DE", "letzten "),
    ("de-DE", "nächsten "),
    ("de-DE", "Montag nächste "),
    ("de-DE", "morgen "),
    ("de-DE", "15 Uhr MEZ "),
    ("fr-FR", "de "),
    ("fr-FR", "de 9 "),
    ("fr-FR", "à "),
    ("fr-FR", "15h "),
    ("fr-FR", "16 heures 30 "),
    ("fr-FR", "16h et "),
    ("fr-FR", "1h30 "),
    ("fr-FR", "il y a "),
    ("fr-FR", "heure de "),
    ("fr-FR", "heure de a "),
    ("fr-FR", "lundi dernier "),
    ("es-ES", "a las "),
    ("es-ES", "de la mañana "),
    ("es-ES", "por la "),
    ("es-ES", "8 de diciembre de "),
    ("es-ES", "entre las 9 y "),
    ("es-ES", "el pasado "),
    ("es-ES", "hace "),
    ("es-ES", "hora de "),
    ("es-ES", "y media "),
]


def seconds_to_read(text: str, locale: str = "en-US") -> float:
    """How long the parser works to answer, with a draft or with an explanation: this thread's
    CPU time, so other processes on a busy machine (a parallel test run) don't count."""
    # A language's patterns are compiled once, on its first request, and the index of zone
    # names is built on the first zone named: the time measured is the reading's.
    parse("Sync tomorrow 3pm Tokyo time", locale)
    started = time.thread_time()
    with contextlib.suppress(RequestError):
        parse(text, locale)
    return time.thread_time() - started


@pytest.mark.parametrize("size", [28_000, 100_000])
def test_a_huge_request_is_refused_at_once(size: int) -> None:
    text = ("x " + "at " * size)[:size]
    started = time.perf_counter()
    with pytest.raises(RequestError, match="too long for me to read: keep a request to 1,000"):
        parse(text)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("shape", WORST_SHAPES)
def test_the_longest_request_of_any_shape_is_read_quickly(shape: str) -> None:
    text = ("x " + shape * MAX_COMMAND_CHARS)[:MAX_COMMAND_CHARS]
    assert seconds_to_read(text) < 0.2


@pytest.mark.parametrize("shape", WORST_SHAPES)
def test_reading_time_grows_linearly_even_without_the_cap(
    shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cap bounds the work; this checks the reading itself is linear, so that raising the cap
    # some day cannot bring back the freeze (a quadratic reading took ~30 s on 50 KB).
    monkeypatch.setattr(dialogs.request, "MAX_COMMAND_CHARS", 10**6)
    monkeypatch.setattr(dialogs.request, "MAX_SUBJECT_CHARS", 10**6)
    assert seconds_to_read(("x " + shape * 50_000)[:50_000]) < 1.0


@pytest.mark.parametrize(("locale", "shape"), LANGUAGE_SHAPES)
def test_the_longest_request_in_any_language_is_read_quickly(locale: str, shape: str) -> None:
    text = ("x " + shape * MAX_COMMAND_CHARS)[:MAX_COMMAND_CHARS]
    assert seconds_to_read(text, locale) < 0.2


@pytest.mark.parametrize(("locale", "shape"), LANGUAGE_SHAPES)
def test_reading_any_language_grows_linearly_even_without_the_cap(
    locale: str, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialogs.request, "MAX_COMMAND_CHARS", 10**6)
    monkeypatch.setattr(dialogs.request, "MAX_SUBJECT_CHARS", 10**6)
    assert seconds_to_read(("x " + shape * 50_000)[:50_000], locale) < 1.0


def test_a_request_of_exactly_the_maximum_length_is_read() -> None:
    text = "Sync tomorrow 3pm".ljust(MAX_COMMAND_CHARS)
    assert parse(text).subject == "Sync"
    with pytest.raises(RequestError, match="too long"):
        parse(text + " ")


@pytest.mark.parametrize("template", ['"{}" tomorrow 3pm', "{} tomorrow 3pm"])
def test_a_subject_may_be_as_long_as_graph_takes(template: str) -> None:
    longest = "s" * MAX_SUBJECT_CHARS
    assert parse(template.format(longest)).subject == longest
    with pytest.raises(RequestError, match="subject is too long: keep it to 255 characters"):
        parse(template.format(longest + "s"))


def test_a_subject_is_measured_after_its_spaces_are_tidied() -> None:
    words = " ".join(["word"] * 51)  # 254 characters
    assert parse(f"{words.replace(' ', '   ')} tomorrow 3pm").subject == words


def test_check_subject_tidies_spaces_and_refuses_what_graph_would_not_take() -> None:
    assert check_subject("  Design \n\t review  ") == "Design review"
    assert check_subject(" \n ") == ""
    assert check_subject("s" * MAX_SUBJECT_CHARS) == "s" * MAX_SUBJECT_CHARS
    with pytest.raises(RequestError, match="subject is too long"):
        check_subject("s" * (MAX_SUBJECT_CHARS + 1))


def test_check_subject_is_quick_even_on_a_huge_answer() -> None:
    started = time.perf_counter()
    with pytest.raises(RequestError):
        check_subject("at " * 100_000)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("shape", [*WORST_SHAPES, "0", "45 ", "1h1"])
def test_a_length_on_its_own_is_read_quickly_at_any_size(shape: str) -> None:
    for size in (MAX_COMMAND_CHARS, 100_000):
        started = time.perf_counter()
        parse_length((shape * size)[:size])
        assert time.perf_counter() - started < 0.2


@pytest.mark.parametrize(("locale", "shape"), LANGUAGE_SHAPES)
def test_a_length_in_any_language_is_read_quickly_at_any_size(locale: str, shape: str) -> None:
    parse_length("Sync", locale=locale)
    for size in (MAX_COMMAND_CHARS, 100_000):
        started = time.perf_counter()
        parse_length((shape * size)[:size], locale=locale)
        assert time.perf_counter() - started < 0.2


def test_a_length_longer_than_any_request_is_not_a_length() -> None:
    assert parse_length("4" + " " * MAX_COMMAND_CHARS + "5m") is None
