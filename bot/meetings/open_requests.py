"""The request each person has open on a card, one per person and conversation.

A card (the confirmation, or the form in group chats and channels) belongs to one request. Its
buttons name that request, so a press on an older card, or by someone else, is told apart from
a press on the card that is current. Kept encrypted (subjects are the user's words) and for a
limited time.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.identity.users import TeamsUser
from bot.meetings.request import WAIT_HOURS, MeetingRequest, person_key, seal, unseal
from bot.state.keyring import Cipher
from bot.state.store import Store

log = logging.getLogger(__name__)

# What the requester's card shows while the request is open, and after Create was pressed.
CONFIRM, EDIT, SUBMITTED = "confirm", "edit", "submitted"


@dataclass(frozen=True)
class OpenRequest:
    ask: MeetingRequest
    card_id: str | None  # the message that shows it
    view: str  # CONFIRM, EDIT or SUBMITTED


class OpenRequests:
    def __init__(
        self, storage: Store, fernet: Cipher, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._storage = storage
        self._fernet = fernet
        self._clock = clock

    @staticmethod
    def key(user: TeamsUser, conversation_id: str) -> str:
        """Where `user`'s open request in this conversation is stored."""
        # Conversation ids are long and hold ';' and ':': the key keeps a fixed-size digest.
        conversation = uuid.uuid5(uuid.NAMESPACE_URL, f"meet-bot/{conversation_id}")
        return f"open/{person_key(user)}/{conversation}"

    async def get(self, user: TeamsUser, conversation_id: str) -> OpenRequest | None:
        """`user`'s request in this conversation, if one is open and not too old."""
        key = self.key(user, conversation_id)
        item = (await self._storage.read([key])).get(key)
        if item is None or not self._clock() < float(item.get("expires", 0)):
            return None
        return self._read(item)

    async def sweep(self, *, limit: int = 1000) -> list[OpenRequest]:
        """Forget requests left open too long; those whose card still has buttons, returned."""
        stale = await self._storage.read(
            await self._storage.expired("open/", self._clock(), limit=limit)
        )
        if stale:
            await self._storage.delete(list(stale))
        ended = (self._read(item) for item in stale.values())
        return [r for r in ended if r is not None and r.card_id and r.view != SUBMITTED]

    def _read(self, item: dict[str, Any]) -> OpenRequest | None:
        ask = unseal(item.get("sealed"), self._fernet)
        view = item.get("view")
        card_id = item.get("card_id")
        if ask is None or view not in (CONFIRM, EDIT, SUBMITTED):
            log.warning("dropped an open request that could not be read")
            return None
        return OpenRequest(
            ask,
            card_id if isinstance(card_id, str) else None,
            str(view),
        )

    async def put(self, request: OpenRequest) -> None:
        """Open (or update) the request; it replaces any other of that person in that chat."""
        await self._storage.write(
            {
                self.key(request.ask.user, request.ask.address.conversation_id): {
                    "sealed": seal(request.ask, self._fernet),
                    "card_id": request.card_id,
                    "view": request.view,
                    "expires": self._clock() + WAIT_HOURS * 3600,
                }
            }
        )

    async def show(self, request: OpenRequest, view: str) -> OpenRequest:
        changed = replace(request, view=view)
        await self.put(changed)
        return changed

    async def close(self, request: OpenRequest) -> None:
        """Forget the request, unless a newer one has taken its place meanwhile."""
        key = self.key(request.ask.user, request.ask.address.conversation_id)
        current = await self.get(request.ask.user, request.ask.address.conversation_id)
        if current is not None and current.ask.key == request.ask.key:
            await self._storage.delete([key])
