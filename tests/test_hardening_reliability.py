"""Reliability of the core's stores against a real redis-server: the duplicate check keeps its
time budget when Redis hangs, a hung Redis costs one time-out per call (not three), and the
outbox hands each entry to exactly one process, for every store kind.

Redis "hangs" by SIGSTOP: connections are still accepted and commands buffered by the kernel,
but nothing is answered until SIGCONT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.dedupe import DEDUPE_BUDGET, FallbackDedupe
from bot.errors import StoreUnavailable
from bot.metrics import Metrics
from bot.outbox import Outbox, OutboxStore
from bot.redis_backend import RedisDedupe, RedisStore, connect
from bot.sessions import MemoryStore, SQLiteStore
from tests.redis_server import RedisServer


@contextlib.contextmanager
def hung(server: RedisServer) -> Iterator[None]:
    """Freeze ``server`` (SIGSTOP) for the block; it answers again (SIGCONT) afterwards."""
    proc = server._proc  # the test owns this server; RedisServer keeps no public pid
    assert proc is not None
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(proc.pid, signal.SIGCONT)


# ---- 8: the duplicate check on the ack path ---------------------------------------------------


async def test_fallback_dedupe_answers_within_its_budget_and_remembers_locally(
    own_redis: RedisServer,
) -> None:
    client = connect(own_redis.url)
    fallbacks: list[None] = []
    seen = FallbackDedupe(RedisDedupe(client), on_fallback=lambda: fallbacks.append(None))
    other_replica = RedisDedupe(connect(own_redis.url))
    try:
        assert await seen.first_time("Ev-up")
        with hung(own_redis):
            started = time.monotonic()
            assert await seen.first_time("Ev-hung"), "unknown here: handled"
            assert not await seen.first_time("Ev-hung"), "the retry is dropped"
            assert not await seen.first_time("Ev-up"), "seen before the hang: dropped"
            took = time.monotonic() - started
        assert took < DEDUPE_BUDGET + 0.5, f"{took:.2f} s for three checks"
        assert len(fallbacks) == 1, "only the one that asked Redis fell back"
        assert await seen.first_time("Ev-after"), "Redis answers again"
        assert not await other_replica.first_time("Ev-after"), "and is shared again"
    finally:
        await seen.close()
        await client.aclose()  # RedisDedupe leaves its client to the RedisStore
        await other_replica.client.aclose()


async def test_a_hung_redis_costs_one_time_out_per_call(own_redis: RedisServer) -> None:
    """redis-py retried a timed-out command twice: 6.3 s per call with Redis hung."""
    store = RedisStore(connect(own_redis.url))
    try:
        assert await store.ping()
        with hung(own_redis):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await store.get("k", time.time())
            took = time.monotonic() - started
        assert took < 3.0, f"{took:.2f} s"
    finally:
        await store.close()


# ---- 10: the outbox in every store kind ---------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str
) -> AsyncIterator[tuple[OutboxStore, OutboxStore]]:
    """Two handles on one store, as two replicas (or two processes on one SQLite file) see it."""
    made: list[OutboxStore]
    if request.param == "memory":
        one = MemoryStore()
        made = [one, one]
    elif request.param == "sqlite":
        made = [SQLiteStore(tmp_path / "s.sqlite3"), SQLiteStore(tmp_path / "s.sqlite3")]
    else:
        made = [RedisStore(connect(redis_url)), RedisStore(connect(redis_url))]
    yield made[0], made[1]
    for store in {id(s): s for s in made}.values():
        await store.close()


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_an_entry_stays_with_its_owner_until_its_lease_runs_out(
    stores: tuple[OutboxStore, OutboxStore],
) -> None:
    clock = Clock()
    live = Outbox(stores[0], "slack", lease=10, clock=clock)
    other = Outbox(stores[1], "slack", lease=10, clock=clock)
    owed = await live.owe({"n": 1}, session="slack|T|C|1.2|U")
    assert owed is not None and owed.payload["seen"] == 0
    clock.now += 5
    assert await other.claim() == [], "the owner still holds it"
    await live.renew()
    clock.now += 9
    assert await other.claim() == [], "renewed: still held"
    owed.payload["messages"] = ["one"]
    assert await live.save(owed)
    clock.now += 2  # the owner stopped renewing (it died) and its lease ran out
    [taken] = await other.claim()
    assert taken.id == owed.id and taken.payload["messages"] == ["one"]
    await live.renew()
    assert not live.holds(owed), "the old owner learns it lost the entry"
    assert not await live.save(owed), "and can no longer write it"
    await other.done(taken)
    clock.now += 60
    assert await other.claim() == [] and await live.claim() == []


async def test_concurrent_claims_hand_each_entry_to_one_replica(
    stores: tuple[OutboxStore, OutboxStore],
) -> None:
    clock = Clock()
    crashed = Outbox(stores[0], "slack", lease=1, clock=clock)
    for n in range(30):
        assert await crashed.owe({"n": n}, session=f"slack|T|C|{n}|U") is not None
    assert await Outbox(stores[0], "discord", clock=clock).claim() == [], "kinds are separate"
    clock.now += 2
    replicas = [Outbox(stores[i % 2], "slack", lease=60, clock=clock) for i in range(4)]
    rounds = await asyncio.gather(*(r.claim(limit=7) for r in replicas for _ in range(3)))
    claimed = [owed.payload["n"] for batch in rounds for owed in batch]
    assert sorted(claimed) == list(range(30)), "every entry once, none twice"


async def test_release_makes_entries_due_at_once(
    stores: tuple[OutboxStore, OutboxStore],
) -> None:
    clock = Clock()
    stopping = Outbox(stores[0], "slack", lease=60, clock=clock)
    owed = await stopping.owe({"n": 1}, session="slack|T|C|1|U")
    assert owed is not None
    await stopping.release()
    [taken] = await Outbox(stores[1], "slack", clock=clock).claim()
    assert taken.id == owed.id


async def test_the_outbox_gives_up_quickly_on_a_hung_redis(own_redis: RedisServer) -> None:
    store = RedisStore(connect(own_redis.url))
    metrics = Metrics()
    outbox = Outbox(store, "slack", timeout=0.3, metrics=metrics)
    try:
        assert await store.ping()
        with hung(own_redis):
            started = time.monotonic()
            assert await outbox.owe({"n": 1}, session="slack|T|C|1|U") is None
            assert await outbox.claim() == []
            took = time.monotonic() - started
        assert took < 1.5, f"{took:.2f} s"
        counted = 'advisor_errors_total{kind="outbox_unavailable"} 2.0'
        assert counted in metrics.exposition().decode()
    finally:
        await store.close()


async def test_an_entry_delivered_while_its_lease_is_renewed_is_not_reported_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # bench_serve: "outbox: N entries taken over by another process" with one process, when a
    # delivery finished (and deleted its entry) while the renewal was waiting for the store.

    store = MemoryStore()
    outbox = Outbox(store, "slack", lease=10)
    owed = await outbox.owe({"reply": 1}, session="s")
    assert owed is not None
    renew_store = store.outbox_renew
    delivered = asyncio.Event()

    async def slow_renew(*args: Any, **kwargs: Any) -> Any:
        await outbox.done(owed)  # the delivery finishes (and deletes) before the renewal runs
        delivered.set()
        return await renew_store(*args, **kwargs)

    store.outbox_renew = slow_renew  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="bot.outbox"):
        await outbox.renew()
    assert delivered.is_set() and owed.id not in outbox.held
    assert "taken over" not in caplog.text
