"""Requests waiting for their requester: to sign in, or to press Retry or Create another.

Each request waits on its own, with its own reply address, so a sign-in finishes every one of
them in the chat where it was asked. Kept encrypted (subjects are the user's words) and for a
limited time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.identity.users import TeamsUser
from bot.meetings.request import WAIT_HOURS, MeetingRequest, person_key, seal, unseal
from bot.state.keyring import Cipher
from bot.state.store import ETagConflict, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Waiting:
    ask: MeetingRequest
    expired: bool
    card_id: str | None  # the card that says it waits: its answer takes that card's place
    for_sign_in: bool = False
    problem: str = ""  # what its card says went wrong (our words)
    another: bool = False  # it may exist: only a new request (Create another) is offered


class WaitingRequests:
    def __init__(
        self, storage: Store, fernet: Cipher, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._storage = storage
        self._fernet = fernet
        self._clock = clock

    async def keep(
        self,
        ask: MeetingRequest,
        *,
        for_sign_in: bool,
        card_id: str | None = None,
        problem: str = "",
        another: bool = False,
    ) -> None:
        """Keep `ask`: until its requester signs in (`for_sign_in`), or presses a button."""
        expires = self._clock() + WAIT_HOURS * 3600
        await self._storage.write(
            {
                _key(ask.key): {
                    "expires": expires,
                    "for_sign_in": for_sign_in,
                    "card_id": card_id,
                    "problem": problem,
                    "another": another,
                    "sealed": seal(ask, self._fernet),
                    "e_tag": "*",
                }
            }
        )

    async def peek(self, ask_key: str) -> Waiting | None:
        """Request `ask_key` if it waits (and has not expired), left in place."""
        key = _key(ask_key[:200])
        item = (await self._storage.read([key])).get(key)
        if item is None or item.get("taken"):
            return None
        waiting = self._read(item)
        return waiting if waiting is not None and not waiting.expired else None

    async def take(self, ask_key: str) -> Waiting | None:
        """The request `ask_key` (see MeetingRequest.key), removed; None if it is not waiting."""
        return await self._take(_key(ask_key))

    async def take_signed_in(self, user: TeamsUser) -> list[Waiting]:
        """Every request of `user` that waited for a sign-in, removed."""
        taken = []
        for key in await self._storage.keys(f"waiting/{person_key(user)}/", limit=100):
            if (waiting := await self._take(key, only_for_sign_in=True)) is not None:
                taken.append(waiting)
        return taken

    async def sweep(self, *, limit: int = 1000) -> list[Waiting]:
        """Forget requests that waited too long (and any a crash left half taken with them).

        Returns the ones that expired untaken, so their cards can say so."""
        stale = await self._storage.read(
            await self._storage.expired("waiting/", self._clock(), limit=limit)
        )
        if stale:
            await self._storage.delete(list(stale))
        expired = (self._read(item) for item in stale.values() if not item.get("taken"))
        return [waiting for waiting in expired if waiting is not None]

    async def _take(self, key: str, *, only_for_sign_in: bool = False) -> Waiting | None:
        item = (await self._storage.read([key])).get(key)
        if item is None or (only_for_sign_in and item.get("for_sign_in") is not True):
            return None
        try:
            # Guarded by the ETag we read, so two sign-ins racing resume a request once.
            await self._storage.write({key: {**item, "taken": True}})
        except ETagConflict:
            return None
        if item.get("taken"):
            return None
        await self._storage.delete([key])
        return self._read(item)

    def _read(self, item: dict[str, object]) -> Waiting | None:
        ask = unseal(item.get("sealed"), self._fernet)
        if ask is None:
            log.warning("dropped a waiting request that could not be read")
            return None
        card_id, problem = item.get("card_id"), item.get("problem")
        return Waiting(
            ask,
            expired=not self._clock() < float(str(item["expires"])),
            card_id=card_id if isinstance(card_id, str) else None,
            for_sign_in=item.get("for_sign_in") is True,
            problem=problem if isinstance(problem, str) else "",
            another=item.get("another") is True,
        )


def _key(ask_key: str) -> str:
    return f"waiting/{ask_key}"
