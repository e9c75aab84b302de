"""Exactly-once meeting creation: one meeting per request, whoever delivers it and how often.

A request (identified by the activity that asked) is claimed atomically in the storage before
Graph is called and its meeting recorded after, so a Teams retry, a second press of a button or a
second process sharing the storage gets the first meeting back instead of making another.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import jsonpickle
from cryptography.fernet import Fernet

from bot.storage import ETagConflict, SqliteStorage
from graph import OnlineMeeting

log = logging.getLogger(__name__)


class RequestInProgress(Exception):
    """Another delivery of this request is creating its meeting right now."""


class RequestLedger:
    def __init__(
        self,
        storage: SqliteStorage,
        fernet: Fernet,
        *,
        wait_seconds: float = 10.0,
        stale_after_seconds: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._storage = storage
        # The meeting is kept encrypted: its join link and passcode let anyone join it.
        self._fernet = fernet
        self._wait_seconds = wait_seconds
        # A claim this old belongs to a process that died; the request may be tried again.
        self._stale_after = stale_after_seconds
        self._clock = clock

    async def once(self, key: str, create: Callable[[], Awaitable[OnlineMeeting]]) -> OnlineMeeting:
        """The meeting of request `key`: created by `create` the first time, recalled after."""
        storage_key = f"request/{key}"
        deadline = self._clock() + self._wait_seconds
        while True:
            if await self._storage.create(storage_key, self._claim()):
                break  # ours to create
            item = (await self._storage.read([storage_key])).get(storage_key)
            if item is None:
                continue  # released a moment ago: claim it
            if item["state"] == "created":
                log.info("request already created; answering with its meeting")
                return self._open(item["meeting"])
            if self._clock() - item["since"] > self._stale_after:
                try:  # take over a claim its process abandoned (ETag-guarded)
                    await self._storage.write({storage_key: {**item, **self._claim()}})
                except ETagConflict:
                    continue
                break
            if self._clock() > deadline:
                raise RequestInProgress("This meeting is still being created.")
            await asyncio.sleep(0.2)
        try:
            meeting = await create()
        except BaseException:
            await self._storage.delete([storage_key])  # nothing was created: a retry may try
            raise
        sealed = self._fernet.encrypt(jsonpickle.encode(meeting).encode()).decode()
        await self._storage.write({storage_key: {"state": "created", "meeting": sealed}})
        return meeting

    def _open(self, sealed: str) -> OnlineMeeting:
        meeting = jsonpickle.decode(self._fernet.decrypt(sealed.encode()).decode())
        if not isinstance(meeting, OnlineMeeting):
            raise TypeError("the request ledger holds something other than a meeting")
        return meeting

    def _claim(self) -> dict[str, object]:
        return {"state": "creating", "since": self._clock()}
