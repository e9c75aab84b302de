"""A stand-in for `asyncio.sleep` in a retry policy: records the waits, waits for none."""

from __future__ import annotations


class Sleeps:
    """Records the waits the retry policy asks for, instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
