"""The turnstile spreads a burst over passes of the event loop, in arrival order."""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.framework.turnstile import Turnstile


async def test_a_burst_goes_through_a_few_per_pass_of_the_loop_in_order() -> None:
    loop = asyncio.get_running_loop()
    passes = 0
    done = False

    def tick() -> None:  # runs once in every pass of the loop
        nonlocal passes
        passes += 1
        if not done:
            loop.call_soon(tick)

    tick()
    turnstile = Turnstile(per_pass=4)
    entered: list[tuple[int, int]] = []

    async def request(n: int) -> None:
        await turnstile.enter()
        entered.append((n, passes))

    await asyncio.gather(*(request(n) for n in range(12)))
    done = True

    per_pass = Counter(seen for _, seen in entered)
    assert max(per_pass.values()) <= 4
    assert len(per_pass) >= 3
    assert [n for n, _ in entered] == list(range(12))  # first come, first served


async def test_a_lone_request_goes_straight_through() -> None:
    turnstile = Turnstile(per_pass=4)
    await asyncio.wait_for(turnstile.enter(), timeout=1)
