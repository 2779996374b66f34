"""Whole-process time of `advisor ask` (start-up, load, answer, exit).

Run: .venv/bin/python -m benchmarks.bench_cli
Goal (issue 2): median <= 300 ms on this machine (with the knowledge cache warm).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    script = shutil.which("advisor", path=str(Path(sys.executable).parent))
    assert script, "advisor is not installed in this environment"
    cmd = [script, "ask", "--json", "flsk vs pyramd"]
    with tempfile.TemporaryDirectory() as cache:
        warm = {**os.environ, "ADVISOR_CACHE_DIR": cache}
        subprocess.run(cmd, env=warm, check=True, capture_output=True)
        for label, env in (
            ("warm knowledge cache", warm),
            ("no cache (parse + validate every start)", {**os.environ, "ADVISOR_CACHE_DIR": "off"}),
        ):
            ms = [s * 1000 for s in timed(cmd, env, 21)]
            print(
                f"advisor ask, {label:<42} median={statistics.median(ms):6.1f} ms  "
                f"min={min(ms):6.1f} ms  max={max(ms):6.1f} ms"
            )
    base = [s * 1000 for s in timed([sys.executable, "-c", "pass"], dict(os.environ), 21)]
    print(f"bare python start-up for reference{'':<24} median={statistics.median(base):6.1f} ms")


if __name__ == "__main__":
    main()
