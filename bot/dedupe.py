"""Deduplication stores: "have I seen this id before?" with a time-to-live.

Platforms redeliver events they think were lost (Slack retries an event up to three times, with
the same ``event_id``), so an adapter asks :meth:`DedupeStore.first_time` before acting and
drops repeats. :class:`MemoryDedupe` serves one process; several replicas need a shared store
(Redis) so that a retry reaching another replica is still dropped.

The check runs before the ack, and Slack wants the ack within 3 seconds, so a shared store is
used through :class:`FallbackDedupe`: the shared answer must come within
:data:`DEDUPE_BUDGET` seconds, and every id is also kept in an in-process
:class:`MemoryDedupe`. When the shared store is slow or down, that local memory decides, so
retries reaching this replica are still dropped (a retry reaching another replica during the
outage may be answered twice; one reply per replica at most).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from cachetools import TLRUCache

from bot.errors import StoreUnavailable

_log = logging.getLogger(__name__)

#: How long an id is remembered, in seconds. Slack's last retry comes about 30 minutes after
#: the first delivery (https://api.slack.com/apis/events-api#retries).
DEFAULT_DEDUPE_TTL = 60 * 60
#: Seconds the shared store may take to answer :meth:`FallbackDedupe.first_time`; the whole ack
#: must reach Slack within 3 s (https://api.slack.com/apis/events-api#responding).
DEDUPE_BUDGET = 0.5


class DedupeStore(Protocol):
    """Remembers ids for a while. May raise :class:`~bot.errors.StoreUnavailable`."""

    async def first_time(self, key: str, ttl: float = DEFAULT_DEDUPE_TTL) -> bool:
        """Record ``key`` for ``ttl`` seconds; True when it was not already recorded."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def _expires(key: str, ttl: float, now: float) -> float:
    """When an id recorded at ``now`` for ``ttl`` seconds is forgotten (TLRUCache's ``ttu``)."""
    return now + ttl


class MemoryDedupe:
    """A :class:`DedupeStore` in one process, bounded to ``max_keys`` entries (oldest go first).

    A :class:`cachetools.TLRUCache` of id -> ttl: each id expires ``ttl`` seconds after it was
    recorded (its own ttl, so :meth:`first_time`'s argument holds), expired ids are dropped on
    the next write, and when ``max_keys`` are held the least recently recorded goes first (a
    membership test does not count as use).

    Args:
        max_keys: most ids kept; at Slack's retry window this is far more than one app sees.
        clock: seconds (monotonic); tests pass a fake.
    """

    def __init__(
        self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._seen: TLRUCache[str, float, float] = TLRUCache(max_keys, _expires, clock)

    async def first_time(self, key: str, ttl: float = DEFAULT_DEDUPE_TTL) -> bool:
        """See :meth:`DedupeStore.first_time`."""
        if key in self._seen:  # False once its ttl has passed
            return False
        self._seen[key] = ttl
        return True

    async def close(self) -> None:
        """Forget everything."""
        self._seen.clear()


class FallbackDedupe:
    """A shared :class:`DedupeStore` with a time budget and an in-process memory beside it.

    :meth:`first_time` asks the in-process :class:`MemoryDedupe` first (an id seen here is a
    repeat, whatever the shared store says, e.g. after Redis lost its data), then the shared
    store. When the shared store raises :class:`~bot.errors.StoreUnavailable` or takes longer
    than ``budget`` seconds, the local answer stands and ``on_fallback`` is called.

    Args:
        shared: e.g. :class:`bot.redis_backend.RedisDedupe`.
        budget: seconds the shared store may take.
        local: the in-process memory (default: a new :class:`MemoryDedupe`).
        on_fallback: called once per fallback (adapters count ``dedupe_unavailable``).
    """

    def __init__(
        self,
        shared: DedupeStore,
        *,
        budget: float = DEDUPE_BUDGET,
        local: MemoryDedupe | None = None,
        on_fallback: Callable[[], None] | None = None,
    ) -> None:
        self.shared = shared
        self.local = local if local is not None else MemoryDedupe()
        self.budget = budget
        self._on_fallback = on_fallback

    async def first_time(self, key: str, ttl: float = DEFAULT_DEDUPE_TTL) -> bool:
        """See :meth:`DedupeStore.first_time`. Never raises; returns within about
        ``budget`` seconds."""
        if not await self.local.first_time(key, ttl):
            return False
        try:
            return await asyncio.wait_for(self.shared.first_time(key, ttl), self.budget)
        except (StoreUnavailable, TimeoutError) as exc:
            reason = str(exc) or f"no answer within {self.budget} s"
            _log.warning("shared dedupe unavailable, using this process's memory: %s", reason)
            if self._on_fallback is not None:
                self._on_fallback()
            return True

    async def close(self) -> None:
        """Close the shared store and forget the local ids."""
        try:
            await self.shared.close()
        finally:
            await self.local.close()
