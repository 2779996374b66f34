"""The in-process deduplication store."""

from __future__ import annotations

from bot.dedupe import MemoryDedupe


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_id_is_new_once_until_its_ttl_passes() -> None:
    clock = Clock()
    seen = MemoryDedupe(clock=clock)
    assert await seen.first_time("Ev1", ttl=60)
    assert not await seen.first_time("Ev1", ttl=60)
    assert await seen.first_time("Ev2", ttl=60)
    clock.now += 61
    assert await seen.first_time("Ev1", ttl=60), "forgotten after its TTL"


async def test_the_oldest_ids_go_first_when_full() -> None:
    seen = MemoryDedupe(max_keys=3, clock=Clock())
    for key in ("a", "b", "c", "d"):
        assert await seen.first_time(key)
    assert not await seen.first_time("d")
    assert await seen.first_time("a"), "evicted to stay within max_keys"


async def test_close_forgets() -> None:
    seen = MemoryDedupe()
    await seen.first_time("x")
    await seen.close()
    assert await seen.first_time("x")


async def test_each_id_keeps_its_own_ttl() -> None:
    clock = Clock()
    seen = MemoryDedupe(clock=clock)
    assert await seen.first_time("short", ttl=10)
    assert await seen.first_time("long", ttl=100)
    clock.now += 11
    assert await seen.first_time("short")
    assert not await seen.first_time("long")


async def test_a_repeat_does_not_extend_the_ttl() -> None:
    clock = Clock()
    seen = MemoryDedupe(clock=clock)
    assert await seen.first_time("Ev1", ttl=60)
    clock.now += 50
    assert not await seen.first_time("Ev1", ttl=60)
    clock.now += 11
    assert await seen.first_time("Ev1", ttl=60), "60 s from the first delivery, not the repeat"


async def test_expired_ids_make_room_before_live_ones_are_evicted() -> None:
    clock = Clock()
    seen = MemoryDedupe(max_keys=2, clock=clock)
    assert await seen.first_time("old", ttl=1)
    assert await seen.first_time("live", ttl=100)
    clock.now += 2
    assert await seen.first_time("new", ttl=100)
    assert not await seen.first_time("live"), "the expired id went, not the live one"
