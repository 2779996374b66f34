"""In-process answer latency on questions the process has not seen, shipped and 1,000 frameworks.

Run: .venv/bin/python -m benchmarks.bench_answer
Goals (issue 11): p99 <= 2 ms with the shipped knowledge, <= 20 ms with 1,000 synthetic
frameworks; claim index build <= 50 ms for the shipped knowledge.

Every timed question is new to the process: the questions are generated from templates, the
paraphrase set and the framework names, each asked exactly once on a fresh engine, so neither
the understanding cache nor the answer cache can serve it. Cache hits are timed apart, by asking
a sample again, and printed on their own line. Each section prints its ratio to its anchor, a
trivial engine call timed in the same run: ``Engine.help()`` on the shipped knowledge, the
usage reply, which no cache keeps (a cache hit, under a microsecond, is mostly the timer's own
cost); the synthetic section uses the same anchor. The knowledge is read without the pickle
cache (``load`` with no ``cache_dir``).
"""

from __future__ import annotations

import itertools
import random
import tempfile
import time
from pathlib import Path

from benchmarks.bench_understanding import HALVES, load_cases
from benchmarks.common import percentile, summary, synthetic_knowledge
from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.engine import Engine
from bot.knowledge import KnowledgeBase, load
from bot.search import ClaimIndex

TEMPLATES = (
    "{a} vs {b}",
    "{a} or {b} for {need}?",
    "which is faster, {a} or {b}",
    "what event loop does {a} use?",
    "who created {a}",
    "is {a} good for {need}",
    "something like {a} but {mod}",
    "no {a} pls, {need}",
    "{need}, nothing {neg}",
    "which one is best for {need}",
    "full-stack options besides {a}",
    "which ones are {attr}?",
    "we don't want {a}, {need}",
    "{a} for {need}, team of {n}",
    "tell me about {a} {need}",
)
NEEDS = (
    "websockets",
    "a json api",
    "an admin-heavy site",
    "a tiny prototype",
    "microservices",
    "ml predictions",
    "a large cms",
    "a chat app",
    "an iot device",
    "a data dashboard",
)
MODS = ("async", "faster", "lighter", "with an orm", "bigger")
NEGS = ("real-time", "async", "heavy", "with an admin")
ATTRS = ("asgi", "wsgi", "async", "full-stack", "micro", "built on their own server")


def fresh_questions(names: list[str], count: int, seed: int = 7) -> list[str]:
    """``count`` distinct questions built from templates, framework names and the eval set."""
    rng = random.Random(seed)
    out: dict[str, None] = {str(c["q"]): None for h in HALVES for c in load_cases(h)}
    for n in itertools.count():
        if len(out) >= count:
            break
        a, b = rng.sample(names, 2)
        t = rng.choice(TEMPLATES)
        q = t.format(
            a=a,
            b=b,
            need=rng.choice(NEEDS),
            mod=rng.choice(MODS),
            neg=rng.choice(NEGS),
            attr=rng.choice(ATTRS),
            n=n,
        )
        out[q] = None
    return list(out)[:count]


def help_time(kb: KnowledgeBase) -> float:
    """The anchor: median seconds of 200 :meth:`Engine.help` calls on a fresh engine."""
    engine = Engine(kb)
    engine.help()
    anchor = []
    for _ in range(200):
        start = time.perf_counter()
        engine.help()
        anchor.append(time.perf_counter() - start)
    return percentile(anchor, 50)


def measure(kb: KnowledgeBase, questions: list[str]) -> tuple[list[float], list[float]]:
    """(first-time seconds per question, cache-hit seconds) on a fresh engine."""
    engine = Engine(kb)
    cold = []
    for q in questions:
        start = time.perf_counter()
        engine.answer_once(q)
        cold.append(time.perf_counter() - start)
    warm = []
    for q in questions[-200:]:
        start = time.perf_counter()
        engine.answer_once(q)
        warm.append(time.perf_counter() - start)
    return cold, warm


def report(label: str, kb: KnowledgeBase, questions: list[str], anchor: float) -> None:
    cold, warm = measure(kb, questions)
    print(summary(f"{label}: unseen questions", cold))
    print(summary(f"{label}: cache hits (apart)", warm))
    p99, hit = percentile(cold, 99), percentile(warm, 50)
    print(
        f"{label}: unseen p99 / anchor (Engine.help(), {anchor * 1e6:.1f} us) = "
        f"{p99 / anchor:,.1f}x; cache-hit median / anchor = {hit / anchor:.3f}x"
    )


#: Hostile 100,000-character messages (issue 14): NFKC expands U+FDFA 18 times.
HOSTILE = {
    "U+FDFA": "\ufdfa",
    "digits": "9",
    "mentions": "<@U0123456789> ",
    "ASCII words": "flask vs django ",
}
HOSTILE_CHARS = 100_000


def report_hostile(kb: KnowledgeBase, per_kind: int = 20) -> None:
    """Seconds per 100,000-character message of each :data:`HOSTILE` kind, each message new to
    the engine (a distinct tail), with the ratio to a 20-character question timed the same way."""
    engine = Engine(kb)
    engine.answer_once("help")
    anchor = []
    for i in range(per_kind * 5):
        start = time.perf_counter()
        engine.answer_once(f"flask vs django #{i}")
        anchor.append(time.perf_counter() - start)
    base = percentile(anchor, 50)
    for label, unit in HOSTILE.items():
        times = []
        for i in range(per_kind):
            text = (unit * (HOSTILE_CHARS // len(unit) + 1))[:HOSTILE_CHARS] + f" {i}"
            start = time.perf_counter()
            engine.answer_once(text)
            times.append(time.perf_counter() - start)
        p50 = percentile(times, 50)
        print(
            f"100k-character {label} message: p50 {p50 * 1000:.2f} ms, max "
            f"{max(times) * 1000:.2f} ms; p50 / anchor (a new short question, "
            f"{base * 1e3:.2f} ms) = {p50 / base:.1f}x"
        )


def build_time(kb: KnowledgeBase, rounds: int = 5) -> float:
    """Median seconds to build the claim index."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        ClaimIndex(kb)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    kb = load(DEFAULT_KNOWLEDGE_DIR)
    names = [f.name for f in kb.frameworks.values()]
    print(f"claim index build, shipped knowledge: {build_time(kb) * 1000:.1f} ms (budget 50 ms)")
    anchor = help_time(kb)
    report(f"shipped ({len(kb.frameworks)} frameworks)", kb, fresh_questions(names, 2000), anchor)
    report_hostile(kb)
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = synthetic_knowledge(Path(tmp) / "k", 1000)
        start = time.perf_counter()
        big = load(Path(tmp) / "k")
        took = time.perf_counter() - start
        print(f"synthetic base: {len(big.frameworks)} frameworks, load {took:.2f} s")
        print(f"claim index build, synthetic: {build_time(big, 1) * 1000:.0f} ms")
        report(
            f"synthetic ({len(big.frameworks)} frameworks)",
            big,
            fresh_questions(names + synthetic, 1000, seed=11),
            anchor,
        )


if __name__ == "__main__":
    main()
