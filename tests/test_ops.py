"""Operations: /metrics counts, the selection funnel, /readyz while draining, JSON logs, and the
new settings."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.ops import Operations
from bot import logs
from bot.config import Settings, ShardPlan
from bot.engine import Engine, Incoming
from bot.errors import ConfigError
from bot.knowledge import KnowledgeBase
from bot.sessions import ConversationKey, MemoryStore
from tests.loopback import serve_app

KEY = ConversationKey(platform="slack", workspace="T", channel="C", thread="1", user="U")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parse an exposition into {(sample name, sorted labels): value}."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=")
        return samples(await resp.text())


async def test_metrics_count_messages_funnel_and_active_sessions(kb: KnowledgeBase) -> None:
    engine = Engine(kb, MemoryStore())
    runner, port = await serve_app(Operations(engine).app())
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        before = await scrape(url)
        assert before[("advisor_active_sessions", ())] == 0
        assert (
            "advisor_messages_total",
            (("intent", "compare"), ("platform", "slack")),
        ) not in before

        await engine.handle(Incoming(key=KEY, text="flask vs django"))
        await engine.handle(Incoming(key=KEY, text="help me pick"))
        first_q = kb.questions[0].id
        await engine.handle(Incoming(key=KEY, text="1"))
        mid = await scrape(url)
        assert mid[("advisor_messages_total", (("intent", "compare"), ("platform", "slack")))] == 1
        assert mid[("advisor_flow_total", (("question", ""), ("stage", "started")))] == 1
        assert mid[("advisor_flow_total", (("question", first_q), ("stage", "answered")))] == 1
        assert mid[("advisor_active_sessions", ())] == 1
        assert mid[("advisor_turn_seconds_count", (("platform", "slack"),))] == 3

        # walk away mid-flow and start again: one abandoned at the pending question
        pending = kb.questions[1].id
        await engine.handle(Incoming(key=KEY, text="start over"))
        for _ in kb.questions:
            await engine.handle(Incoming(key=KEY, text="1"))
        after = await scrape(url)
        assert after[("advisor_flow_total", (("question", pending), ("stage", "abandoned")))] == 1
        assert after[("advisor_flow_total", (("question", ""), ("stage", "started")))] == 2
        assert after[("advisor_flow_total", (("question", ""), ("stage", "recommended")))] == 1
        assert after[("advisor_flow_total", (("question", first_q), ("stage", "answered")))] == 2

        engine.metrics.share("slack")
        engine.metrics.error("incident")
        last = await scrape(url)
        assert last[("advisor_shares_total", (("platform", "slack"),))] == 1
        assert last[("advisor_errors_total", (("kind", "incident"),))] == 1
    finally:
        await runner.cleanup()


async def test_readiness_turns_false_while_draining(kb: KnowledgeBase) -> None:
    ops = Operations(Engine(kb, MemoryStore()))
    report = await ops.ready()
    assert report["ready"] and report["knowledge"] == kb.version
    ops.draining = True
    assert not (await ops.ready())["ready"]


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("json", "INFO", stream)
    yield stream
    for h in root.handlers[:]:
        root.removeHandler(h)
    for h in saved[0]:
        root.addHandler(h)
    root.setLevel(saved[1])


async def test_json_logs_carry_context_and_never_the_message_text(
    kb: KnowledgeBase, json_logs: io.StringIO
) -> None:
    class Down(MemoryStore):
        async def get(self, key: str, now: float):  # type: ignore[no-untyped-def]
            from bot.errors import StoreUnavailable

            raise StoreUnavailable("connection refused")

    engine = Engine(kb, Down())
    secret_text = "help me pick for project NIGHTJAR-7731"
    logs.bind(request_id="Ev123")
    await engine.handle(Incoming(key=KEY, text=secret_text))
    logging.getLogger("adapters.test").info("after the turn", extra={"incident": "abcd1234"})
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    assert lines, "the store outage is logged"
    warning = next(r for r in lines if r["level"] == "WARNING")
    assert warning["platform"] == "slack" and warning["request_id"] == "Ev123"
    assert warning["logger"] == "bot.engine" and "time" in warning
    handled = next(r for r in lines if r["message"].startswith("handled"))
    assert handled["level"] == "INFO" and handled["intent"] == "help"
    assert handled["platform"] == "slack" and handled["request_id"] == "Ev123"
    assert handled["duration_ms"] >= 0
    last = lines[-1]
    assert last["message"] == "after the turn" and last["incident"] == "abcd1234"
    assert last["intent"] == "help"
    assert "NIGHTJAR" not in json_logs.getvalue()
    assert "context" not in last


def test_text_logs_show_the_context_in_brackets() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:]
    try:
        logs.configure("text", "INFO", stream)
        logs.bind(platform="discord")
        logging.getLogger("x").info("hello")
    finally:
        for h in root.handlers[:]:
            root.removeHandler(h)
        for h in saved:
            root.addHandler(h)
    assert stream.getvalue().rstrip().endswith("x: hello [platform=discord]")


#: What a line logged at 21:16:13.913 UTC on 21 November 2026 shows as its time.
ISO_EXAMPLE = "2026-11-21T21:16:13.913+00:00"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_times_are_iso_8601_in_utc_whatever_the_local_zone(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = datetime(2026, 11, 21, 21, 16, 13, 913_000, tzinfo=UTC)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    record.created, record.msecs = made.timestamp(), 913.0
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30: a local time would show
    time.tzset()
    try:
        logs.configure(fmt, "INFO", stream)
        [handler] = root.handlers
        handler.handle(record)
        before = datetime.now(UTC)
        logging.getLogger("x").info("now")
        after = datetime.now(UTC)
    finally:
        monkeypatch.undo()
        time.tzset()
        for h in root.handlers[:]:
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
    lines = stream.getvalue().splitlines()
    if fmt == "json":
        times = [json.loads(line)["time"] for line in lines]
    else:
        times = [line.split(" ", 1)[0] for line in lines]
    assert times[0] == ISO_EXAMPLE
    now = datetime.fromisoformat(times[1])
    assert now.utcoffset() == timedelta(0)
    assert before - timedelta(milliseconds=1) <= now <= after, "milliseconds, truncated"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ADVISOR_REDIS_URL": "http://redis:6379"}, "ADVISOR_REDIS_URL"),
        ({"ADVISOR_STORE": "redis"}, "ADVISOR_REDIS_URL"),
        ({"ADVISOR_LOG_FORMAT": "xml"}, "ADVISOR_LOG_FORMAT"),
        ({"ADVISOR_LOG_LEVEL": "loud"}, "ADVISOR_LOG_LEVEL"),
        ({"ADVISOR_OPS_PORT": "http"}, "ADVISOR_OPS_PORT"),
        ({"ADVISOR_DISCORD_SHARDS": "two"}, "ADVISOR_DISCORD_SHARDS"),
        ({"ADVISOR_DISCORD_SHARDS": "4:3-4"}, "ADVISOR_DISCORD_SHARDS"),
        ({"ADVISOR_DISCORD_SHARDS": "4:1,1"}, "ADVISOR_DISCORD_SHARDS"),
    ],
)
def test_bad_operations_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_operations_settings() -> None:
    s = Settings.from_env({"ADVISOR_REDIS_URL": "redis://:pw@redis:6379/0"})
    assert s.store == "redis" and s.ops_port == 8080 and s.log_format == "text"
    assert (
        Settings.from_env({"ADVISOR_REDIS_URL": "redis://r", "ADVISOR_STORE": "sqlite"}).store
        == "sqlite"
    )
    assert Settings.from_env({"ADVISOR_OPS_PORT": "off"}).ops_port is None
    assert Settings.from_env({"ADVISOR_DISCORD_SHARDS": "auto"}).discord_shards == ShardPlan()
    assert Settings.from_env({"ADVISOR_DISCORD_SHARDS": "6:2-3,5"}).discord_shards == ShardPlan(
        count=6, ids=(2, 3, 5)
    )
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"ADVISOR_REDIS_URL": "http://:hunter2@redis:6379"})
    assert "hunter2" not in str(err.value), "the password never reaches the message"


def test_serve_without_any_token_exits_2_naming_both_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from adapters.cli import main

    for name in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ADVISOR_CACHE_DIR", "off")
    err = io.StringIO()
    assert main(["serve"], stdout=io.StringIO(), stderr=err) == 2
    assert "SLACK_BOT_TOKEN, DISCORD_TOKEN" in err.getvalue()
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("ADVISOR_REDIS_URL", "redis://127.0.0.1:notaport/0")
    err = io.StringIO()
    assert main(["serve"], stdout=io.StringIO(), stderr=err) == 2
    assert "ADVISOR_REDIS_URL" in err.getvalue()


async def test_ops_endpoints_share_the_slack_http_port_when_asked(kb: KnowledgeBase) -> None:
    import asyncio

    from adapters.serve import Plan, serve
    from adapters.slack.runner import SlackConfig
    from bot.dedupe import MemoryDedupe
    from tests.loopback import free_port

    port = free_port()
    settings = Settings(http_host="127.0.0.1", http_port=port, ops_host="127.0.0.1", ops_port=port)
    stop, started = asyncio.Event(), asyncio.Event()
    engine = Engine(kb, MemoryStore())
    checked = Plan(slack=SlackConfig("http", "xoxb-t", signing_secret="s"))
    running = asyncio.create_task(
        serve(checked, settings, engine, MemoryDedupe(), stop, started=started)
    )
    await asyncio.wait_for(started.wait(), 10)
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(f"{base}/healthz") as resp:
                    assert resp.status == 200
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        async with http.get(f"{base}/readyz") as resp:
            assert resp.status == 200
        async with http.post(f"{base}/slack/events", data=b"{}") as resp:
            assert resp.status == 401, "the Slack endpoint is on the same server, and verifies"
    stop.set()
    await asyncio.wait_for(running, 15)
