"""Running the Slack adapter: configuration checks, Socket Mode against the fake websocket, and
HTTP mode started and stopped by the runner."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import aiohttp
import pytest

from adapters.cli import main
from adapters.slack.app import SlackAdapter
from adapters.slack.client import web_client
from adapters.slack.pacing import ChannelPacer
from adapters.slack.runner import EVENTS_PATH, SlackConfig, check, serve
from bot.config import Settings
from bot.engine import Engine
from bot.errors import ConfigError
from bot.knowledge import KnowledgeBase
from bot.sessions import MemoryStore
from tests.loopback import free_port
from tests.slack.fake_slack import BOT_USER, FakeSlack
from tests.slack.harness import CHANNEL, USER, event_callback, mention

SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xapp-1-wrong-kind"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "x"},
            "SLACK_API_URL",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "ADVISOR_HTTP_PORT": "80a"},
            "ADVISOR_HTTP_PORT",
        ),
    ],
)
def test_bad_configuration_names_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        check(Settings.from_env(env))


def test_modes_follow_the_tokens() -> None:
    http = check(Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}))
    assert (http.mode, http.signing_secret) == ("http", "s")
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s"}
    assert check(Settings.from_env(env)).mode == "socket"
    assert "xoxb-1" not in repr(Settings.from_env(env))


def test_advisor_slack_exits_2_naming_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in SLACK_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ADVISOR_CACHE_DIR", "off")
    err = io.StringIO()
    assert main(["slack"], stdout=io.StringIO(), stderr=err) == 2
    assert "SLACK_BOT_TOKEN" in err.getvalue()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    err = io.StringIO()
    assert main([], stdout=io.StringIO(), stderr=err) == 2, "tokens set: bare `advisor` runs Slack"
    assert "SLACK_SIGNING_SECRET" in err.getvalue()
    assert "xoxb-secret-value" not in err.getvalue()


async def _adapter(kb: KnowledgeBase, fake: FakeSlack, secret: str = "") -> SlackAdapter:
    return SlackAdapter(
        Engine(kb, MemoryStore()),
        client=web_client("xoxb-test-token", fake.api_url),
        signing_secret=secret,
        pacer=ChannelPacer(interval=0),
    )


async def test_socket_mode_acks_envelopes_and_answers(kb: KnowledgeBase) -> None:
    async with FakeSlack() as fake:
        adapter = await _adapter(kb, fake)
        settings = Settings(slack_api_url=fake.api_url)
        config = SlackConfig("socket", "xoxb-test-token", app_token="xapp-1-test")
        stop = asyncio.Event()
        running = asyncio.create_task(serve(config, settings, adapter, stop))
        try:
            event = mention(f"<@{BOT_USER}> flask vs pyramid")
            ack = await fake.envelope("events_api", event_callback(event))
            assert set(ack) == {"envelope_id"}
            await adapter.drain()
            [reply] = fake.of("chat.postMessage")
            assert reply.params["thread_ts"] == event["ts"]

            command: dict[str, Any] = {
                "token": "t",
                "team_id": "T0FAKE",
                "channel_id": CHANNEL,
                "user_id": USER,
                "command": "/pyframework",
                "text": "about falcon",
                "response_url": fake.response_url(),
                "trigger_id": "1.2.3",
                "api_app_id": "A0FAKE",
            }
            ack = await fake.envelope("slash_commands", command)
            assert ack["payload"]["response_type"] == "ephemeral"
            assert "Falcon" in json.dumps(ack["payload"]["blocks"])
        finally:
            stop.set()
            await asyncio.wait_for(running, 10)
        [opened] = fake.of("apps.connections.open")
        assert opened.headers["Authorization"] == "Bearer xapp-1-test"
        assert fake.problems == []


async def test_http_mode_serves_at_slack_events_until_stopped(kb: KnowledgeBase) -> None:
    async with FakeSlack() as fake:
        adapter = await _adapter(kb, fake, secret="s3cret")
        port = free_port()
        settings = Settings(slack_api_url=fake.api_url, http_host="127.0.0.1", http_port=port)
        stop = asyncio.Event()
        running = asyncio.create_task(serve(SlackConfig("http", "xoxb-t"), settings, adapter, stop))
        url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
        async with aiohttp.ClientSession() as session:
            for _ in range(50):
                try:
                    async with session.post(url, data=b"{}") as resp:
                        assert resp.status == 401, "unsigned requests are refused"
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("HTTP mode never listened")
        stop.set()
        await asyncio.wait_for(running, 10)
        assert running.exception() is None
