"""The ``slack`` fixture: the Slack adapter on a memory store, served over HTTP on loopback
against a fresh fake Slack; after the test, nothing it sent may break Slack's payload rules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from adapters.slack.app import SlackAdapter
from adapters.slack.client import web_client
from adapters.slack.pacing import ChannelPacer
from bot.engine import Engine
from bot.knowledge import KnowledgeBase
from bot.sessions import MemoryStore
from tests.slack.fake_slack import FakeSlack
from tests.slack.harness import SECRET, Harness, serve


@pytest.fixture
async def slack(kb: KnowledgeBase) -> AsyncIterator[Harness]:
    async with FakeSlack() as fake:
        adapter = SlackAdapter(
            Engine(kb, MemoryStore()),
            client=web_client("xoxb-test-token", fake.api_url),
            signing_secret=SECRET,
            pacer=ChannelPacer(interval=0),
        )
        runner, url = await serve(adapter)
        async with aiohttp.ClientSession() as session:
            yield Harness(fake, adapter, url, session)
        await runner.cleanup()
        assert fake.problems == [], "the adapter sent a payload Slack would reject"
