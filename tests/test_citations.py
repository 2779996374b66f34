"""Every cited word true: a ranked reason cites exactly its claim's sources, once per framework,
and never an article that does not name the framework (checked against the articles)."""

from __future__ import annotations

import random

import pytest

from bot.audit import KINDS, article_names, audit
from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.engine import Engine
from bot.knowledge import KnowledgeBase
from bot.recommend import Cause, Ranking, causes_from, rank
from bot.replies import render_text
from tests.conftest import SEEDS

needs_seeds = pytest.mark.skipif(
    not SEEDS.is_dir(), reason="shared/seeds is not beside the checkout"
)


def _rankings(kb: KnowledgeBase) -> list[Ranking]:
    """A ranking under every single answer and signal, plus 40 seeded mixes of several."""
    runs: list[list[Cause]] = [
        causes_from(kb, {q.id: o.id}) for q in kb.questions for o in q.options
    ]
    runs += [causes_from(kb, {}, [s.id]) for s in kb.signals]
    rng = random.Random(13)
    for _ in range(40):
        answers = {q.id: rng.choice(q.options).id for q in kb.questions if rng.random() < 0.7}
        runs.append(causes_from(kb, answers, [rng.choice(kb.signals).id]))
    return [rank(kb, causes) for causes in runs if causes]


def test_a_reason_cites_exactly_the_sources_of_the_claim_it_shows(kb: KnowledgeBase) -> None:
    for ranking in _rankings(kb):
        for item in ranking.top(3):
            fw = kb.frameworks[item.framework]
            for reason in (*item.pros, *item.cons):
                if reason.trait == "search":
                    continue
                assert fw.traits is not None
                claim = fw.traits[reason.trait]
                assert reason.why == claim.why and reason.sources == claim.sources


def test_each_trait_shows_once_per_framework_with_every_cause_that_moved_it(
    kb: KnowledgeBase,
) -> None:
    # Two answers that both weigh small_footprint (what=device and deploy=embedded).
    ranking = rank(kb, causes_from(kb, {"what": "device", "deploy": "embedded"}))
    bottle = ranking.position("bottle")
    assert bottle is not None
    footprint = [r for r in bottle.pros if r.trait == "small_footprint"]
    assert len(footprint) == 1
    assert "Building: " in footprint[0].cause_label or ";" in footprint[0].cause_label
    assert len(footprint[0].also) == 1
    for ranking in _rankings(kb):
        for item in ranking.top(3):
            whys = [r.why for r in (*item.pros, *item.cons)]
            assert len(whys) == len(set(whys)), (item.framework, whys)


def test_a_ranking_reply_prints_each_reason_once(engine: Engine) -> None:
    text = "\n".join(
        render_text(r)
        for r in engine.answer_once("tiny embedded device, raspberry pi, zero dependencies")
    )
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(("+", "-"))]
    assert lines and len(lines) == len(set(lines)), text


@needs_seeds
def test_no_ranked_reason_cites_an_article_that_does_not_name_its_framework(
    kb: KnowledgeBase,
) -> None:
    named = article_names(DEFAULT_KNOWLEDGE_DIR, SEEDS)
    assert set(named) == {"alibaba", "greeden", "stxnext", "svitla", "netguru"}
    pairs, wrong = 0, []
    for ranking in _rankings(kb):
        for item in ranking.top(3):
            for reason in (*item.pros, *item.cons):
                for sid in reason.sources:
                    if sid in named:
                        pairs += 1
                        if item.framework not in named[sid]:
                            wrong.append((item.framework, sid, reason.why))
    assert pairs > 200 and not wrong, wrong[:5]


@needs_seeds
def test_the_shipped_knowledge_passes_the_citation_check() -> None:
    report = audit(DEFAULT_KNOWLEDGE_DIR, SEEDS)
    assert not report.missing
    assert {k: report.count(k) for k in KINDS} == dict.fromkeys(KINDS, 0), [
        str(f) for f in report.findings
    ]


@needs_seeds
def test_the_citation_check_finds_what_the_articles_do_not_say(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import shutil

    copy = tmp_path_factory.mktemp("k") / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, copy)
    path = copy / "frameworks" / "sanic.yaml"
    text = path.read_text()
    # Svitla never names Sanic; 1987 is a year no article gives.
    text = text.replace(
        "facts:\n",
        "facts:\n  - text: Sanic first shipped in 1987.\n    sources: [svitla, stxnext]\n",
        1,
    )
    path.write_text(text)
    report = audit(copy, SEEDS)
    kinds = sorted((f.kind, f.source) for f in report.findings)
    assert kinds == [("number", "svitla"), ("unnamed", "svitla")], kinds
