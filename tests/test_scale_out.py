"""Several replicas on one Redis: shared conversations, no lost answers, outage and recovery.

Every test runs against a real redis-server on loopback (tests/redis_server.py).
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from adapters.ops import Operations
from bot.engine import STORE_DOWN_TEXT, Engine, Incoming
from bot.knowledge import KnowledgeBase
from bot.redis_backend import RedisDedupe, RedisStore, connect
from bot.sessions import ConversationKey
from tests.loopback import serve_app
from tests.redis_server import RedisServer

KEY = ConversationKey(platform="slack", workspace="T1", channel="C1", thread="1.2", user="U1")


def replica(kb: KnowledgeBase, url: str) -> Engine:
    """An engine as one replica would build it: its own Redis client."""
    return Engine(kb, RedisStore(connect(url)))


async def test_a_conversation_started_on_one_replica_continues_on_the_other(
    kb: KnowledgeBase, redis_url: str
) -> None:
    a, b = replica(kb, redis_url), replica(kb, redis_url)
    try:
        first = await a.handle(Incoming(key=KEY, text="help me pick"))
        assert first[-1].kind == "question"
        replies = first
        turns = 0
        while replies[-1].kind == "question":
            engine = (b, a)[turns % 2]  # alternate replicas, starting with B
            replies = await engine.handle(Incoming(key=KEY, text="1"))
            turns += 1
        assert replies[-1].kind == "recommendation"
        assert turns == len(kb.questions)
        assert await a.has_active_flow(KEY) and await b.has_active_flow(KEY)
        last = await a.last_recommendation(KEY)
        assert last is not None and last.frameworks == replies[-1].frameworks
    finally:
        await a.close()
        await b.close()


async def test_two_replicas_answering_one_session_at_once_lose_no_answer(
    kb: KnowledgeBase, redis_url: str
) -> None:
    """One person presses the pending question's button while another types an answer to a
    later question, and the two reach two replicas at the same moment: both answers must be in
    the session afterwards, every time."""
    a, b = replica(kb, redis_url), replica(kb, redis_url)
    typed = [
        ("concurrency", "high", "thousands of simultaneous connections"),
        ("python_exp", "strong", "the devs are python veterans"),
        ("asyncio_exp", "yes", "the team knows asyncio"),
    ]
    try:
        for round_ in range(10):
            key = ConversationKey(platform="slack", channel="C", thread=str(round_), user="U")
            replies = await a.handle(Incoming(key=key, text="help me pick"))
            press = replies[-1].choices[round_ % 3].value
            qid, oid = press.split(":")[1:3]
            q2, o2, text = typed[round_ % 3]
            await asyncio.gather(
                a.handle(Incoming(key=key, action=press)),
                b.handle(Incoming(key=key, text=text)),
            )
            record = await a.store.get(key.as_string(), a.clock())
            assert record is not None
            answers = record.data["answers"]
            assert answers.get(qid) == oid, (round_, answers)
            assert answers.get(q2) == o2, (round_, answers)
        conflicts = sum(
            m.registry.get_sample_value("advisor_errors_total", {"kind": "write_conflict"}) or 0
            for m in (a.metrics, b.metrics)
        )
        assert conflicts >= 1, "the race never happened, so the test proved nothing"
    finally:
        await a.close()
        await b.close()


async def test_dedupe_is_shared_between_replicas(redis_url: str) -> None:
    a, b = RedisDedupe(connect(redis_url)), RedisDedupe(connect(redis_url))
    try:
        assert await a.first_time("slack:event:Ev1")
        assert not await b.first_time("slack:event:Ev1"), "B must see A's id"
        assert await b.first_time("slack:event:Ev2")
        ttl = await a.client.ttl("advisor:d:slack:event:Ev1")
        assert 3500 < ttl <= 3600
    finally:
        await a.client.aclose()
        await b.client.aclose()


async def test_redis_outage_gives_a_friendly_reply_and_not_ready_then_recovers(
    kb: KnowledgeBase, own_redis: RedisServer
) -> None:
    engine = replica(kb, own_redis.url)
    ops = Operations(engine)
    web_app = ops.app()
    runner, port = await serve_app(web_app)
    ready_url = f"http://127.0.0.1:{port}/readyz"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(ready_url) as resp:
                assert resp.status == 200 and (await resp.json())["store"] == "ok"
            await engine.handle(Incoming(key=KEY, text="help me pick"))

            own_redis.stop()
            down = await engine.handle(Incoming(key=KEY, text="1"))
            assert [r.paragraphs for r in down] == [(STORE_DOWN_TEXT,)]
            one_shot = await engine.handle(Incoming(key=KEY, text="flask vs pyramid"))
            assert one_shot[0].intent == "compare", "questions without state still work"
            async with http.get(ready_url) as resp:
                body = await resp.json()
                assert resp.status == 503 and body["store"] == "unreachable"
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 200, "liveness must not depend on Redis"
            async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                assert resp.status == 200
                assert 'advisor_errors_total{kind="store_unavailable"}' in await resp.text()

            own_redis.start()  # same port, empty (persistence is off)
            for _ in range(50):
                async with http.get(ready_url) as resp:
                    if resp.status == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("readiness never came back after Redis restarted")
            again = await engine.handle(Incoming(key=KEY, text="help me pick"))
            assert again[-1].kind == "question", "no restart needed"
            assert await engine.has_active_flow(KEY)
    finally:
        await runner.cleanup()
        await engine.close()


async def test_sessions_keep_their_ttl_in_redis(redis_url: str) -> None:
    from bot.sessions import EXPIRED_GRACE

    store = RedisStore(connect(redis_url))
    try:
        await store.put(KEY.as_string(), {"a": 1}, now=1000.0, ttl=600.0)
        pttl = await store.client.pttl(f"advisor:s:{KEY.as_string()}")
        assert (600 + EXPIRED_GRACE) * 1000 - 5000 < pttl <= (600 + EXPIRED_GRACE) * 1000
    finally:
        await store.close()


async def test_a_stale_button_is_ignored_on_another_replica(
    kb: KnowledgeBase, redis_url: str
) -> None:
    """A press answered on one replica, then the same button pressed again on another (a
    double click): the second is ignored and never answers the next question."""
    a, b = replica(kb, redis_url), replica(kb, redis_url)
    key = ConversationKey(platform="slack", channel="C", thread="stale", user="U")
    try:
        replies = await a.handle(Incoming(key=key, text="help me pick"))
        press = replies[-1].choices[1].value
        await a.handle(Incoming(key=key, action=press))
        again = await b.handle(Incoming(key=key, action=press))
        assert "already answered" in again[0].paragraphs[0]
        assert again[-1].kind == "question" and "How big" in again[-1].title
        record = await b.store.get(key.as_string(), b.clock())
        assert record is not None and record.data["answers"] == {"what": "api"}
    finally:
        await a.close()
        await b.close()
