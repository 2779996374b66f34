"""Per-channel pacing: a burst, then one post per interval, per channel."""

from __future__ import annotations

import pytest

from adapters.slack.pacing import ChannelPacer


class Clock:
    def __init__(self) -> None:
        self.now = 50.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_burst_then_one_per_interval() -> None:
    clock = Clock()
    pacer = ChannelPacer(interval=1.0, burst=3, clock=clock)
    waits = [pacer.reserve("C1") for _ in range(6)]
    assert waits == pytest.approx([0, 0, 0, 1, 2, 3])
    assert pacer.reserve("C2") == 0, "channels are paced separately"


def test_the_bucket_refills_with_time() -> None:
    clock = Clock()
    pacer = ChannelPacer(interval=1.0, burst=2, clock=clock)
    assert [pacer.reserve("C1") for _ in range(3)] == pytest.approx([0, 0, 1])
    clock.now += 10
    assert [pacer.reserve("C1") for _ in range(2)] == pytest.approx([0, 0])


async def test_wait_sleeps_for_the_reserved_delay() -> None:
    clock = Clock()
    pacer = ChannelPacer(interval=0.5, burst=1, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await pacer.wait("C1")
    assert clock.slept == pytest.approx([0.5, 0.5])


def test_interval_zero_never_waits() -> None:
    pacer = ChannelPacer(interval=0)
    assert all(pacer.reserve("C1") == 0 for _ in range(100))
