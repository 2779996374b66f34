"""Selection-conversation accuracy on the project's own transcript sets, per category.

Run: .venv/bin/python -m benchmarks.bench_conversations [--show dev|heldout]

The sets live in ``tests/transcripts/sets/``: ``dev.yaml`` and ``dev2.yaml`` are tuned on;
``heldout.yaml`` is only reported (its failures are printed only with ``--show heldout``).
All were written from ``knowledge/questions.yaml`` and a description of the behaviour, by
people who never read the code. A conversation passes when every check of every step passes (format:
:mod:`tests.transcript`); a step passes when all its checks do. ``tests/test_conversation.py``
fails when either set drops below its floor.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
from pathlib import Path
from typing import Any

import yaml

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge import KnowledgeBase, load
from tests.transcript import run

SET_DIR = Path(__file__).resolve().parent.parent / "tests" / "transcripts" / "sets"
SETS = ("dev", "dev2", "heldout")


def load_set(name: str) -> list[dict[str, Any]]:
    """The conversations of one set; empty when the file is missing."""
    path = SET_DIR / f"{name}.yaml"
    return list(yaml.safe_load(path.read_text()) or []) if path.exists() else []


async def score(kb: KnowledgeBase, name: str) -> tuple[list[tuple[dict[str, Any], list[str]]], int]:
    """Every conversation of set ``name`` with its problems, and the number of passing steps."""
    results = []
    steps_ok = 0
    for conversation in load_set(name):
        problems = await run(kb, conversation)
        failed = {p.split(" ", 2)[1] for p in problems}
        steps_ok += len(conversation["steps"]) - len(failed)
        results.append((conversation, problems))
    return results, steps_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", choices=SETS, action="append", default=[])
    parser.add_argument("--only", choices=SETS, action="append", default=[])
    args = parser.parse_args()
    kb = load(DEFAULT_KNOWLEDGE_DIR)
    for name in args.only or SETS:
        results, steps_ok = asyncio.run(score(kb, name))
        if not results:
            continue
        steps = sum(len(c["steps"]) for c, _ in results)
        passed = sum(1 for _, p in results if not p)
        print(
            f"{name}: {passed}/{len(results)} conversations = {100 * passed / len(results):.1f}%"
            f"   steps {steps_ok}/{steps} = {100 * steps_ok / steps:.1f}%"
        )
        by_category: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
        for conversation, problems in results:
            tally = by_category[str(conversation.get("category", "-"))]
            tally[0] += not problems
            tally[1] += 1
        for category, (ok, total) in sorted(by_category.items()):
            print(f"  {category:<18} {ok}/{total}")
        if name in args.show:
            for conversation, problems in results:
                if problems:
                    print(f"\n## {conversation['name']} [{conversation.get('category')}]")
                    print("\n".join(problems))


if __name__ == "__main__":
    main()
