"""Whose clock a request is read on: the zone a person chose, else the one their client sends.

Teams clients send the device's zone with every message; some clients send none, or UTC. A
person fixes that with `/timezone <city or zone>`, kept per person until `/timezone auto` (or
a year unused: bot.meetings.chosen_zones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from botbuilder.core import TurnContext

from bot.conversation.teams import client_timezone, teams_user, user_language
from bot.meetings.chosen_zones import ChosenZones
from dialogs.language import Languages
from dialogs.zones import looks_default, zone_from_text, zone_named, zone_to_text

# Longer than any IANA name ("America/Argentina/ComodRivadavia" is 32), so never a lookup.
MAX_ZONE_CHARS = 64
_BACK_TO_TEAMS = ("auto", "reset", "teams")


@dataclass(frozen=True)
class UserZone:
    zone: tzinfo
    chosen: bool  # by the person, with /timezone

    @property
    def text(self) -> str:
        return zone_to_text(self.zone)

    @property
    def guessed(self) -> bool:
        """Nobody chose it and it looks like a client's default: the card offers /timezone."""
        return not self.chosen and looks_default(self.text)


class TimeZones:
    def __init__(
        self,
        chosen: ChosenZones,
        *,
        default_timezone: str,
        clock: Callable[[], datetime],
        languages: Languages,
    ) -> None:
        self._chosen = chosen
        self._default = default_timezone
        self._clock = clock
        self._languages = languages

    async def of(self, turn_context: TurnContext) -> UserZone:
        """The sender's zone: their choice, else their client's, else the bot's default."""
        activity = turn_context.activity
        chosen = await self._chosen.get(teams_user(activity))
        if chosen is not None:
            return UserZone(zone_from_text(chosen), chosen=True)
        return UserZone(client_timezone(activity) or zone_from_text(self._default), chosen=False)

    async def command(self, turn_context: TurnContext, argument: str) -> None:
        """`/timezone` shows the zone in use; with a city or zone it sets it; `auto` forgets."""
        user = teams_user(turn_context.activity)
        lang = user_language(turn_context.activity, self._languages)
        _ = lang.gettext
        if not argument:
            current = await self.of(turn_context)
            shown = (
                # Translators: /timezone, its examples and auto are what the bot reads.
                _(
                    "Your time zone is {zone} (you chose it). To change it, send /timezone and "
                    "a city or zone, for example /timezone Berlin or /timezone "
                    "America/New_York; /timezone auto goes back to the one Teams sends.",
                    zone=current.text,
                )
                if current.chosen
                else _(
                    "Your time zone is {zone} (from your Teams app). To change it, send "
                    "/timezone and a city or zone, for example /timezone Berlin or /timezone "
                    "America/New_York; /timezone auto goes back to the one Teams sends.",
                    zone=current.text,
                )
            )
            await turn_context.send_activity(shown)
            return
        if argument.lower() in _BACK_TO_TEAMS:
            await self._chosen.forget(user)
            current = await self.of(turn_context)
            await turn_context.send_activity(
                _("I'll use the zone your Teams app sends: {zone} for now.", zone=current.text)
            )
            return
        zone = zone_named(argument) if len(argument) <= MAX_ZONE_CHARS else None
        if zone is None:
            await turn_context.send_activity(
                _(
                    "I don't know a time zone called '{name}'. Send a city or zone, for "
                    "example /timezone Berlin or /timezone America/New_York.",
                    name=argument[:40],
                )
            )
            return
        await self._chosen.choose(user, zone_to_text(zone))
        now = self._clock().astimezone(zone)
        await turn_context.send_activity(
            _(
                "Your time zone is now {zone}, where it's {time}. I'll read and show your "
                "meeting times in it.",
                zone=zone_to_text(zone),
                time=lang.time(now),
            )
        )
