"""The time zone each person chose with /timezone, for clients that send none or a wrong one."""

from __future__ import annotations

import logging

from bot.identity.users import TeamsUser
from bot.meetings.request import person_key
from bot.state.storage import SqliteStorage
from dialogs.zones import zone_from_text

log = logging.getLogger(__name__)


class ChosenZones:
    """One zone per person, across chats; kept until they choose another or go back to Teams'."""

    def __init__(self, storage: SqliteStorage) -> None:
        self._storage = storage

    async def get(self, user: TeamsUser) -> str | None:
        """The zone `user` chose, as dialogs.zones writes it, or None."""
        key = _key(user)
        item = (await self._storage.read([key])).get(key)
        zone = item.get("zone") if isinstance(item, dict) else None
        if not isinstance(zone, str):
            return None
        try:
            zone_from_text(zone)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            log.warning("dropped a chosen zone that no longer names one")
            return None
        return zone

    async def choose(self, user: TeamsUser, zone: str) -> None:
        """Remember `zone`, text dialogs.zones wrote for a zone it resolved (never user text)."""
        await self._storage.write({_key(user): {"zone": zone}})

    async def forget(self, user: TeamsUser) -> None:
        await self._storage.delete([_key(user)])


def _key(user: TeamsUser) -> str:
    return f"zone/{person_key(user)}"
