"""What a requester must still be told, written down before Graph is called.

An entry lives from just before a meeting is created until its answer (the card, or a line
saying what happened) has been posted. One left behind by a process that died is picked up
again later, by this or another process, and answered from the request ledger: the meeting
that was recorded, or an honest "unknown" — never a second meeting.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.meetings.request import MeetingRequest, seal, unseal
from bot.state.keyring import Cipher
from bot.state.store import ETagConflict, Store

log = logging.getLogger(__name__)


# An answer that could not be posted this many times is given up (and logged): a conversation
# the bot was removed from, say.
MAX_TRIES = 5
# An answer no process could post (the bot was stopped) is owed until the meeting's end, and at
# least this long after it was written down; then the storage's purge deletes it. The request
# ledger keeps the outcome longer, so an answer given late is never a second meeting.
OWED_AT_LEAST_HOURS = 24


@dataclass(frozen=True)
class Unanswered:
    ask: MeetingRequest
    replaces: str | None  # the message the answer goes in place of ("Creating…", a card)
    owner: str  # which delivery owes the answer now (see Outbox.record)
    # Its requester had just signed in for it: Graph refusing their token is a configuration
    # error, not a reason to ask them to sign in again.
    after_sign_in: bool = False


class Outbox:
    def __init__(
        self, storage: Store, fernet: Cipher, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._storage = storage
        self._fernet = fernet
        self._clock = clock

    async def record(
        self, ask: MeetingRequest, replaces: str | None, *, after_sign_in: bool = False
    ) -> str | None:
        """Owe `ask` an answer; returns this delivery's token, or None if another already does.

        Only the delivery holding the token strikes the entry, so a redelivery that is answered
        first (say, "still working on it") never cancels what the first one still owes.
        """
        owner = secrets.token_hex(8)
        now = self._clock()
        entry = {
            "since": now,
            "expires": max(ask.end.timestamp(), now + OWED_AT_LEAST_HOURS * 3600),
            "sealed": seal(ask, self._fernet),
            "replaces": replaces,
            "owner": owner,
            "after_sign_in": after_sign_in,
        }
        return owner if await self._storage.create(_key(ask.key), entry) else None

    async def replaces(self, ask: MeetingRequest, owner: str, message_id: str | None) -> None:
        """The answer will go in place of `message_id` (the "Creating…" note just sent)."""
        key = _key(ask.key)
        item = (await self._storage.read([key])).get(key)
        if item is not None and item.get("owner") == owner:
            with contextlib.suppress(ETagConflict):
                await self._storage.write({key: {**item, "replaces": message_id}})

    async def done(self, ask: MeetingRequest, owner: str) -> None:
        await self._storage.delete_if(_key(ask.key), "owner", owner)

    async def overdue(self, older_than: float, *, limit: int = 50) -> list[Unanswered]:
        """Entries older than `older_than` seconds, each taken over by this caller."""
        now = self._clock()
        overdue = []
        items = await self._storage.read(await self._storage.keys("outbox/", limit=1000))
        for key, item in items.items():
            if now - float(item.get("since", 0)) < older_than:
                continue
            tries = int(item.get("tries", 0)) + 1
            if tries > MAX_TRIES:
                log.error("gave up answering a request after %d tries", MAX_TRIES)
                await self._storage.delete([key])
                continue
            owner = secrets.token_hex(8)
            try:  # the next look at this entry is after another `older_than`
                await self._storage.write(
                    {key: {**item, "since": now, "owner": owner, "tries": tries}}
                )
            except ETagConflict:
                continue  # another process took it
            ask = unseal(item.get("sealed"), self._fernet)
            if ask is None:
                log.warning("dropped an outbox entry that could not be read")
                await self._storage.delete([key])
                continue
            replaces = item.get("replaces")
            overdue.append(
                Unanswered(
                    ask,
                    replaces if isinstance(replaces, str) else None,
                    owner,
                    after_sign_in=item.get("after_sign_in") is True,
                )
            )
            if len(overdue) >= limit:
                break
        return overdue


def _key(ask_key: str) -> str:
    return f"outbox/{ask_key}"
