"""Pace posts per channel: Slack allows roughly one message per second per channel.

https://api.slack.com/apis/rate-limits#posting-messages: "1 message per second per channel,
short bursts allowed". Posting faster gets HTTP 429, which the Web client's retry handler
absorbs, but pacing first keeps a flow's messages in order and off the rate limiter.

Why not aiolimiter's ``AsyncLimiter`` (the same leaky bucket): it is one bucket that waits on
the event loop's clock, so the map of channels and its pruning would stay here, while
:meth:`ChannelPacer.reserve` (the delay, without waiting) and the fake clock the tests drive
would go; and importing it loads ``importlib.metadata`` just to read its own version, about
10 ms more on the Slack start-up (issue 15).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

#: Seconds between two posts to one channel.
DEFAULT_INTERVAL = 1.0
#: Posts allowed at once before pacing starts ("short bursts allowed").
DEFAULT_BURST = 3


class ChannelPacer:
    """A token bucket per channel: ``burst`` posts at once, then one per ``interval`` seconds.

    ``await pacer.wait(channel)`` returns when a post to ``channel`` may go out. Waits are
    reserved in call order, so concurrent posters to one channel are spaced out too.

    Args:
        interval: seconds per post once the burst is used (0 disables pacing).
        burst: posts allowed back to back.
        clock: monotonic seconds; tests pass a fake.
        sleep: the coroutine used to wait; tests pass a fake.
    """

    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL,
        burst: int = DEFAULT_BURST,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        # channel -> the time at which the bucket is full again (a "virtual" schedule).
        self._full_at: dict[str, float] = {}

    def reserve(self, channel: str) -> float:
        """Take a slot for ``channel`` and return the seconds to wait before using it."""
        if self.interval <= 0:
            return 0.0
        now = self._clock()
        if len(self._full_at) > 10_000:
            self._full_at = {c: t for c, t in self._full_at.items() if t > now}
        window = self.interval * self.burst
        full_at = max(self._full_at.get(channel, now), now)
        self._full_at[channel] = full_at + self.interval
        # The bucket holds `burst` slots; a post must wait until its slot is within the window.
        return max(0.0, full_at + self.interval - window - now)

    async def wait(self, channel: str) -> None:
        """Wait until a post to ``channel`` may go out."""
        delay = self.reserve(channel)
        if delay > 0:
            await self._sleep(delay)
