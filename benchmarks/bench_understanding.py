"""Understanding accuracy on the project's own paraphrase set, per category, for both halves.

Run: .venv/bin/python -m benchmarks.bench_understanding [--show dev|heldout] [--set FILE]

The set lives in ``tests/understanding/``: ``dev.yaml`` to ``dev4.yaml`` are
tuned on (dev3 and dev4 were earlier held-out sets, reported once, then tuned on); ``heldout.yaml``
is only reported (its misses are printed only with ``--show heldout``). Each case is a question as
people write it with the expected behaviour of ``advisor ask --json`` (format: README.md there).
``tests/test_understanding.py`` fails when either half drops below its floor.

Accuracy does not depend on the caches (an answer is a function of the text). The time of each
answer is printed too, on one engine: a question's first ask (new to the process) apart from
its repeats in later halves (cache hits), with the ratio to a trivial engine call timed in the
same run (``Engine.help()``, which no cache keeps).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import percentile, summary
from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.engine import Engine
from bot.knowledge import load
from bot.replies import render_text

SET_DIR = Path(__file__).resolve().parent.parent / "tests" / "understanding"
HALVES = ("dev", "dev2", "dev3", "dev4", "heldout")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One case's result: ``problems`` is empty when every check passed; ``seconds`` is how
    long :meth:`Engine.answer_once` took."""

    case: Mapping[str, Any]
    intent: str
    frameworks: tuple[str, ...]
    problems: tuple[str, ...]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def load_cases(half: str) -> list[dict[str, Any]]:
    """The cases of one half (``dev`` or ``heldout``); empty when the file is missing."""
    path = SET_DIR / f"{half}.yaml"
    return list(yaml.safe_load(path.read_text()) or []) if path.exists() else []


def check(engine: Engine, case: Mapping[str, Any]) -> Outcome:
    """Run one case through :meth:`Engine.answer_once` and apply its checks."""
    start = time.perf_counter()
    replies = engine.answer_once(str(case["q"]))
    seconds = time.perf_counter() - start
    first = replies[0]
    by_name = {f.name: f.id for f in engine.kb.frameworks.values()}
    fws = tuple(by_name.get(n, n) for n in first.frameworks)
    text = "\n\n".join(render_text(r) for r in replies).lower()
    problems: list[str] = []
    intents = _as_list(case.get("intent"))
    if intents and first.intent not in intents:
        problems.append(f"intent {first.intent} not in {intents}")
    top = _as_list(case.get("top"))
    if top and (not fws or fws[0] not in top):
        problems.append(f"first {fws[:1]} not in {top}")
    top3 = _as_list(case.get("top3"))
    if top3 and not set(top3) & set(fws[:3]):
        problems.append(f"none of {top3} in top three {fws[:3]}")
    missing = [f for f in _as_list(case.get("includes")) if f not in fws]
    if missing:
        problems.append(f"missing {missing}")
    present = [f for f in _as_list(case.get("absent")) if f in fws]
    if present:
        problems.append(f"should be absent: {present}")
    if fws and fws[0] in _as_list(case.get("not_first")):
        problems.append(f"{fws[0]} should not be first")
    for word in _as_list(case.get("words")):
        if not any(alt.strip().lower() in text for alt in str(word).split("|")):
            problems.append(f"no {word!r} in the reply")
    return Outcome(case, first.intent, fws, tuple(problems), seconds)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def accuracy(outcomes: Sequence[Outcome]) -> dict[str, tuple[int, int]]:
    """Category -> (passed, total), plus ``all``."""
    out: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for o in outcomes:
        for cat in (str(o.case.get("category", "other")), "all"):
            out[cat][0] += o.ok
            out[cat][1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def evaluate(engine: Engine, half: str) -> list[Outcome]:
    """Every case of ``half`` checked against ``engine``."""
    return [check(engine, c) for c in load_cases(half)]


def table(results: Mapping[str, Mapping[str, tuple[int, int]]]) -> str:
    """Per-category accuracy, one row per category, one column per half."""
    cats = sorted({c for r in results.values() for c in r if c != "all"}) + ["all"]
    lines = [f"{'category':<20}" + "".join(f"{h:>18}" for h in results)]
    for cat in cats:
        cells = []
        for r in results.values():
            passed, total = r.get(cat, (0, 0))
            cells.append(f"{passed:>4}/{total:<4} {100 * passed / total:5.1f}%" if total else "-")
        lines.append(f"{cat:<20}" + "".join(f"{c:>18}" for c in cells))
    return "\n".join(lines)


def misses(outcomes: Iterable[Outcome]) -> str:
    """The confusion list: each failed case with what went wrong."""
    return "\n".join(
        f"[{o.case.get('category')}] {o.case['q']!r} -> {o.intent} {list(o.frameworks[:3])}: "
        + "; ".join(o.problems)
        for o in outcomes
        if not o.ok
    )


def timing(engine: Engine, outcomes: Iterable[Outcome]) -> str:
    """Answer times: first asks and repeats (cache hits) apart, with their ratio to a median
    :meth:`Engine.help` call timed now."""
    seen: set[str] = set()
    first: list[float] = []
    repeat: list[float] = []
    for o in outcomes:
        q = str(o.case["q"])
        (repeat if q in seen else first).append(o.seconds)
        seen.add(q)
    anchor = []
    for _ in range(200):
        start = time.perf_counter()
        engine.help()
        anchor.append(time.perf_counter() - start)
    base = statistics.median(anchor)
    lines = [summary("answer time, first ask of a question", first)]
    if repeat:
        lines.append(summary("answer time, repeated question (cache hit)", repeat))
    lines.append(
        f"first ask p99 / anchor (Engine.help(), {base * 1e6:.1f} us) = "
        f"{percentile(first, 99) / base:.1f}x"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show", choices=HALVES, help="print the misses of this half")
    parser.add_argument(
        "--only", choices=HALVES, help="evaluate one half only (tune with --only dev)"
    )
    args = parser.parse_args(argv)
    engine = Engine(load(DEFAULT_KNOWLEDGE_DIR))
    outcomes = {h: evaluate(engine, h) for h in HALVES if args.only in (None, h)}
    print(table({h: accuracy(o) for h, o in outcomes.items()}))
    print(timing(engine, (o for h in outcomes.values() for o in h)))
    if args.show and args.show in outcomes:
        print(f"\nmisses ({args.show}):\n" + misses(outcomes[args.show]))


if __name__ == "__main__":
    main()
