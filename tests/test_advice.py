"""The articles' own advice as expected rankings (tests/data/article_advice.yaml).

Each row names the article that gives the advice; a one-shot request (``ask``) or a set of
selection answers (``answers``) must rank the framework the article names within the given
places. The table was written from the five articles alone, before the scores were revised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine import Engine
from bot.knowledge import KnowledgeBase
from bot.recommend import causes_from, rank

TABLE = yaml.safe_load((Path(__file__).parent / "data" / "article_advice.yaml").read_text())


def _id(row: dict[str, Any]) -> str:
    return f"{row['article']}-{row['expect']}-{row.get('ask', '')[:30] or 'flow'}"


@pytest.fixture(scope="module")
def engine(kb: KnowledgeBase) -> Engine:
    return Engine(kb)


def _top(engine: Engine, ask: str) -> list[str]:
    reply = engine.answer_once(ask)[0]
    return list(reply.frameworks) if reply.kind == "recommendation" else []


#: Share of the one-shot requests that must rank the advised framework where the article puts
#: it. The misses left are readings of the request, not scores: "breaking our monolith into
#: services" read as a monolith, "our in-house orm" as a database need, "the full-stack options
#: feel like overkill" as wanting batteries (the answers-only half below checks the scores).
ONE_SHOT_FLOOR = 0.75


@pytest.mark.parametrize("row", [r for r in TABLE["rows"] if r.get("required")], ids=_id)
def test_the_issues_examples_rank_where_their_article_puts_them(
    engine: Engine, kb: KnowledgeBase, row: dict[str, Any]
) -> None:
    top = _top(engine, row["ask"])
    want = kb.frameworks[row["expect"]].name
    assert want in top[: row["within"]], f"{row['article']}: {row['says']} -> {top}"


def test_one_shot_requests_rank_the_framework_their_article_advises(
    engine: Engine, kb: KnowledgeBase
) -> None:
    missed = []
    for row in TABLE["rows"]:
        top = _top(engine, row["ask"])
        if kb.frameworks[row["expect"]].name not in top[: row["within"]]:
            missed.append(f"{row['article']} {row['expect']}: {row['ask']!r} -> {top}")
    share = 1 - len(missed) / len(TABLE["rows"])
    assert share >= ONE_SHOT_FLOOR, "\n".join(missed)


@pytest.mark.parametrize("row", TABLE["flows"], ids=_id)
def test_selection_answers_rank_the_framework_their_article_advises(
    kb: KnowledgeBase, row: dict[str, Any]
) -> None:
    answers = {str(k): str(v) for k, v in row["answers"].items()}
    ranking = rank(kb, causes_from(kb, answers))
    top = [r.framework for r in ranking.items]
    assert row["expect"] in top[: row["within"]], f"{row['article']}: {row['says']} -> {top[:5]}"
