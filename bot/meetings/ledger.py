"""At most one meeting per request, whatever fails: created, not created, or honestly unknown.

A request (identified by the activity that asked) is claimed atomically in the storage before
Graph is called and its outcome recorded after. A Teams retry, a second press of a button or a
second process sharing the storage then gets the first meeting back instead of making another.

A claim is released only when the create certainly did not reach Graph, or when repeating it is
safe (createOrGet with the request's externalId). A plain create that may have reached Graph
(a read timeout, a lost connection, a 5xx, a crash before recording) leaves the request
*unknown*, and it stays so: no clock ever turns it back into free.

Each record is kept until `keep_after_end_seconds` after its meeting's end (after the request,
if that is later), then deleted by the storage's purge. That outlives everything that can ask
for the same request again: a Teams redelivery (minutes), a card's buttons and a request waiting
for its requester (24 hours), and an answer still owed (until the meeting's end, at least 24
hours); the setting's lower bound of two days keeps it so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from cryptography.fernet import InvalidToken

from bot.identity.tokens import NoWorkAccount, SignInFailed
from bot.identity.users import SignInRequired
from bot.state import codec
from bot.state.keyring import Cipher
from bot.state.store import ETagConflict, Store
from graph import GraphError, GraphOutcomeUnknown, OnlineMeeting

log = logging.getLogger(__name__)


CLAIM_WAIT_SECONDS = 10.0


class RequestInProgress(Exception):
    """Another delivery of this request is creating its meeting right now."""


class OutcomeUnknown(Exception):
    """This request's meeting may or may not exist; it is not created again on its own."""

    def __init__(self, cause: GraphError | None = None) -> None:
        super().__init__("Whether the meeting was created is unknown.")
        self.cause = cause


# Failures that certainly happened before Graph acted (or that Graph refused): the request may
# be tried again. Anything else, a bug or a cancellation included, may have come after.
def _certainly_not_created(error: BaseException) -> bool:
    if isinstance(error, GraphOutcomeUnknown):
        return False
    return isinstance(error, GraphError | SignInRequired | NoWorkAccount | SignInFailed)


class RequestLedger:
    def __init__(
        self,
        storage: Store,
        fernet: Cipher,
        *,
        busy_after_seconds: float,
        keep_after_end_seconds: float,
        wait_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._storage = storage
        # The meeting is kept encrypted: its join link and passcode let anyone join it.
        self._fernet = fernet
        # A claim older than this belongs to a create that should long have ended (or to a
        # process that died): its outcome is reported as unknown. It is never freed.
        self._busy_after = busy_after_seconds
        self._keep_after_end = keep_after_end_seconds
        # How long a delivery waits for another one's create before saying it is in progress.
        self._wait_seconds = CLAIM_WAIT_SECONDS if wait_seconds is None else wait_seconds
        self._clock = clock

    async def once(
        self,
        key: str,
        create: Callable[[], Awaitable[OnlineMeeting]],
        *,
        repeatable: bool,
        ends: datetime,
    ) -> OnlineMeeting:
        """The meeting of request `key`: created by `create` the first time, recalled after.

        `repeatable`: calling `create` again cannot make a second meeting (createOrGet).
        `ends`: when the requested meeting ends; its record is kept for a while after that.
        """
        storage_key = _key(key)
        expires = max(ends.timestamp(), self._clock()) + self._keep_after_end
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_seconds  # monotonic: waiting is not a wall-clock fact
        while not await self._storage.create(storage_key, self._claim(repeatable, expires)):
            item = (await self._storage.read([storage_key])).get(storage_key)
            if item is not None and item.get("state") == "created":
                log.info("request already created; answering with its meeting")
                try:
                    return self._open(item["meeting"])
                except codec.StoredValueError:
                    # Sealed under a key TOKEN_CACHE_KEY no longer holds: it exists, unseen.
                    log.warning("a recorded meeting could not be read; reporting it as unknown")
                    raise OutcomeUnknown from None
            # Repeating is safe only if the first attempt was a createOrGet too (a setting
            # may have changed since): its externalId then finds what it made.
            if item is not None and repeatable and item.get("repeatable") is True:
                break
            if item is not None and item.get("state") == "unknown":
                raise OutcomeUnknown
            if item is not None and not self._clock() - item.get("since", 0) < self._busy_after:
                if await self._mark_unknown(storage_key, item, expires):
                    raise OutcomeUnknown
                continue  # its creator recorded something meanwhile: read it
            if loop.time() > deadline:
                # Still being created, or (no readable claim) something we cannot interpret.
                if item is None:
                    raise OutcomeUnknown
                raise RequestInProgress("This meeting is still being created.")
            await asyncio.sleep(0.2)
        try:
            meeting = await create()
        except BaseException as error:
            if repeatable or _certainly_not_created(error):
                await self._storage.delete([storage_key])  # a retry may try again
                raise
            await self._mark_unknown(storage_key, None, expires)
            if isinstance(error, Exception):  # a cancellation stays one; the claim says unknown
                cause = error if isinstance(error, GraphError) else None
                raise OutcomeUnknown(cause) from error
            raise
        try:
            await self._storage.write(
                {
                    storage_key: {
                        "state": "created",
                        "repeatable": repeatable,
                        "meeting": self._seal(meeting),
                        "expires": expires,
                    }
                }
            )
        except Exception:
            # The meeting exists: the requester still gets its card. A redelivery finds the
            # claim and reports it as in progress, then unknown, never creating another.
            log.exception("could not record a created meeting")
        return meeting

    async def recall(self, key: str) -> OnlineMeeting | None:
        """The meeting request `key` created, if it is known to have created one."""
        storage_key = _key(key)
        item = (await self._storage.read([storage_key])).get(storage_key)
        if item is None or item.get("state") != "created":
            return None
        return self._open(item["meeting"])

    async def _mark_unknown(
        self, storage_key: str, seen: dict[str, Any] | None, expires: float
    ) -> bool:
        """Record that the request's outcome is unknown; False if its creator wrote first."""
        value = {"state": "unknown", "since": self._clock(), "expires": expires}
        if seen is not None:
            value["e_tag"] = seen["e_tag"]  # unless its creator recorded the meeting meanwhile
        try:
            await self._storage.write({storage_key: value})
        except ETagConflict:
            return False
        except Exception:
            log.exception("could not record that a request's outcome is unknown")
        return True

    def _seal(self, meeting: OnlineMeeting) -> str:
        fields = {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(meeting).items()
        }
        return self._fernet.encrypt(codec.dumps(fields).encode()).decode()

    def _open(self, sealed: str) -> OnlineMeeting:
        try:
            fields = codec.loads(self._fernet.decrypt(sealed.encode()).decode())
            return OnlineMeeting.from_fields(fields)
        except (InvalidToken, codec.StoredValueError, KeyError, TypeError, ValueError) as exc:
            raise codec.StoredValueError("the request ledger holds no readable meeting") from exc

    def _claim(self, repeatable: bool, expires: float) -> dict[str, object]:
        return {
            "state": "creating",
            "since": self._clock(),
            "repeatable": repeatable,
            "expires": expires,
        }


def _key(key: str) -> str:
    return f"request/{key}"
