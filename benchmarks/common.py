"""Helpers shared by the benchmarks: percentiles and a synthetic knowledge base."""

from __future__ import annotations

import random
import shutil
import statistics
from pathlib import Path

import yaml

from bot.config import DEFAULT_KNOWLEDGE_DIR

TRAITS = (
    "batteries",
    "flexibility",
    "async",
    "realtime",
    "performance",
    "api",
    "beginner",
    "community",
    "large_projects",
    "small_footprint",
    "database",
    "microservices",
)
SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ren",
    "tor",
    "vex",
    "qua",
    "zel",
    "pim",
    "dor",
    "sul",
    "bri",
    "no",
    "ta",
    "wex",
    "jun",
    "hal",
    "cor",
    "fen",
    "gru",
)


def percentile(samples: list[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def summary(name: str, seconds: list[float]) -> str:
    """One line: count, median, p99 and max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<44} n={len(ms):<6} median={statistics.median(ms):7.3f} ms  "
        f"p99={percentile(ms, 99):7.3f} ms  max={max(ms):7.3f} ms"
    )


def synthetic_knowledge(dest: Path, count: int, seed: int = 1) -> list[str]:
    """Write a knowledge dir with the shipped files plus ``count`` generated full frameworks.

    Returns the generated framework names.
    """
    rng = random.Random(seed)
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, dest)
    names: set[str] = set()
    words = (
        "fast routing templates async orm admin websockets small large api streaming "
        "database plugins community security caching sessions forms server"
    ).split()
    while len(names) < count:
        names.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))))
    flask = yaml.safe_load((dest / "frameworks" / "flask.yaml").read_text())
    for name in sorted(names):
        doc = dict(flask)
        doc.update(id=name, name=name.capitalize(), aliases=[f"{name} web", f"py{name}"])
        doc["facts"] = [
            {
                "text": " ".join(rng.choice(words) for _ in range(12)),
                "topics": rng.sample(words, 3),
                "sources": ["netguru"],
            }
            for _ in range(8)
        ]
        doc["traits"] = {
            t: {"score": rng.randint(0, 5), "why": "generated", "sources": ["netguru"]}
            for t in TRAITS
        }
        doc.pop("disagreements", None)
        (dest / "frameworks" / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return sorted(names)
