"""The storage contract every backend keeps (SQLite, PostgreSQL), and what they share: ETag and
expiry rules, typed errors, and the per-turn prefetch."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import AsyncIterator, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol

from bot.state import codec

log = logging.getLogger(__name__)

# A value that names no expiry of its own is kept this long after its last write. Of what the bot
# keeps, only botbuilder's dialog state does so: a conversation left alone for a day is over.
UNNAMED_LIFETIME_SECONDS = 24 * 3600
# At most this many records are deleted in one purge pass.
PURGE_BATCH = 500


class ETagConflict(KeyError):
    """A write carried an ETag that is no longer current: someone else wrote first."""


class StorageUnavailable(Exception):
    """The database cannot be reached (or refuses connections) right now: nothing was written
    by the call that raised this, and the same call may succeed later."""


class Store(Protocol):
    """botbuilder's Storage (read, write, delete) on records that each have an ETag and an expiry.

    - `write` replaces a stored value only if the value's `e_tag` is None, "*" or the stored
      one (else ETagConflict, and nothing of that call is written); every write gets a new ETag.
    - A dict value's "expires" (seconds since the epoch) is its record's expiry; a value without
      one expires `unnamed_lifetime` after its write. Expired records read as usual until
      `purge` deletes them.
    - Values are plain typed JSON (bot.state.codec); a stored value the bot did not write reads
      as absent.
    - Any call may raise StorageUnavailable.
    """

    async def read(self, keys: list[str]) -> dict[str, Any]: ...

    async def write(self, changes: dict[str, Any]) -> None: ...

    async def delete(self, keys: list[str]) -> None: ...

    async def create(self, key: str, value: dict[str, Any]) -> bool:
        """Write `value` only if `key` is absent; True when this call created it (atomic)."""
        ...

    async def delete_if(self, key: str, field: str, value: str) -> bool:
        """Delete `key` only if its stored `field` is `value` (atomic); True when it did."""
        ...

    async def keys(self, prefix: str, *, limit: int = 1000) -> list[str]:
        """Up to `limit` stored keys that start with `prefix`, in order."""
        ...

    async def expired(self, prefix: str, now: float, *, limit: int = 1000) -> list[str]:
        """Up to `limit` keys starting with `prefix` whose expiry is `now` or earlier, the
        longest expired first."""
        ...

    async def purge(self, now: float, *, limit: int = PURGE_BATCH) -> int:
        """Delete up to `limit` records whose expiry is `now` or earlier; how many it deleted."""
        ...

    async def check(self) -> None:
        """Return if the database answers; StorageUnavailable if not."""
        ...

    def prefetch(self, keys: list[str]) -> contextlib.AbstractAsyncContextManager[None]:
        """Read `keys` in one round trip; inside the block, their first read is answered from it
        (every read, for a key found absent, until it is written through this store)."""
        ...

    def turn(self, key: str, keys: list[str]) -> contextlib.AbstractAsyncContextManager[None]:
        """A turn's block: `key` held across every instance that shares this store (where the
        store cannot lock, ETags catch two turns that race), and `keys` prefetched, read once
        the lock is held."""
        ...


# What a storage's `prefetch` read for the turn running in this context, and which storage read
# it: stored values by key, None where nothing is stored. Each value is handed out once (an
# absence, until written); a write through that storage drops it.
_prefetched: ContextVar[tuple[object, dict[str, Any]] | None] = ContextVar(
    "prefetched", default=None
)


class Prefetching:
    """`read` and `prefetch` for a storage that implements `_read_stored`."""

    async def _read_stored(self, keys: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def prefetch(self, keys: list[str]) -> AsyncIterator[None]:
        """Read `keys` in one round trip; inside the block, the first read of them is answered
        from it (every read, for a key found absent: the turn's view, taken under its lock), as
        long as nothing was written to them through this storage meanwhile.

        A turn reads a few records one after another (its dialog state, the sender's zone, their
        open request): one query instead of one each. A value is handed out once, since its
        reader may change it; tasks the block starts that outlive it read the storage again.
        """
        found = await self._read_stored(keys) if keys else {}
        with self._handing_out(keys, found):
            yield

    def turn(self, key: str, keys: list[str]) -> contextlib.AbstractAsyncContextManager[None]:
        """No lock across processes here: processes sharing the store rely on its ETags (and
        each on its own in-process turn order)."""
        return self.prefetch(keys)

    @contextlib.contextmanager
    def _handing_out(self, keys: list[str], found: dict[str, Any]) -> Iterator[None]:
        """`found` (read for `keys`) answers the first read of each key inside the block."""
        values: dict[str, Any] = {key: found.get(key) for key in keys}
        token = _prefetched.set((self, values))
        try:
            yield
        finally:
            values.clear()
            _prefetched.reset(token)

    async def read(self, keys: list[str]) -> dict[str, Any]:
        keys = list(keys or ())
        values = self._prefetched()
        if values and all(key in values for key in keys):
            # botbuilder reads a state it found empty again at every load: absent stays absent.
            taken = {key: values.pop(key) if values[key] is not None else None for key in keys}
            return {key: value for key, value in taken.items() if value is not None}
        return await self._read_stored(keys)

    def _prefetched(self) -> dict[str, Any] | None:
        prefetched = _prefetched.get()
        return prefetched[1] if prefetched is not None and prefetched[0] is self else None

    def _forget_prefetched(self, keys: Any) -> None:
        if values := self._prefetched():
            for key in keys or ():
                values.pop(key, None)


def expected_etag(change: Any) -> tuple[Any, str | None]:
    """The value to store (a dict without its "e_tag") and the ETag its writer read."""
    if isinstance(change, dict):
        value = dict(change)
        return value, value.pop("e_tag", None)
    return change, getattr(change, "e_tag", None)


def expiry(value: Any, now: float, unnamed_lifetime: float) -> float:
    """When a record holding `value`, written at `now`, expires."""
    named: Any = value.get("expires") if isinstance(value, dict) else None
    if type(named) in (int, float) and math.isfinite(named):
        return float(named)
    return now + unnamed_lifetime


def stored_values(rows: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """Rows of (key, ETag, value text) as values by key, each with its ETag."""
    found = {}
    for key, etag, text in rows:
        try:
            found[key] = with_etag(codec.loads(text), etag)
        except codec.StoredValueError as exc:
            # Not ours (tampered with, corrupt, or another version's format): as if absent.
            log.warning("ignoring an unreadable stored value: %s", exc)
    return found


def with_etag(value: Any, etag: str) -> Any:
    """`value` as read: a dict gets an "e_tag" entry, an object an `e_tag` attribute."""
    if isinstance(value, dict):
        return {**value, "e_tag": etag}
    value.e_tag = etag
    return value


def check_etag(key: str, expected: str | None, current: str | None) -> None:
    if expected not in (None, "*") and current != expected:
        raise ETagConflict(key)


def etag_is_checked(expected: str | None) -> bool:
    """Whether a write carrying `expected` replaces only a record with that ETag."""
    return expected not in (None, "*")


def key_range(prefix: str) -> tuple[str, str]:
    """Bounds of the keys starting with `prefix`: a range on the primary key, no wildcards."""
    return prefix, prefix + "\U0010ffff"
