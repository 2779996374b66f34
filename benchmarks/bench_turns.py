"""Conversation turns per second through the engine: SQLite, Redis, two replicas on one Redis,
and memory.

1,000 conversations run interleaved, 50 turns in flight at a time, each answering all eight
questions by button. Every turn reads and writes its session (a Redis write is a
WATCH/GET/MULTI/SET/ZADD/EXEC round trip). Redis is a real redis-server on loopback,
persistence off, started by the benchmark (tests/redis_server.py).
Run: .venv/bin/python -m benchmarks.bench_turns
Goal (issue 3): >= 1,000 turns/s and a turn's p99 <= 5 ms including the store.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path

from benchmarks.common import summary
from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.engine import Engine, Incoming
from bot.knowledge import load
from bot.redis_backend import RedisStore, connect
from bot.sessions import ConversationKey, MemoryStore, SessionStore, SQLiteStore
from tests.redis_server import RedisServer

CONVERSATIONS = 1000
IN_FLIGHT = 50


async def run(store: SessionStore, label: str, second: SessionStore | None = None) -> None:
    """With ``second``, turns alternate between two engines (two replicas) on the two stores."""
    kb = load(DEFAULT_KNOWLEDGE_DIR)
    engine = Engine(kb, store)
    other = Engine(kb, second) if second is not None else engine
    rng = random.Random(3)
    keys = [
        ConversationKey(
            platform="bench", workspace="w", channel=f"c{i % 31}", thread=str(i), user=f"u{i}"
        )
        for i in range(CONVERSATIONS)
    ]
    scripts = {
        k: ["help me pick"] + [f"answer:{q.id}:{rng.choice(q.options).id}" for q in kb.questions]
        for k in keys
    }
    latencies: list[float] = []
    queue = [(k, i) for i in range(len(kb.questions) + 1) for k in keys]  # interleaved

    async def turn(key: ConversationKey, i: int) -> None:
        line = scripts[key][i]
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


async def sequential(store: SessionStore, label: str, turns: int = 3000) -> None:
    kb = load(DEFAULT_KNOWLEDGE_DIR)
    engine = Engine(kb, store)
    latencies = []
    for i in range(turns):
        key = ConversationKey(platform="bench", user=f"s{i % 100}")
        start = time.perf_counter()
        await engine.handle(Incoming(key=key, text="help me pick" if i % 9 == 0 else "2"))
        latencies.append(time.perf_counter() - start)
    await engine.close()
    print(summary(f"{label} turn latency (one at a time)", latencies))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(SQLiteStore(Path(tmp) / "bench.sqlite3"), "SQLite"))
        asyncio.run(sequential(SQLiteStore(Path(tmp) / "seq.sqlite3"), "SQLite"))
    server = RedisServer().start()
    try:
        asyncio.run(run(RedisStore(connect(server.url)), "Redis"))
        server.flush()
        asyncio.run(
            run(
                RedisStore(connect(server.url)),
                "Redis, 2 replicas",
                RedisStore(connect(server.url)),
            )
        )
        asyncio.run(sequential(RedisStore(connect(server.url)), "Redis"))
    finally:
        server.close()
    asyncio.run(run(MemoryStore(), "memory"))


if __name__ == "__main__":
    main()
