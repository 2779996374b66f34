"""Conversation turns per second through the engine: SQLite, Redis, two replicas on one Redis,
and memory.

1,000 conversations run interleaved, 50 turns in flight at a time, each answering all eight
questions by button. Every turn reads and writes its session (a Redis write is a
WATCH/GET/MULTI/SET/ZADD/EXEC round trip). Redis is a real redis-server on loopback,
persistence off, started by the benchmark (tests/redis_server.py).
Run: .venv/bin/python -m benchmarks.bench_turns [--conversations N]
Goal (issue 3): >= 1,000 turns/s and a turn's p99 <= 5 ms including the store.

Every timed turn is work new to the process: each conversation has its own key and opens with
its own text ("help me pick (#17)"), so the understanding cache never serves it, and buttons
go through no cache. A repeated opening text (an understanding cache hit) is timed apart.
The anchor, measured in the same run, is a plain Redis round trip: SET then GET of a
session-sized value on the same redis-server with the same client (``bot.redis_backend.connect``),
one at a time and :data:`IN_FLIGHT` at a time; every store's figures are printed as a ratio to it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import percentile, summary
from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.engine import Engine, Incoming
from bot.knowledge import KnowledgeBase, load
from bot.redis_backend import RedisStore, connect
from bot.sessions import ConversationKey, MemoryStore, SessionStore, SQLiteStore
from tests.redis_server import RedisServer

CONVERSATIONS = 1000
SEQUENTIAL = 300
IN_FLIGHT = 50
#: Bytes of the anchor's value: about a session's JSON in the middle of a flow.
ANCHOR_VALUE = 512


def scripts(kb: KnowledgeBase, count: int, prefix: str) -> dict[ConversationKey, list[str]]:
    """``count`` conversations, each its own key: an opening text no other conversation uses,
    then a button answer to every question. ``prefix`` keeps keys and texts of two calls apart."""
    rng = random.Random(3)
    keys = [
        ConversationKey(
            platform="bench",
            workspace="w",
            channel=f"c{i % 31}",
            thread=f"{prefix}{i}",
            user=f"u{i}",
        )
        for i in range(count)
    ]
    return {
        k: [f"help me pick (#{prefix}{i})"]
        + [f"answer:{q.id}:{rng.choice(q.options).id}" for q in kb.questions]
        for i, k in enumerate(keys)
    }


async def run(
    store: SessionStore, label: str, second: SessionStore | None = None, count: int = CONVERSATIONS
) -> float:
    """With ``second``, turns alternate between two engines (two replicas) on the two stores.
    Returns turns per second."""
    kb = load(DEFAULT_KNOWLEDGE_DIR)
    engine = Engine(kb, store)
    other = Engine(kb, second) if second is not None else engine
    script = scripts(kb, count, "r")
    keys = list(script)
    latencies: list[float] = []
    queue = [(k, i) for i in range(len(kb.questions) + 1) for k in keys]  # interleaved

    async def turn(key: ConversationKey, i: int) -> None:
        line = script[key][i]
        incoming = Incoming(key=key, text=line) if i == 0 else Incoming(key=key, action=line)
        start = time.perf_counter()
        await (engine if i % 2 == 0 else other).handle(incoming)
        latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    for offset in range(0, len(queue), IN_FLIGHT):
        await asyncio.gather(*(turn(k, i) for k, i in queue[offset : offset + IN_FLIGHT]))
    elapsed = time.perf_counter() - started
    await engine.close()
    if other is not engine:
        await other.close()
    conflicts = sum(
        e.metrics.registry.get_sample_value("advisor_errors_total", {"kind": "write_conflict"}) or 0
        for e in {engine, other}
    )
    print(
        f"{label}: {len(latencies)} turns in {elapsed:.2f} s = "
        f"{len(latencies) / elapsed:,.0f} turns/s ({conflicts:.0f} write conflicts re-run)"
    )
    print(summary(f"{label} turn latency (wall, {IN_FLIGHT} in flight)", latencies))
    return len(latencies) / elapsed


async def sequential(store: SessionStore, label: str, count: int = SEQUENTIAL) -> dict[str, float]:
    """``count`` conversations one after another, one turn at a time; then ``count`` openings
    with one repeated text (understanding cache hits), each on a new key.
    Returns the median seconds of each kind of turn, by label."""
    kb = load(DEFAULT_KNOWLEDGE_DIR)
    engine = Engine(kb, store)
    latencies, openings = [], []
    for key, lines in scripts(kb, count, "s").items():
        for i, line in enumerate(lines):
            incoming = Incoming(key=key, text=line) if i == 0 else Incoming(key=key, action=line)
            start = time.perf_counter()
            await engine.handle(incoming)
            latencies.append(time.perf_counter() - start)
            if i == 0:
                openings.append(latencies[-1])
    opening = "help me pick"  # asked once untimed, so every timed opening is a cache hit
    await engine.handle(Incoming(key=ConversationKey(platform="bench", user="h"), text=opening))
    hits = []
    for i in range(count):
        key = ConversationKey(platform="bench", user=f"h{i}")
        start = time.perf_counter()
        await engine.handle(Incoming(key=key, text=opening))
        hits.append(time.perf_counter() - start)
    await engine.close()
    print(summary(f"{label} turn latency (one at a time)", latencies))
    print(summary(f"{label} of which new openings", openings))
    print(summary(f"{label} repeated opening (cache hit, apart)", hits))
    return {
        f"{label}, new turn": statistics.median(latencies),
        f"{label}, new opening": statistics.median(openings),
        f"{label}, cache-hit opening": statistics.median(hits),
    }


async def anchor(url: str, count: int = 3000) -> tuple[list[float], float]:
    """A plain Redis SET then GET of :data:`ANCHOR_VALUE` bytes, each on a new key: (seconds of
    each pair one at a time, pairs per second :data:`IN_FLIGHT` at a time)."""
    redis = connect(url)
    value = b"x" * ANCHOR_VALUE

    async def pair(key: str) -> float:
        start = time.perf_counter()
        await redis.set(key, value)
        await redis.get(key)
        return time.perf_counter() - start

    await pair("anchor:warm")
    one = [await pair(f"anchor:s{i}") for i in range(count)]
    started = time.perf_counter()
    for offset in range(0, count, IN_FLIGHT):
        await asyncio.gather(*(pair(f"anchor:c{i}") for i in range(offset, offset + IN_FLIGHT)))
    rate = count / (time.perf_counter() - started)
    await redis.aclose()
    return one, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=CONVERSATIONS)
    count = parser.parse_args().conversations
    rates: dict[str, float] = {}
    medians: dict[str, float] = {}
    server = RedisServer().start()
    try:
        one, pairs = asyncio.run(anchor(server.url))  # at the start and at the end (drift)
        server.flush()
        with tempfile.TemporaryDirectory() as tmp:
            rates["SQLite"] = asyncio.run(
                run(SQLiteStore(Path(tmp) / "bench.sqlite3"), "SQLite", count=count)
            )
            medians.update(
                asyncio.run(sequential(SQLiteStore(Path(tmp) / "seq.sqlite3"), "SQLite"))
            )
        rates["Redis"] = asyncio.run(run(RedisStore(connect(server.url)), "Redis", count=count))
        server.flush()
        rates["Redis, 2 replicas"] = asyncio.run(
            run(
                RedisStore(connect(server.url)),
                "Redis, 2 replicas",
                RedisStore(connect(server.url)),
                count=count,
            )
        )
        medians.update(asyncio.run(sequential(RedisStore(connect(server.url)), "Redis")))
        one_end, pairs_end = asyncio.run(anchor(server.url))
    finally:
        server.close()
    rates["memory"] = asyncio.run(run(MemoryStore(), "memory", count=count))
    one += one_end
    base, pairs = statistics.median(one), (pairs + pairs_end) / 2
    print(
        f"anchor, plain Redis SET+GET ({ANCHOR_VALUE} bytes, at the start and the end): one at "
        f"a time median {base * 1000:.3f} ms, p99 {percentile(one, 99) * 1000:.3f} ms; "
        f"{IN_FLIGHT} in flight {pairs:,.0f} pairs/s"
    )
    for label, rate in rates.items():
        print(f"{label}: turns/s / anchor pairs/s = {rate / pairs:.2f}x")
    for label, median in medians.items():
        print(f"{label}: one-at-a-time turn median / anchor median = {median / base:.2f}x")


if __name__ == "__main__":
    main()
