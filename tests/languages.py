"""Languages for tests that build cards and replies directly."""

from __future__ import annotations

from bot.conversation.catalogs import read_catalogs
from dialogs.language import Language, Languages

# What a Teams client set to en-US reads: English, as the United States writes times.
EN = Languages({}).pick("en-US")


def shipped(tag: str) -> Language:
    """The language the bot answers `tag` in, from the catalogs it ships."""
    return read_catalogs().pick(tag)
