"""In-process answer latency: shipped knowledge and a synthetic base of 1,000 frameworks.

Run: .venv/bin/python -m benchmarks.bench_answer
Goal (issue 2): p99 <= 2 ms shipped, <= 20 ms with 1,000 frameworks.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import summary, synthetic_knowledge
from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.engine import Engine
from bot.knowledge import load

QUESTIONS = [
    "flsk vs pyramd",
    "what event loop does Sanic use?",
    "which is best for websockets?",
    "we need an admin panel and a complex database",
    "tiny prototype for a beginner",
    "list microframeworks",
    "which frameworks are asynchronous",
    "compare django, flask and bottle",
    "who uses pyramid",
    "how many github stars does tornado have",
    "tell me about laravel",
    "help",
    "djngo or aiohtp",
    "help me pick: small async API, team knows asyncio",
    "is falcon good for a fast rest api with no dependencies?",
    "banana smoothie",
]


def measure(engine: Engine, questions: list[str], rounds: int) -> list[float]:
    for q in questions:
        engine.answer_once(q)
    samples = []
    for _ in range(rounds):
        for q in questions:
            start = time.perf_counter()
            engine.answer_once(q)
            samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    kb = load(DEFAULT_KNOWLEDGE_DIR)
    print(
        summary(
            f"shipped knowledge ({len(kb.frameworks)} frameworks)",
            measure(Engine(kb), QUESTIONS, 300),
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        names = synthetic_knowledge(Path(tmp) / "k", 1000)
        start = time.perf_counter()
        big = load(Path(tmp) / "k")
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        engine = Engine(big)
        build_s = time.perf_counter() - start
        extra = [
            f"what is {names[7]}?",
            f"{names[3]} vs {names[500]}",
            f"{names[9][:-1]}x vs flask",
        ]
        print(
            f"synthetic base: {len(big.frameworks)} frameworks, load+validate {load_s:.2f} s, "
            f"index build {build_s:.2f} s"
        )
        print(
            summary(
                "synthetic knowledge (1,020 frameworks)", measure(engine, QUESTIONS + extra, 30)
            )
        )


if __name__ == "__main__":
    main()
