"""The understanding index cached beside the knowledge (:func:`bot.matching.load_matcher`):
the same answers from a cached matcher as from a fresh one, and only a file this install
signed is ever loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import Engine
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher, load_matcher
from bot.replies import render_text

QUESTIONS = [
    "flask vs djngo",
    "which framework came out of FriendFeed",
    "best for websockets, not django",
    "something like flask but async",
    "what event loop does sanic use",
    "list microframeworks",
]


def test_a_cached_matcher_answers_like_a_fresh_one(kb: KnowledgeBase, tmp_path: Path) -> None:
    first = load_matcher(kb, tmp_path)  # built, then written
    assert list(tmp_path.glob("matcher-*.pickle"))
    second = load_matcher(kb, tmp_path)  # read back
    assert second is not first and second.kb is kb and isinstance(second, Matcher)
    fresh, cached = Engine(kb, matcher=Matcher(kb)), Engine(kb, matcher=second)
    for q in QUESTIONS:
        assert render_text(cached.answer_once(q)[0]) == render_text(fresh.answer_once(q)[0]), q


def test_a_tampered_matcher_cache_is_rebuilt(
    kb: KnowledgeBase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_matcher(kb, tmp_path)
    [path] = tmp_path.glob("matcher-*.pickle")
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    matcher = load_matcher(kb, tmp_path)
    assert "not signed by this install" in caplog.text
    assert "Flask" in render_text(Engine(kb, matcher=matcher).answer_once("flask vs django")[0])


def test_no_cache_dir_builds_in_memory(kb: KnowledgeBase) -> None:
    assert load_matcher(kb, None).kb is kb


def test_the_knowledge_base_pickles_to_an_equal_copy(kb: KnowledgeBase) -> None:
    import pickle

    copy = pickle.loads(pickle.dumps(kb, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == kb and copy is not kb
    fw = next(iter(copy.frameworks.values()))
    with pytest.raises(AttributeError):  # still frozen
        fw.name = "x"  # type: ignore[misc]
