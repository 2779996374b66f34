"""Reliability of the Slack adapter against a real redis-server: acks in time while Redis hangs,
nothing acknowledged is dropped at shutdown, and replies owed survive a crash (the outbox).

Redis "hangs" by SIGSTOP: the kernel still accepts connections and buffers commands, but no
answer comes until SIGCONT, exactly like a Redis stuck on a slow disk or a full-memory stall.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.slack.app import SlackAdapter
from adapters.slack.client import web_client
from adapters.slack.pacing import ChannelPacer
from adapters.slack.runner import EVENTS_PATH, SlackConfig
from adapters.slack.runner import serve as serve_slack
from bot.config import Settings
from bot.engine import Engine
from bot.knowledge import KnowledgeBase
from bot.redis_backend import RedisDedupe, RedisStore, connect
from bot.sessions import MemoryStore, SQLiteStore
from tests.loopback import free_port, wait_ready
from tests.redis_server import RedisServer
from tests.slack.fake_slack import BOT_USER, FakeSlack
from tests.slack.harness import SECRET, event_callback, mention, serve

ROOT = Path(__file__).resolve().parents[2]
#: Slack gives up on an ack after this many seconds and sends the event again.
SLACK_ACK_LIMIT = 3.0
#: deploy/compose.yaml's stop_grace_period; Docker sends SIGKILL after it.
COMPOSE_GRACE = 15.0


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


async def post_event(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], *, retry: int = 0
) -> tuple[int, float]:
    """POST a signed event the way Slack does, without waiting for work after the ack;
    returns (status, seconds until the ack)."""
    raw = json.dumps(body)
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=raw),
    }
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    started = time.monotonic()
    async with session.post(url, data=raw.encode(), headers=headers) as resp:
        await resp.read()
        return resp.status, time.monotonic() - started


def redis_adapter(kb: KnowledgeBase, fake: FakeSlack, url: str, **kw: Any) -> SlackAdapter:
    """An adapter as a replica builds it: sessions and dedupe in one Redis."""
    client = connect(url)
    return SlackAdapter(
        Engine(kb, RedisStore(client)),
        client=web_client("xoxb-test-token", fake.api_url),
        signing_secret=SECRET,
        dedupe=RedisDedupe(client),
        pacer=kw.pop("pacer", ChannelPacer(interval=0)),
        **kw,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake
        assert fake.problems == []


def replies_in(fake: FakeSlack, thread_ts: str) -> int:
    return sum(1 for c in fake.of("chat.postMessage") if c.params.get("thread_ts") == thread_ts)


# ---- 8: a hung Redis on the ack path ---------------------------------------------------------


async def test_hung_redis_acks_in_time_and_answers_a_retried_event_once(
    kb: KnowledgeBase, fake: FakeSlack, own_redis: RedisServer
) -> None:
    adapter = redis_adapter(kb, fake, own_redis.url)
    runner, url = await serve(adapter)
    try:
        async with aiohttp.ClientSession() as session:
            before = mention(f"<@{BOT_USER}> about flask")
            assert (await post_event(session, url, event_callback(before, event_id="Ev0UP")))[0]
            await adapter.drain()
            assert replies_in(fake, before["ts"]) == 1
            event = mention(f"<@{BOT_USER}> flask vs django")
            acks: list[tuple[int, float]] = []
            with hung(own_redis):
                for retry in range(3):  # the first delivery and Slack's two retries
                    body = event_callback(event, event_id="Ev0HUNG")
                    acks.append(await post_event(session, url, body, retry=retry))
                # a retry of an event first seen while Redis was up
                body = event_callback(before, event_id="Ev0UP")
                acks.append(await post_event(session, url, body, retry=1))
            await adapter.drain(15)
    finally:
        await runner.cleanup()
        await adapter.engine.close()
    assert [status for status, _ in acks] == [200] * 4
    slowest = max(seconds for _, seconds in acks)
    assert slowest < SLACK_ACK_LIMIT - 1, f"acks took {[round(s, 2) for _, s in acks]} s"
    assert replies_in(fake, event["ts"]) == 1, "answered once despite Slack's retries"
    assert replies_in(fake, before["ts"]) == 1, "a retry of an earlier event is still dropped"
    exposition = adapter.engine.metrics.exposition().decode()
    assert 'advisor_errors_total{kind="dedupe_unavailable"} 1.0' in exposition


# ---- 9: shutdown keeps every promise it made -------------------------------------------------


async def wait_listening(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(100):
        try:
            async with session.post(url, data=b"{}") as resp:
                await resp.read()
                return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.05)
    raise AssertionError("never listened")


async def test_shutdown_refuses_new_requests_and_finishes_every_acked_one(
    kb: KnowledgeBase, fake: FakeSlack
) -> None:
    """Requests on a kept-alive connection after shutdown began: refused, or answered."""
    adapter = SlackAdapter(
        Engine(kb, MemoryStore()),
        client=web_client("xoxb-test-token", fake.api_url),
        signing_secret=SECRET,
        pacer=ChannelPacer(interval=0),
    )
    port = free_port()
    settings = Settings(slack_api_url=fake.api_url, http_host="127.0.0.1", http_port=port)
    stop = asyncio.Event()
    config = SlackConfig("http", "xoxb-test-token", signing_secret=SECRET)
    running = asyncio.create_task(serve_slack(config, settings, adapter, stop))
    url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
    fake.delays["chat.postMessage"] = 1.0
    outcomes: list[tuple[dict[str, Any], int | None]] = []
    async with aiohttp.ClientSession() as session:  # one connection, kept alive
        await wait_listening(session, url)
        first = mention(f"<@{BOT_USER}> about flask")
        outcomes.append((first, (await post_event(session, url, event_callback(first)))[0]))
        stop.set()
        for text in ("about django", "about sanic", "about falcon"):
            await asyncio.sleep(0.1)
            later = mention(f"<@{BOT_USER}> {text}")
            try:
                status = (await post_event(session, url, event_callback(later)))[0]
            except aiohttp.ClientConnectionError:
                status = None  # the listener or the connection is closed: Slack retries
            outcomes.append((later, status))
        await asyncio.wait_for(running, 15)
        assert running.exception() is None
    acked = [event for event, status in outcomes if status == 200]
    assert acked[:1] == [first]
    assert all(status in (200, 503, None) for _, status in outcomes), outcomes
    answered = fake.answered.count("chat.postMessage")
    assert answered == len(acked), (
        f"{len(acked)} events acked, {answered} replies delivered before serve() returned: "
        f"{[(e['text'], s) for e, s in outcomes]}"
    )
    assert adapter.in_flight == 0
    await adapter.engine.close()


async def test_once_shutdown_began_every_request_gets_503_and_nothing_is_started(
    kb: KnowledgeBase, fake: FakeSlack
) -> None:
    adapter = SlackAdapter(
        Engine(kb, MemoryStore()),
        client=web_client("xoxb-test-token", fake.api_url),
        signing_secret=SECRET,
        pacer=ChannelPacer(interval=0),
    )
    runner, url = await serve(adapter)
    try:
        async with aiohttp.ClientSession() as session:
            first = event_callback(mention(f"<@{BOT_USER}> about flask"))
            assert (await post_event(session, url, first))[0] == 200
            await adapter.drain()
            adapter.stop_accepting()  # what serve() does first on SIGTERM
            later = event_callback(mention(f"<@{BOT_USER}> about django"))
            assert (await post_event(session, url, later))[0] == 503
            assert adapter.in_flight == 0, "nothing was started for it"
            assert (await post_event(session, url, first, retry=1))[0] == 503
    finally:
        await runner.cleanup()
        await adapter.shutdown(1)
        await adapter.engine.close()
    assert len(fake.of("chat.postMessage")) == 1


def slack_env(fake: FakeSlack, redis_url: str, http: int, ops: int) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "ADVISOR_"))
    }
    env.update(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        ADVISOR_REDIS_URL=redis_url,
        ADVISOR_STORE="redis",
        ADVISOR_HTTP_HOST="127.0.0.1",
        ADVISOR_HTTP_PORT=str(http),
        ADVISOR_OPS_HOST="127.0.0.1",
        ADVISOR_OPS_PORT=str(ops),
        ADVISOR_CACHE_DIR="off",
        ADVISOR_LOG_FORMAT="json",
    )
    return env


async def start_serve(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adapters.cli",
        "serve",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def post_late(
    session: aiohttp.ClientSession, url: str, after: float, text: str
) -> int | None:
    """Send an event ``after`` seconds from now; its status, or None when refused a
    connection."""
    await asyncio.sleep(after)
    try:
        body = event_callback(mention(f"<@{BOT_USER}> {text}", channel="C0LATE0001"))
        return (await asyncio.wait_for(post_event(session, url, body), 30))[0]
    except (aiohttp.ClientConnectionError, TimeoutError):
        return None


async def test_sigterm_with_redis_hung_exits_within_the_grace_and_logs_what_was_owed(
    fake: FakeSlack, own_redis: RedisServer
) -> None:
    http_port, ops_port = free_port(), free_port()
    proc = await start_serve(slack_env(fake, own_redis.url, http_port, ops_port))
    url = f"http://127.0.0.1:{http_port}{EVENTS_PATH}"
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, f"http://127.0.0.1:{ops_port}/readyz", proc)
            warm = [event_callback(mention(f"<@{BOT_USER}> about flask")) for _ in range(5)]
            statuses = await asyncio.gather(*(post_event(session, url, b) for b in warm))
            assert [s for s, _ in statuses] == [200] * 5  # five connections, kept alive
            for _ in range(200):
                if fake.answered.count("chat.postMessage") == 5:
                    break
                await asyncio.sleep(0.02)
            fake.delays["chat.postMessage"] = 60.0  # Slack never answers this post in time
            stuck = mention(f"<@{BOT_USER}> flask vs django")
            assert (await post_event(session, url, event_callback(stuck)))[0] == 200
            for _ in range(200):
                if len(fake.of("chat.postMessage")) == 6:
                    break
                await asyncio.sleep(0.02)
            with hung(own_redis):
                slowed = mention(f"<@{BOT_USER}> help me pick", channel="C0SLOWED01")
                sent = asyncio.create_task(post_event(session, url, event_callback(slowed)))
                await asyncio.sleep(0.1)  # its duplicate check is waiting on Redis
                stopped_at = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                late = asyncio.gather(
                    *(post_late(session, url, t, "about sanic") for t in (0.3, 3, 6, 8.5))
                )
                code = await asyncio.wait_for(proc.wait(), 40)
                elapsed = time.monotonic() - stopped_at
                slowed_status = (await sent)[0]
                late_statuses = await late
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
    assert code == 0, stderr[-3000:]
    assert elapsed < COMPOSE_GRACE - 4, f"exit took {elapsed:.1f} s after SIGTERM"
    assert 200 not in late_statuses, f"acked after shutdown began: {late_statuses}"
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    owed = [r for r in records if r.get("level") == "WARNING" and "not delivered" in r["message"]]
    channels = " ".join(r["message"] for r in owed)
    assert "C0CHAN0001" in channels, "the reply stuck on Slack is logged"
    posted_to = {c.params.get("channel") for c in fake.of("chat.postMessage")}
    if slowed_status == 200 and "C0SLOWED01" not in posted_to:
        assert "C0SLOWED01" in channels, "an acked request is delivered or logged"
    assert "xoxb-test-token" not in stderr
    assert "flask vs django" not in stderr and "help me pick" not in stderr


# ---- 10: a crash after the ack must not lose the reply ---------------------------------------

#: Seconds an outbox entry's owner holds it; short so the tests need not wait long.
LEASE = 0.5


class StalledPacer(ChannelPacer):
    """Never lets a post go out: the process "dies" between the ack and the post."""

    def __init__(self) -> None:
        super().__init__(interval=0)
        self.waiting: list[asyncio.Task[Any]] = []

    async def wait(self, channel: str) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.waiting.append(task)
        await asyncio.Event().wait()


async def crash_after_acks(adapter: SlackAdapter, pacer: StalledPacer, events: list[dict]) -> None:
    """Serve ``adapter``, have it ack ``events``, then kill the work it started before any
    reply is posted (what ``kill -9`` right after the ack does)."""
    runner, url = await serve(adapter)
    try:
        async with aiohttp.ClientSession() as session:
            for event in events:
                assert (await post_event(session, url, event_callback(event)))[0] == 200
        for _ in range(200):
            if len(pacer.waiting) == len(events):
                break
            await asyncio.sleep(0.01)
        assert len(pacer.waiting) == len(events), "every reply was about to be posted"
        for task in pacer.waiting:
            task.cancel()
        await asyncio.gather(*pacer.waiting, return_exceptions=True)
    finally:
        await runner.cleanup()


async def wait_for_posts(fake: FakeSlack, count: int, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if len(fake.of("chat.postMessage")) >= count:
            return
        await asyncio.sleep(0.02)


async def test_a_reply_lost_to_a_crash_is_posted_once_by_the_next_start(
    kb: KnowledgeBase, fake: FakeSlack, tmp_path: Path
) -> None:
    db = tmp_path / "sessions.sqlite3"
    pacer = StalledPacer()
    first_life = SlackAdapter(
        Engine(kb, SQLiteStore(db)),
        client=web_client("xoxb-test-token", fake.api_url),
        signing_secret=SECRET,
        pacer=pacer,
        outbox_lease=LEASE,
    )
    start = mention(f"<@{BOT_USER}> help me pick")
    await crash_after_acks(first_life, pacer, [start])
    await first_life.engine.close()
    assert fake.of("chat.postMessage") == [], "nothing was posted before the crash"

    store = SQLiteStore(db)
    second_life = SlackAdapter(
        Engine(kb, store),
        client=web_client("xoxb-test-token", fake.api_url),
        signing_secret=SECRET,
        pacer=ChannelPacer(interval=0),
        outbox_lease=LEASE,
        outbox_every=0.1,
    )
    second_life.start()
    try:
        await wait_for_posts(fake, 1)
        await asyncio.sleep(1.0)  # several more sweeps: nothing is posted twice
    finally:
        await second_life.shutdown(2)
        await store.close()
    [posted] = fake.of("chat.postMessage")
    assert posted.params["thread_ts"] == start["ts"]
    assert posted.params["channel"] == start["channel"]
    assert buttons_of(posted), "the first question, with its option buttons"


def buttons_of(call: Any) -> list[str]:
    return [
        e["text"]["text"]
        for b in call.params.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def test_two_replicas_deliver_each_owed_reply_exactly_once(
    kb: KnowledgeBase, fake: FakeSlack, redis_url: str
) -> None:
    pacer = StalledPacer()
    crashed = redis_adapter(kb, fake, redis_url, pacer=pacer, outbox_lease=LEASE)
    owed = [mention(f"<@{BOT_USER}> {t}") for t in ("about flask", "help me pick", "about sanic")]
    await crash_after_acks(crashed, pacer, owed)
    await crashed.engine.close()
    assert fake.of("chat.postMessage") == []

    a = redis_adapter(kb, fake, redis_url, outbox_lease=LEASE, outbox_every=0.02)
    b = redis_adapter(kb, fake, redis_url, outbox_lease=LEASE, outbox_every=0.02)
    runner, url = await serve(a)
    a.start()
    b.start()
    try:
        await wait_for_posts(fake, len(owed))
        # and a live reply on A, slower than the lease, is not taken over by B
        fake.delays["chat.postMessage"] = 3 * LEASE
        live = mention(f"<@{BOT_USER}> flask vs django")
        async with aiohttp.ClientSession() as session:
            assert (await post_event(session, url, event_callback(live)))[0] == 200
        assert await a.drain(10)
        await asyncio.sleep(1.0)  # many more sweeps on both replicas
    finally:
        await runner.cleanup()
        for replica in (a, b):
            await replica.shutdown(2)
            await replica.engine.close()
    per_thread = [replies_in(fake, event["ts"]) for event in [*owed, live]]
    assert per_thread == [1, 1, 1, 1], per_thread
