"""Deduplication stores: "have I seen this id before?" with a time-to-live.

Platforms redeliver events they think were lost (Slack retries an event up to three times, with
the same ``event_id``), so an adapter asks :meth:`DedupeStore.first_time` before acting and
drops repeats. :class:`MemoryDedupe` serves one process; several replicas need a shared store
(Redis) so that a retry reaching another replica is still dropped.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

#: How long an id is remembered, in seconds. Slack's last retry comes about 30 minutes after
#: the first delivery (https://api.slack.com/apis/events-api#retries).
DEFAULT_DEDUPE_TTL = 60 * 60


class DedupeStore(Protocol):
    """Remembers ids for a while. May raise :class:`~bot.errors.StoreUnavailable`."""

    async def first_time(self, key: str, ttl: float = DEFAULT_DEDUPE_TTL) -> bool:
        """Record ``key`` for ``ttl`` seconds; True when it was not already recorded."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryDedupe:
    """A :class:`DedupeStore` in one process, bounded to ``max_keys`` entries (oldest go first).

    Args:
        max_keys: most ids kept; at Slack's retry window this is far more than one app sees.
        clock: seconds (monotonic); tests pass a fake.
    """

    def __init__(
        self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max = max_keys
        self._clock = clock

    async def first_time(self, key: str, ttl: float = DEFAULT_DEDUPE_TTL) -> bool:
        """See :meth:`DedupeStore.first_time`."""
        now = self._clock()
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now and len(self._seen) < self._max:
                break
            del self._seen[oldest]
        known = self._seen.get(key)
        if known is not None and known > now:
            return False
        self._seen[key] = now + ttl
        self._seen.move_to_end(key)
        return True

    async def close(self) -> None:
        """Forget everything."""
        self._seen.clear()
