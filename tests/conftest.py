"""Shared fixtures: the shipped knowledge base (validated once per run) and engines on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.engine import Engine
from bot.knowledge import KnowledgeBase, load
from bot.replies import Reply, render_text
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load(DEFAULT_KNOWLEDGE_DIR)


@pytest.fixture(scope="session")
def engine(kb: KnowledgeBase) -> Engine:
    return Engine(kb)


@pytest.fixture(scope="session")
def redis_session_server() -> Iterator[RedisServer]:
    """One redis-server for the whole run (see :mod:`tests.redis_server`)."""
    server = RedisServer().start()
    yield server
    server.close()


@pytest.fixture
def redis_url(redis_session_server: RedisServer) -> str:
    """The shared server's URL, emptied before the test."""
    redis_session_server.flush()
    return redis_session_server.url


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, which it may stop and start."""
    server = RedisServer().start()
    yield server
    server.close()


def text_of(replies: list[Reply]) -> str:
    """All replies as the plain text a person would read."""
    return "\n\n".join(render_text(r) for r in replies)
