"""Whole-process time of `advisor ask` (start-up, load, answer, exit) beside a bare
`python -c pass`, measured side by side in one run.

Run: .venv/bin/python -m benchmarks.bench_cli [--runs N]
Goal (issue 15): median `advisor ask` <= 4x the median bare `python -c pass` with the knowledge
cache warm. Runs without the knowledge cache (``ADVISOR_CACHE_DIR=off``: read and validate the
YAML at every start) are printed on their own line with their own ratio. Exits 1 when the goal
is missed.

What keeps it honest:

- Each round runs the three commands in a new shuffled order, so a change in the machine's load
  hits them alike; medians and p90 are of the same number of rounds. CPU time (user + system,
  from ``getrusage``) is printed beside wall time, as it suffers less from other processes;
  so is the load average, to judge the noise. The goal is on wall time.
- Every `ask` is a question no process has been asked (a round number is in it).
- The knowledge cache is checked to exist after the warm-up, before its figures are believed.
- Bytecode is cached for every command, as in any installed package: in a private temporary
  ``PYTHONPYCACHEPREFIX``, even when the caller sets ``PYTHONDONTWRITEBYTECODE`` (which would
  make each run recompile the whole ``bot`` package, ~250 ms here).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import percentile

#: Wall-time samples and CPU-time samples of one command, in milliseconds.
Sample = tuple[list[float], list[float]]
GOAL_RATIO = 4.0
BARE = "bare python -c pass"
CACHED = "advisor ask, knowledge cache warm"
UNCACHED = "advisor ask, no knowledge cache (ADVISOR_CACHE_DIR=off)"
QUESTIONS = (
    "flask vs django for a team of {n}",
    "which is best for {n} websockets?",
    "fastapi or sanic for {n} json endpoints",
)


def timed_ms(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one whole process, both in milliseconds.

    Raises:
        subprocess.CalledProcessError: when the process exits non-zero.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall * 1000, cpu * 1000


def line(label: str, ms: list[float], cpu: list[float], bare: Sample | None = None) -> str:
    """One result line: wall median, p90 and min, CPU median (all ms), and with ``bare`` the
    ratios of the medians to it."""
    text = (
        f"{label:<56} median={statistics.median(ms):6.1f} ms  p90={percentile(ms, 90):6.1f} ms"
        f"  min={min(ms):6.1f} ms  cpu={statistics.median(cpu):6.1f} ms"
    )
    if bare is not None:
        text += (
            f"  ratio={statistics.median(ms) / statistics.median(bare[0]):4.2f}x"
            f" (cpu {statistics.median(cpu) / statistics.median(bare[1]):4.2f}x)"
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31, help="rounds (default 31)")
    runs = parser.parse_args(argv).runs
    script = shutil.which("advisor", path=str(Path(sys.executable).parent))
    assert script, "advisor is not installed in this environment"
    with tempfile.TemporaryDirectory() as tmp:
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        base["PYTHONPYCACHEPREFIX"] = str(Path(tmp, "pyc"))
        cache = Path(tmp, "knowledge-cache")
        envs = {
            BARE: base,
            CACHED: {**base, "ADVISOR_CACHE_DIR": str(cache)},
            UNCACHED: {**base, "ADVISOR_CACHE_DIR": "off"},
        }
        for label, env in envs.items():  # warm-up: writes the bytecode and the knowledge cache
            warm = [sys.executable, "-c", "pass"] if label == BARE else [script, "ask", "help"]
            timed_ms(warm, env)
        if not cache.is_dir() or not any(cache.iterdir()):
            print(f"the knowledge cache was not written to {cache}; cached figures would lie")
            return 1
        rng = random.Random(15)
        samples: dict[str, Sample] = {label: ([], []) for label in envs}
        load = os.getloadavg()[0]
        asked = 0
        for _ in range(runs):
            order = list(envs)
            rng.shuffle(order)
            for label in order:
                cmd = [sys.executable, "-c", "pass"]
                if label != BARE:
                    asked += 1
                    cmd = [script, "ask", QUESTIONS[asked % len(QUESTIONS)].format(n=asked)]
                wall, cpu = timed_ms(cmd, envs[label])
                samples[label][0].append(wall)
                samples[label][1].append(cpu)
    bare = samples[BARE]
    print(
        f"{runs} interleaved rounds, {asked} distinct questions, bytecode cached, Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{load:.2f} -> {os.getloadavg()[0]:.2f}"
    )
    print(line(BARE, *bare))
    print(line(CACHED, *samples[CACHED], bare))
    print(line(UNCACHED, *samples[UNCACHED], bare))
    ratio = statistics.median(samples[CACHED][0]) / statistics.median(bare[0])
    verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
    print(f"goal: cached median <= {GOAL_RATIO:.0f}x bare python: {verdict} ({ratio:.2f}x)")
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
