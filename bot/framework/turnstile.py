"""Spreads a burst of activities over passes of the event loop."""

from __future__ import annotations

import asyncio


class Turnstile:
    """Lets at most `per_pass` requests start work in each pass of the event loop.

    A pass of the loop runs every callback that is ready when it begins. When 200 people send
    /meet in the same second, 200 turns would otherwise each run their first step in one pass:
    the loop stalls for tens of milliseconds and every timer and reply waits. Each request holds
    a slot for exactly one pass; the others wait, in order, for almost nothing.
    """

    def __init__(self, per_pass: int) -> None:
        self._slots = asyncio.Semaphore(per_pass)

    async def enter(self) -> None:
        async with self._slots:
            await asyncio.sleep(0)  # hold the slot until the next pass
