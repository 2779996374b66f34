"""Session stores: TTL, expiry, isolation, SQLite on a worker thread, many conversations."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest

from bot.engine import STORE_DOWN_TEXT, Engine, Incoming
from bot.errors import StoreUnavailable
from bot.knowledge import KnowledgeBase
from bot.redis_backend import RedisStore, connect
from bot.sessions import (
    EXPIRED_GRACE,
    PROFILE_CHANNEL,
    ConversationKey,
    MemoryStore,
    SessionStore,
    SQLiteStore,
)


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    s: SessionStore
    if request.param == "memory":
        s = MemoryStore()
    elif request.param == "sqlite":
        s = SQLiteStore(tmp_path / "s.sqlite3")
    else:
        s = RedisStore(connect(request.getfixturevalue("redis_url")))
    yield s
    await s.close()


async def test_put_get_and_expiry(store: SessionStore) -> None:
    await store.put("k", {"a": 1}, now=100.0, ttl=10.0)
    rec = await store.get("k", now=105.0)
    assert rec is not None and rec.data == {"a": 1} and not rec.expired and rec.updated == 100.0
    rec = await store.get("k", now=111.0)
    assert rec is not None and rec.expired
    assert await store.get("k", now=111.0 + EXPIRED_GRACE) is None
    assert await store.get("missing", now=1.0) is None


async def test_delete_and_ping(store: SessionStore) -> None:
    await store.put("k", {"a": 1}, now=1.0, ttl=10.0)
    await store.delete("k")
    assert await store.get("k", now=2.0) is None
    assert await store.ping()


async def test_versions_make_a_stale_write_fail(store: SessionStore) -> None:
    assert await store.put("k", {"n": 1}, now=1.0, ttl=10.0, expect=0)
    assert not await store.put("k", {"n": 9}, now=1.0, ttl=10.0, expect=0), "exists already"
    rec = await store.get("k", now=2.0)
    assert rec is not None and rec.version == 1
    assert await store.put("k", {"n": 2}, now=2.0, ttl=10.0, expect=1)
    assert not await store.put("k", {"n": 3}, now=2.0, ttl=10.0, expect=1), "stale version"
    rec = await store.get("k", now=3.0)
    assert rec is not None and rec.data == {"n": 2} and rec.version == 2
    assert await store.put("k", {"n": 4}, now=3.0, ttl=10.0), "no expect: always written"
    rec = await store.get("k", now=3.0)
    assert rec is not None and rec.version == 3
    # past the grace the record is gone, so "absent" (0) is the version to expect
    later = 20.0 + EXPIRED_GRACE
    assert await store.get("k", now=later) is None
    assert await store.put("k", {"n": 5}, now=later, ttl=10.0, expect=0)


async def test_count_leaves_out_profiles_and_expired(store: SessionStore) -> None:
    for i in range(3):
        await store.put(f"test|w|c{i}||u", {}, now=100.0, ttl=10.0)
    await store.put("test|w|c9||u", {}, now=50.0, ttl=10.0)  # expired at 60
    profile = ConversationKey(platform="test", workspace="w", channel=PROFILE_CHANNEL, user="u")
    await store.put(profile.as_string(), {}, now=100.0, ttl=1000.0)
    assert await store.count(now=105.0) == 3
    await store.delete("test|w|c0||u")
    assert await store.count(now=105.0) == 2
    assert await store.count(now=111.0) == 0


async def test_concurrent_read_modify_write_loses_nothing(store: SessionStore) -> None:
    """Many writers increment one counter with optimistic locking; every increment lands."""

    async def increment() -> None:
        while True:
            rec = await store.get("counter", now=1.0)
            n = rec.data["n"] if rec else 0
            await asyncio.sleep(0)  # let the other writers read the same version
            if await store.put(
                "counter", {"n": n + 1}, 1.0, 60.0, expect=rec.version if rec else 0
            ):
                return

    await asyncio.gather(*(increment() for _ in range(40)))
    rec = await store.get("counter", now=1.0)
    assert rec is not None and rec.data["n"] == 40


async def test_sqlite_uses_wal_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = SQLiteStore(path)
    await first.put("k", {"x": "ü"}, now=1.0, ttl=100.0)
    await first.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    second = SQLiteStore(path)
    rec = await second.get("k", now=2.0)
    await second.close()
    assert rec is not None and rec.data == {"x": "ü"}


async def test_unwritable_sqlite_path_raises_store_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = SQLiteStore(blocker / "sub" / "s.sqlite3")
    with pytest.raises(StoreUnavailable):
        await store.put("k", {}, now=1.0, ttl=1.0)
    assert not await store.ping()
    await store.close()


class DownStore(MemoryStore):
    async def get(self, key: str, now: float):  # type: ignore[no-untyped-def]
        raise StoreUnavailable("down")


async def test_store_down_gives_a_friendly_reply_and_still_answers_one_shots(
    kb: KnowledgeBase,
) -> None:
    engine = Engine(kb, DownStore())
    key = ConversationKey(platform="test", user="u")
    flow = await engine.handle(Incoming(key=key, text="help me pick"))
    assert flow[0].paragraphs == (STORE_DOWN_TEXT,)
    one_shot = await engine.handle(Incoming(key=key, text="flask vs django"))
    assert one_shot[0].intent == "compare"


async def test_one_thousand_interleaved_conversations_do_not_mix(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "many.sqlite3")
    engine = Engine(kb, store)
    rng = random.Random(7)
    questions = kb.questions
    keys = [
        ConversationKey(
            platform="bench", workspace="w", channel=f"c{i % 17}", thread=str(i), user=f"u{i}"
        )
        for i in range(1000)
    ]
    plans = {k: [rng.randrange(len(q.options)) for q in questions] for k in keys}
    progress = dict.fromkeys(keys, 0)
    for k in keys:
        await engine.handle(Incoming(key=k, text="help me pick"))
    pending = list(keys)
    while pending:
        rng.shuffle(pending)
        batch = pending[:50]
        del pending[:50]

        async def turn(k: ConversationKey) -> None:
            i = progress[k]
            q = questions[i]
            opt = q.options[plans[k][i]]
            replies = await engine.handle(Incoming(key=k, action=f"answer:{q.id}:{opt.id}"))
            progress[k] = i + 1
            if i + 1 < len(questions):
                assert questions[i + 1].prompt in replies[-1].title
                pending.append(k)
            else:
                assert replies[-1].kind == "recommendation"

        await asyncio.gather(*(turn(k) for k in batch))
    for k in keys[:50]:
        rec = await store.get(k.as_string(), now=engine.clock())
        assert rec is not None
        expected = {q.id: q.options[plans[k][i]].id for i, q in enumerate(questions)}
        assert rec.data["answers"] == expected and rec.data["status"] == "done"
    await engine.close()


async def test_active_flow_and_last_recommendation(kb: KnowledgeBase) -> None:
    engine = Engine(kb, MemoryStore())
    key = ConversationKey(platform="test", workspace="W", channel="C", thread="t1", user="u")
    assert not await engine.has_active_flow(key)
    assert await engine.last_recommendation(key) is None
    await engine.handle(Incoming(key=key, text="flask vs django"))
    assert not await engine.has_active_flow(key), "a one-shot answer is not a flow"
    await engine.handle(Incoming(key=key, text="help me pick"))
    assert await engine.has_active_flow(key)
    other_thread = ConversationKey(platform="test", workspace="W", channel="C", user="u")
    assert not await engine.has_active_flow(other_thread)
    for _ in range(8):
        replies = await engine.handle(Incoming(key=key, text="1"))
    assert replies[-1].kind == "recommendation"
    last = await engine.last_recommendation(other_thread)
    assert last is not None, "the profile is per person, not per thread"
    assert last.frameworks == replies[-1].frameworks and last.based_on.startswith("Based on")
    someone_else = ConversationKey(platform="test", workspace="W", user="v")
    assert await engine.last_recommendation(someone_else) is None


async def test_active_flow_is_false_when_the_store_is_down(kb: KnowledgeBase) -> None:
    engine = Engine(kb, DownStore())
    key = ConversationKey(platform="test", user="u")
    assert not await engine.has_active_flow(key)
    assert await engine.last_recommendation(key) is None
