"""The message catalogs: every message the code shows is translated in every language, with the
same fields, and the committed template is what extraction finds in the code today."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.conversation.catalogs import DOMAIN, LOCALES, ROOT, extract, read_catalogs
from dialogs.request import parse_length, parse_request

LANGUAGES = ["de", "es", "fr", "ja"]
FIELD = re.compile(r"\{([^{}]*)\}")


@pytest.fixture(scope="module")
def in_code() -> Catalog:
    return extract()


def catalog(code: str) -> Catalog:
    with (LOCALES / code / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as file:
        return read_po(file, locale=code)


def ids(messages: Catalog) -> set[str]:
    return {message.id for message in messages if message.id}


def test_the_bot_speaks_english_german_french_spanish_and_japanese() -> None:
    assert sorted(path.name for path in LOCALES.iterdir() if path.is_dir()) == LANGUAGES


def test_the_committed_template_holds_every_message_in_the_code(in_code: Catalog) -> None:
    with (LOCALES / f"{DOMAIN}.pot").open("rb") as file:
        committed = read_po(file)
    # Run `python -m bot.conversation.catalogs` after changing messages.
    assert ids(committed) == ids(in_code)


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_message_is_translated_with_the_same_fields(in_code: Catalog, code: str) -> None:
    translations = catalog(code)
    assert ids(translations) >= ids(in_code), "new messages wait for a translator"
    for message in in_code:
        if not message.id:
            continue
        translated = translations[message.id]
        assert translated.string, f"{code}: no translation of {message.id!r}"
        assert not translated.fuzzy, f"{code}: {message.id!r} is a guess, not a translation"
        assert sorted(FIELD.findall(translated.string)) == sorted(FIELD.findall(message.id)), (
            f"{code}: {message.id!r} has other fields than {translated.string!r}"
        )


def test_every_request_error_template_is_in_the_catalogs(in_code: Catalog) -> None:
    """A template kept in a constant is extracted only where it is marked with N_()."""
    extracted = ids(in_code)
    for path in sorted((ROOT / "dialogs").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for call in ast.walk(tree):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id == "RequestError"
                and call.args
            ):
                continue
            template = call.args[0]
            if isinstance(template, ast.Name):
                template = constants[template.id]
            if isinstance(template, ast.Call):  # N_("...")
                template = template.args[0]
            assert isinstance(template, ast.Constant), ast.dump(call)
            assert template.value in extracted, f"{path.name}: {template.value!r} not extracted"


def test_the_shipped_catalogs_load_as_languages() -> None:
    languages = read_catalogs()
    assert languages.codes == ["en", *LANGUAGES]
    assert languages.pick("ja-JP").gettext("Cancelled.") == "キャンセルしました。"


# Messages whose quoted examples the user may type back: each must be one the parser reads in
# the language it is written in (German, French and Spanish; Japanese keeps English ones).
EXAMPLES = {
    "/meet Design review tomorrow 3pm for 45m": "request",
    "I create Teams meetings with you as the organizer. Try “/meet Design review tomorrow 3pm "
    "for 45m”, or just /meet and I'll ask. Without a length a meeting lasts {length}. Type "
    "cancel to stop a request; /signin and /signout manage your sign-in.": "request",
    "Create a Teams meeting: meet Design review tomorrow 3pm for 45m": "request",
    "Pick one, type something like “Thursday 3pm”, or choose a date and time.": "start",
    "I couldn't read a start time in that. Try “tomorrow 10am”, “in 15 minutes” or “Friday "
    "2pm”.": "start",
    "What time on {day}? Add one, for example 'Friday 2pm' or 'tomorrow 10:30'.": "start",
    "Pick one or type a length like “45m” or “1h30”.": "length",
}
QUOTED = re.compile(r"[“„«「]\s?([^”“»」]+?)\s?[”“»」]")
LOCALE = {"de": "de-DE", "es": "es-ES", "fr": "fr-FR", "ja": "ja-JP"}


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_examples_in_each_language_are_requests_the_bot_reads(code: str) -> None:
    translations = catalog(code)
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    for message, kind in EXAMPLES.items():
        text = translations[message].string
        examples = QUOTED.findall(text) or [text.split(": ", 1)[-1]]
        for example in examples:
            example = example.removeprefix("/meet ").removeprefix("meet ")
            if kind == "length":
                assert parse_length(example, locale=LOCALE[code]), (code, example)
                continue
            draft = parse_request(
                example, now=now, tz=UTC, default_length=timedelta(minutes=30), locale=LOCALE[code]
            )
            assert draft.start is not None, (code, example)
            assert (draft.subject is not None) == (kind == "request"), (code, example)
