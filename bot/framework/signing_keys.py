"""Bot Framework's token-signing keys, fetched without blocking and within a deadline."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

# Metadata and keys together, well inside the 15 seconds Bot Framework waits for an answer.
FETCH_TIMEOUT_SECONDS = 5.0
# Microsoft rotates these keys over weeks; botbuilder refreshes daily, and at most hourly
# when a token names a key it does not know.
_REFRESH_SECONDS = 24 * 3600
_UNKNOWN_KEY_REFRESH_SECONDS = 3600
# With keys in hand, a failed refresh is tried again after this long, not on every request.
_RETRY_FAILED_REFRESH_SECONDS = 60.0


class SigningKeysUnavailable(Exception):
    """The keys that sign Bot Framework's tokens could not be fetched: a token can be judged
    neither valid nor invalid, so the sender should try again later (503, not 401)."""


class SigningKeys:
    """One metadata URL's signing keys, in the shape botbuilder's JwtTokenExtractor asks for.

    botbuilder's own fetcher calls `requests.get` without a timeout inside a coroutine: it
    stalls every turn while it waits, forever if the endpoint hangs, and its failures look
    like a bad token. This one uses the shared client, bounded by `timeout`, one fetch at a
    time, and raises SigningKeysUnavailable.
    """

    def __init__(
        self, url: str, http: httpx.AsyncClient, *, timeout: float = FETCH_TIMEOUT_SECONDS
    ) -> None:
        self.url = url
        self._http = http
        self._timeout = timeout
        self._keys: list[dict[str, Any]] = []
        self._fetched_at = -float("inf")  # time.monotonic() of the last successful fetch
        self._retry_at = -float("inf")
        self._attempts = 0
        self._last_failure: SigningKeysUnavailable | None = None
        self._lock = asyncio.Lock()

    async def get(self, key_id: str) -> _SigningKey | None:
        """The key `key_id` names (None: no such key), refreshing the keys when they are due."""
        now = time.monotonic()
        if now - self._fetched_at > _REFRESH_SECONDS and (not self._keys or now >= self._retry_at):
            await self._refresh()
        key = self._find(key_id)
        now = time.monotonic()
        if (
            key is None
            and now - self._fetched_at > _UNKNOWN_KEY_REFRESH_SECONDS
            and (not self._keys or now >= self._retry_at)
        ):
            await self._refresh()
            key = self._find(key_id)
        return key

    async def _refresh(self) -> None:
        attempt = self._attempts
        async with self._lock:
            if self._attempts != attempt:
                # A fetch ended (well or not) while this request waited: one fetch answers
                # every request that arrived during it, rather than each waiting out its own.
                if self._last_failure is not None and not self._keys:
                    raise SigningKeysUnavailable(*self._last_failure.args)
                return
            try:
                self._keys = await self._fetch()
            except SigningKeysUnavailable as exc:
                self._last_failure = exc
                self._retry_at = time.monotonic() + _RETRY_FAILED_REFRESH_SECONDS
                if not self._keys:
                    raise
                # Keys a day old still check tokens signed with them; Teams' messages go on.
                log.warning("refreshing Bot Framework signing keys failed; using the last ones")
                return
            else:
                self._fetched_at = time.monotonic()
                self._last_failure = None
            finally:
                # Counted when it ends: requests that came during it see a finished attempt.
                self._attempts += 1

    async def _fetch(self) -> list[dict[str, Any]]:
        try:
            async with asyncio.timeout(self._timeout):
                metadata = await self._get_json(self.url)
                keys = (await self._get_json(str(metadata["jwks_uri"])))["keys"]
        except TimeoutError:
            raise SigningKeysUnavailable(
                f"no signing keys from {self.url} within {self._timeout:g} s"
            ) from None
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise SigningKeysUnavailable(
                f"no signing keys from {self.url}: {type(exc).__name__}"
            ) from exc
        if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
            raise SigningKeysUnavailable(f"no signing keys from {self.url}: not a key set")
        return keys

    async def _get_json(self, url: str) -> Any:
        response = await self._http.get(url)
        response.raise_for_status()
        return response.json()

    def _find(self, key_id: str) -> _SigningKey | None:
        for key in self._keys:
            if key.get("kid") == key_id:
                public_key = RSAAlgorithm.from_jwk(json.dumps(key))
                return _SigningKey(public_key, key.get("endorsements") or [])
        return None


class _SigningKey:
    """What JwtTokenExtractor reads of a key: the public key and the channels it signs for."""

    def __init__(self, public_key: Any, endorsements: list[str]) -> None:
        self.public_key = public_key
        self.endorsements = endorsements


def install_signing_keys(urls: list[str], http: httpx.AsyncClient) -> None:
    """Make botbuilder's token validation fetch the keys at `urls` with SigningKeys.

    botbuilder keeps one fetcher per metadata URL in a class-wide dict and offers no other
    way in; each app replaces the entries with its own, over its own client.
    """
    for url in urls:
        JwtTokenExtractor.metadataCache[url] = SigningKeys(url, http)
