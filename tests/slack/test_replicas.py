"""Two Slack HTTP-mode replicas behind one "load balancer", sharing Redis: a retry that reaches
the other replica is dropped, and a thread conversation moves freely between them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from adapters.slack.app import SlackAdapter
from adapters.slack.client import web_client
from adapters.slack.pacing import ChannelPacer
from bot.engine import Engine
from bot.knowledge import KnowledgeBase
from bot.redis_backend import RedisDedupe, RedisStore, connect
from bot.sessions import ConversationKey
from tests.slack.fake_slack import BOT_USER, TEAM, FakeSlack
from tests.slack.harness import SECRET, USER, Harness, mention, message, serve


@pytest.fixture
async def replicas(kb: KnowledgeBase, redis_url: str) -> AsyncIterator[tuple[Harness, Harness]]:
    async with FakeSlack() as fake, aiohttp.ClientSession() as session:
        harnesses, runners = [], []
        for _ in range(2):
            client = connect(redis_url)
            adapter = SlackAdapter(
                Engine(kb, RedisStore(client)),
                client=web_client("xoxb-test-token", fake.api_url),
                signing_secret=SECRET,
                dedupe=RedisDedupe(client),
                pacer=ChannelPacer(interval=0),
            )
            runner, url = await serve(adapter)
            runners.append(runner)
            harnesses.append(Harness(fake, adapter, url, session))
        yield harnesses[0], harnesses[1]
        for runner, h in zip(runners, harnesses, strict=True):
            await runner.cleanup()
            await h.adapter.engine.close()
        assert fake.problems == []


async def test_a_retry_reaching_the_other_replica_is_answered_once(
    replicas: tuple[Harness, Harness],
) -> None:
    a, b = replicas
    event = mention(f"<@{BOT_USER}> flask vs django")
    assert await a.event(event, event_id="Ev0REPLICA1") == 200
    assert await b.event(event, event_id="Ev0REPLICA1", retry=1) == 200
    assert await b.event(event, event_id="Ev0REPLICA1", retry=2) == 200
    assert len(a.fake.of("chat.postMessage")) == 1
    # a different event is not mistaken for a retry
    assert await b.event(mention(f"<@{BOT_USER}> about sanic"), event_id="Ev0REPLICA2") == 200
    assert len(a.fake.of("chat.postMessage")) == 2


async def test_a_thread_conversation_moves_between_replicas(
    replicas: tuple[Harness, Harness],
) -> None:
    a, b = replicas
    start = mention(f"<@{BOT_USER}> help me pick")
    await a.event(start)
    profile = ConversationKey(platform="slack", workspace=TEAM, user=USER)
    questions = len(a.adapter.engine.kb.questions)
    for i in range(questions):
        assert await b.adapter.engine.last_recommendation(profile) is None, i
        before = len(a.fake.of("chat.postMessage"))
        await (b, a)[i % 2].event(message("1", thread_ts=start["ts"]))
        assert len(a.fake.of("chat.postMessage")) == before + 1, "every answer got a reply"
    made = await b.adapter.engine.last_recommendation(profile)
    assert made is not None and made.frameworks, "the last answer produced the recommendation"
    assert made.frameworks[0] in a.fake.of("chat.postMessage")[-1].params["text"]
