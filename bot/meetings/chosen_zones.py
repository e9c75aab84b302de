"""The time zone each person chose with /timezone, for clients that send none or a wrong one."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from bot.identity.users import TeamsUser
from bot.meetings.request import person_key
from bot.state.store import ETagConflict, Store
from dialogs.zones import zone_from_text

log = logging.getLogger(__name__)

# A chosen zone is forgotten after this long unused: someone who asks for a meeting now and then
# keeps it, and someone who has left stops being remembered. Using it renews it, once a day.
ZONE_DAYS = 365
_RENEW_AFTER_SECONDS = 86400


class ChosenZones:
    """One zone per person, across chats; kept until they choose another, go back to Teams',
    or leave it unused for ZONE_DAYS."""

    def __init__(self, storage: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._storage = storage
        self._clock = clock

    @staticmethod
    def key(user: TeamsUser) -> str:
        """Where `user`'s zone is stored."""
        return f"zone/{person_key(user)}"

    async def get(self, user: TeamsUser) -> str | None:
        """The zone `user` chose, as dialogs.zones writes it, or None. Renews it once a day."""
        key = self.key(user)
        item = (await self._storage.read([key])).get(key)
        if not isinstance(item, dict) or not isinstance(zone := item.get("zone"), str):
            return None
        try:
            zone_from_text(zone)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            log.warning("dropped a chosen zone that no longer names one")
            return None
        expires = item.get("expires")
        if not isinstance(expires, int | float) or expires < self._expiry() - _RENEW_AFTER_SECONDS:
            # Guarded by the ETag read: a zone changed meanwhile is left as it now is.
            with contextlib.suppress(ETagConflict):
                await self._storage.write({key: {**item, "expires": self._expiry()}})
        return zone

    async def choose(self, user: TeamsUser, zone: str) -> None:
        """Remember `zone`, text dialogs.zones wrote for a zone it resolved (never user text)."""
        await self._storage.write({self.key(user): {"zone": zone, "expires": self._expiry()}})

    def _expiry(self) -> float:
        return self._clock() + ZONE_DAYS * 86400

    async def forget(self, user: TeamsUser) -> None:
        await self._storage.delete([self.key(user)])
