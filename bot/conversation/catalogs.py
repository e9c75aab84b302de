"""The message catalogs: gettext .po files, one per language, read once at start-up.

The .po files in `locales/<language>/LC_MESSAGES/` are the source of truth (nothing compiled
is kept). After changing messages in the code, `python -m bot.conversation.catalogs` extracts
them all into `locales/messages.pot` and merges that into each language's catalog (what
`pybabel extract` and `pybabel update` do, with this project's keywords); new or changed
messages then wait there, untranslated, for a translator.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from babel.messages.pofile import read_po, write_po

from dialogs.language import Languages

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
PROJECT = "teams-meet-bot"
ROOT = Path(__file__).resolve().parent.parent.parent
MAPPING = ROOT / "babel.cfg"
# Besides gettext's own names (gettext, N_, _ …): what takes a message as its first argument.
# A RequestError's template and the sign-in errors' text are shown translated.
KEYWORDS = (
    "RequestError",
    "SignInRequired",
    "SignInFailed",
    "PersonalAccount",
    "WrongAccount",
    "NoWorkAccount",
)
# Comments above a message that begin so are shown to its translators.
TRANSLATOR_COMMENT = "Translators:"


def read_catalogs(folder: Path = LOCALES) -> Languages:
    """Every language's catalog in `folder` (blocking: call it once, at start-up)."""
    catalogs = {}
    for path in sorted(folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        code = path.parent.parent.name
        with path.open("rb") as file:
            catalog = read_po(file, locale=code)
        # A fuzzy entry is a guess pybabel made from a similar message: not a translation yet.
        catalogs[code] = {
            message.id: message.string
            for message in catalog
            if isinstance(message.id, str) and message.id and message.string and not message.fuzzy
        }
    return Languages(catalogs)


def extract() -> Catalog:
    """Every message in the code, as `pybabel extract` with the project's keywords finds them."""
    # Imported here, for the tool alone: pybabel's frontend brings in distutils, which would
    # add 20 MB and a second to every bot process that only reads its catalogs.
    from babel.messages.catalog import Catalog
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping

    template = Catalog(project=PROJECT, copyright_holder="Meet bot contributors", charset="utf-8")
    with MAPPING.open() as file:
        methods, options = parse_mapping(file)
    keywords = DEFAULT_KEYWORDS | dict.fromkeys(KEYWORDS)
    for path, _line, message, comments, context in extract_from_dir(
        str(ROOT),
        methods,
        options,
        keywords=keywords,
        comment_tags=(TRANSLATOR_COMMENT,),
        strip_comment_tags=True,
    ):
        template.add(message, None, [(path, None)], auto_comments=comments, context=context)
    return template


def update(folder: Path = LOCALES) -> None:
    """Write messages.pot anew, then merge it into each language's catalog (pybabel update):
    new messages come in untranslated, and ones no longer in the code go. A catalog whose
    messages did not change is left as it is, creation date and all."""
    template = extract()
    pot = folder / f"{DOMAIN}.pot"
    if pot.exists():
        with pot.open("rb") as file:
            before = read_po(file)
        if _messages(before) == _messages(template):
            template.creation_date = before.creation_date
    _write(pot, template)
    for path in sorted(folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with path.open("rb") as file:
            catalog = read_po(file, locale=path.parent.parent.name)
        catalog.update(template)
        _write(path, catalog)


def _messages(catalog: Catalog) -> list[tuple[object, ...]]:
    return [(m.id, m.auto_comments, m.locations) for m in catalog if m.id]


def _write(path: Path, catalog: Catalog) -> None:
    """Write `catalog` to `path`, unless that is what the file already says."""
    text = io.BytesIO()
    # No line numbers: they would change the catalogs with every edit of the code.
    write_po(text, catalog, width=100, include_lineno=False, ignore_obsolete=True)
    if not path.exists() or path.read_bytes() != text.getvalue():
        path.write_bytes(text.getvalue())


if __name__ == "__main__":
    update()
    sys.exit(0)
