"""Golden questions written from the seed articles (tests/golden/*.yaml), one test each."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine import Engine
from bot.replies import render_text
from tests.conftest import text_of

GOLDEN = Path(__file__).parent / "golden"


def _cases() -> list[Any]:
    out = []
    for path in sorted(GOLDEN.glob("*.yaml")):
        for i, case in enumerate(yaml.safe_load(path.read_text()) or []):
            out.append(pytest.param(case, id=f"{path.stem}-{i}-{case['q'][:40]}"))
    return out


CASES = _cases()


def test_enough_golden_questions_covering_every_full_entry(engine: Engine) -> None:
    assert len(CASES) >= 40
    covered = {p.id.split("-")[0] for p in CASES}
    assert {f.id for f in engine.kb.full_frameworks()} <= covered


@pytest.mark.parametrize("case", CASES)
def test_golden(engine: Engine, case: dict[str, Any]) -> None:
    replies = engine.answer_once(case["q"])
    first = replies[0]
    text = text_of(replies)
    assert first.intent == case["intent"], text
    names = {f.id: f.name for f in engine.kb.frameworks.values()}
    if "frameworks" in case:
        assert list(first.frameworks[: len(case["frameworks"])]) == [
            names[f] for f in case["frameworks"]
        ], text
    for needle in case.get("contains", []):
        assert str(needle).lower() in text.lower(), f"{needle!r} missing from:\n{text}"
    if "top1" in case:
        assert first.frameworks[0] == names[case["top1"]], text
    if "top3" in case:
        assert {names[f] for f in case["top3"]} & set(first.frameworks[:3]), text


@pytest.mark.parametrize("case", CASES)
def test_every_cited_source_is_in_the_footer(engine: Engine, case: dict[str, Any]) -> None:
    for reply in engine.answer_once(case["q"]):
        body = render_text(reply).split("\n\nSources:\n")[0]
        cited = {
            s.strip() for group in re.findall(r"\[([a-z0-9, -]+)\]", body) for s in group.split(",")
        }
        cited &= set(engine.kb.sources)
        assert cited <= {s.id for s in reply.sources}, case["q"]
