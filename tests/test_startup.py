"""What a process carries (issue 15): the modules `advisor ask` imports, which must leave out
everything a one-shot answer does not need, and the ``process_*`` / ``python_*`` metrics that
``/metrics`` serves. Real processes and a real scrape; no timings (benchmarks/bench_cli.py
times it)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.ops import Operations
from bot.engine import Engine
from bot.knowledge import KnowledgeBase
from bot.metrics import Metrics
from tests.loopback import serve_app

#: Never imported by `advisor ask`, with or without the knowledge cache.
NOT_ON_ASK_PATH = (
    "prometheus_client",
    "asyncio",
    "aiohttp",
    "slack_bolt",
    "slack_sdk",
    "discord",
    "redis",
    "pythonjsonlogger",
    "bot.metrics",
    "bot.sessions",
    "bot.conversation",
)
#: Only needed to read and validate the YAML, so not imported when the cache serves it.
PARSING_ONLY = ("yaml", "jsonschema", "bot.schema")


def imported_by_ask(cache: str, question: str = "flask vs django") -> set[str]:
    """Every module `python -X importtime -m adapters.cli ask QUESTION` imports (top-level
    packages and dotted names), with ``ADVISOR_CACHE_DIR=cache``."""
    env = {**os.environ, "ADVISOR_CACHE_DIR": cache}
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "adapters.cli", "ask", question],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "Flask vs Django" in out.stdout
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in out.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "bot.answers" in names, "no import-time report: is -X importtime honoured?"
    return names | {n.split(".")[0] for n in names}


@pytest.fixture
def warm_cache(tmp_path: Path) -> str:
    """A private knowledge-cache directory that one `advisor ask` has filled."""
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    first = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "ask", "help"],
        capture_output=True,
        text=True,
        env={**os.environ, "ADVISOR_CACHE_DIR": str(cache)},
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    assert any(cache.iterdir()), "the first run wrote no knowledge cache"
    return str(cache)


def test_ask_with_the_cache_imports_no_server_metrics_async_or_parsing(warm_cache: str) -> None:
    names = imported_by_ask(warm_cache, "flask vs django for a team of 3")
    assert not names & {*NOT_ON_ASK_PATH, *PARSING_ONLY}


def test_ask_without_the_cache_imports_no_server_metrics_or_async() -> None:
    names = imported_by_ask("off")
    assert not names & set(NOT_ON_ASK_PATH)
    assert "jsonschema" in names, "with the cache off the knowledge is validated"


def test_engine_makes_its_metrics_store_and_context_once_on_first_use(
    kb: KnowledgeBase,
) -> None:
    engine = Engine(kb)
    assert engine.metrics is engine.metrics and engine.store is engine.store
    assert engine.context is engine.context and engine.context.matcher is engine.matcher
    given = Metrics()
    assert Engine(kb, metrics=given).metrics is given


async def test_metrics_scrape_has_process_and_python_families(kb: KnowledgeBase) -> None:
    engine = Engine(kb)
    engine.answer_once("flask vs django", platform="slack")
    runner, port = await serve_app(Operations(engine).app())
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            assert resp.status == 200
            text = await resp.text()
    finally:
        await runner.cleanup()
    samples = {s.name: s for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples["python_info"].labels["implementation"] == platform.python_implementation()
    assert "advisor_messages_total" in samples
    if sys.platform == "linux":
        assert samples["process_resident_memory_bytes"].value > 1_000_000
        assert samples["process_open_fds"].value >= 1
    if sys.implementation.name == "cpython":
        assert "python_gc_objects_collected_total" in samples


def test_each_metrics_gets_its_own_process_collectors() -> None:
    """Two Metrics in one process (two engines in a test) never collide."""
    a, b = Metrics(), Metrics()
    assert b"python_info" in a.exposition() and b"python_info" in b.exposition()
