"""Recognising commands in message text: `/meet …`, `meet …`, `/help`, `/timezone …`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CommandName(StrEnum):
    MEET = "meet"
    HELP = "help"
    SIGNIN = "signin"
    SIGNOUT = "signout"
    CANCEL = "cancel"
    TIMEZONE = "timezone"


@dataclass(frozen=True)
class Command:
    name: CommandName | None  # None: the text named no command we know
    word: str
    argument: str


def parse_command(text: str) -> Command:
    """Split text into a command word (slash optional, any case) and the rest."""
    parts = text.split(maxsplit=1)
    word = parts[0].removeprefix("/").lower() if parts else ""
    rest = parts[1] if len(parts) > 1 else ""
    try:
        name: CommandName | None = CommandName(word)
    except ValueError:
        name = None
    return Command(name, word, rest.strip())
