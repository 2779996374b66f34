"""Shared fixtures: the shipped knowledge base (validated once per run) and engines on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.engine import Engine
from bot.knowledge import KnowledgeBase, load
from bot.replies import Reply, render_text

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load(DEFAULT_KNOWLEDGE_DIR)


@pytest.fixture(scope="session")
def engine(kb: KnowledgeBase) -> Engine:
    return Engine(kb)


def text_of(replies: list[Reply]) -> str:
    """All replies as the plain text a person would read."""
    return "\n\n".join(render_text(r) for r in replies)
