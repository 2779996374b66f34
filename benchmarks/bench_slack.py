"""Our HTTP slash-command endpoint against a bare bolt app that only acks.

Both are bolt ``AsyncApp``s with ``process_before_response=True`` behind the same aiohttp
route, each served from its own process, measured in the same run: signed form-encoded
``/pyframework`` requests over one keep-alive connection, one at a time (latency), then 8 at a
time (throughput). A fake Slack on 127.0.0.1 answers the one ``auth.test`` bolt makes.
Run: .venv/bin/python -m benchmarks.bench_slack [--rounds N]
Goal (issue 4): our throughput >= 0.8x the bare app's, p99 <= 5 ms at one connection.

Both advisor servers are the app as shipped, caches on, each in a process of its own:
``advisor`` gets questions it has never seen (generated like bench_answer's, each asked once in
the whole run, so neither the rendered-answer cache nor the engine's caches can serve it: every
request runs the matcher, the answerer and the Block Kit renderer); ``advisor-cache-hits`` gets
six questions over and over (answered from the caches), printed on its own line. The bare app
gets the same unseen bodies as ``advisor``. Ratios are to the bare app, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import statistics
import time
from collections.abc import Iterator
from typing import Any

import aiohttp

from benchmarks.bench_answer import fresh_questions
from benchmarks.common import percentile
from tests.loopback import free_port

SECRET = "bench-signing-secret"
#: What ``advisor-cache-hits`` is asked, over and over.
QUESTIONS = (
    "flask vs pyramid",
    "about fastapi",
    "which is best for websockets",
    "list microframeworks",
    "what event loop does sanic use",
    "django vs flask vs fastapi",
)
SEQUENTIAL = 2000
CONCURRENT = 8
PER_WORKER = 500
WARM_UP = 200
ROUNDS = 3
KINDS = ("bare", "advisor", "advisor-cache-hits")


def _serve(kind: str, port: int, ready: Any) -> None:
    asyncio.run(_serve_async(kind, port, ready))


async def _serve_async(kind: str, port: int, ready: Any) -> None:
    from aiohttp import web
    from slack_bolt.app.async_app import AsyncApp

    from adapters.slack.app import SlackAdapter
    from adapters.slack.client import web_client
    from adapters.slack.runner import events_app
    from bot.config import DEFAULT_KNOWLEDGE_DIR
    from bot.engine import Engine
    from bot.knowledge import load
    from tests.slack.fake_slack import FakeSlack

    async with FakeSlack() as fake:
        client = web_client("xoxb-bench", fake.api_url)
        adapter = SlackAdapter(
            Engine(load(DEFAULT_KNOWLEDGE_DIR)), client=client, signing_secret=SECRET
        )
        if kind == "bare":
            bare = AsyncApp(client=client, signing_secret=SECRET, process_before_response=True)

            @bare.command("/pyframework")
            async def ack_only(ack: Any) -> None:
                await ack()

            adapter.app = bare  # the same aiohttp route, dispatching to the bare app
        runner = web.AppRunner(events_app(adapter), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()


def _bodies(texts: Iterator[str], count: int) -> list[tuple[bytes, dict[str, str]]]:
    """``count`` signed ``/pyframework`` requests asking the next ``count`` of ``texts``."""
    from slack_sdk.signature import SignatureVerifier

    from tests.slack.harness import slash

    verifier = SignatureVerifier(SECRET)
    ts = str(int(time.time()))
    out = []
    for text in itertools.islice(texts, count):
        body = slash(text, response_url="http://127.0.0.1:9/response")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body) or "",
        }
        out.append((body.encode(), headers))
    return out


async def _one_connection(url: str, requests: list[tuple[bytes, dict[str, str]]]) -> list[float]:
    latencies = []
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        for body, headers in requests:
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            latencies.append(time.perf_counter() - start)
    return latencies


async def measure(url: str, texts: Iterator[str]) -> dict[str, float]:
    """Latency at one connection, then throughput with :data:`CONCURRENT` connections, asking
    the next questions of ``texts``."""
    await _one_connection(url, _bodies(texts, WARM_UP))  # warm up (bolt's auth.test, imports)
    seq = await _one_connection(url, _bodies(texts, SEQUENTIAL))
    batches = [_bodies(texts, PER_WORKER) for _ in range(CONCURRENT)]
    start = time.perf_counter()
    await asyncio.gather(*(_one_connection(url, b) for b in batches))
    elapsed = time.perf_counter() - start
    return {
        "seq_rps": len(seq) / sum(seq),
        "median_ms": statistics.median(seq) * 1000,
        "p99_ms": percentile(seq, 99) * 1000,
        "conc_rps": CONCURRENT * PER_WORKER / elapsed,
    }


def unseen(rounds: int) -> list[str]:
    """Distinct questions, enough for every request of ``rounds`` rounds of one kind."""
    from bot.config import DEFAULT_KNOWLEDGE_DIR
    from bot.knowledge import load

    names = [f.name for f in load(DEFAULT_KNOWLEDGE_DIR).frameworks.values()]
    per_round = WARM_UP + SEQUENTIAL + CONCURRENT * PER_WORKER
    return fresh_questions(names, rounds * per_round, seed=23)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"default {ROUNDS}")
    rounds_wanted = parser.parse_args().rounds
    ctx = multiprocessing.get_context("spawn")
    fresh = unseen(rounds_wanted)
    texts = {  # bare and advisor ask the same unseen questions, each once per process
        "bare": iter(fresh),
        "advisor": iter(fresh),
        "advisor-cache-hits": itertools.cycle(QUESTIONS),
    }
    servers, urls = [], {}
    try:
        for kind in KINDS:
            port = free_port()
            ready = ctx.Event()
            server = ctx.Process(target=_serve, args=(kind, port, ready), daemon=True)
            server.start()
            servers.append(server)
            if not ready.wait(60):
                raise SystemExit(f"{kind} server did not start")
            urls[kind] = f"http://127.0.0.1:{port}/slack/events"
        rounds: dict[str, list[dict[str, float]]] = {k: [] for k in KINDS}
        for _ in range(rounds_wanted):  # interleaved: drift on the machine hits every kind alike
            for kind in KINDS:
                rounds[kind].append(asyncio.run(measure(urls[kind], texts[kind])))
    finally:
        for server in servers:
            server.terminate()
            server.join()
    results = {
        k: {m: statistics.median(r[m] for r in rs) for m in rs[0]} for k, rs in rounds.items()
    }
    print(f"median of {rounds_wanted} interleaved rounds; the client shares the machine's CPUs")
    print("advisor: questions new to the process; advisor-cache-hits: 6 questions repeated")
    for kind, r in results.items():
        print(
            f"{kind:<18} one connection: {r['seq_rps']:5.0f} req/s  median={r['median_ms']:.2f} ms"
            f"  p99={r['p99_ms']:.2f} ms | {CONCURRENT} connections: {r['conc_rps']:5.0f} req/s"
        )
    bare = results["bare"]
    for kind in KINDS[1:]:
        r = results[kind]
        print(
            f"{kind}/bare: throughput {r['conc_rps'] / bare['conc_rps']:.2f}x ({CONCURRENT} "
            f"connections), {r['seq_rps'] / bare['seq_rps']:.2f}x (one connection); "
            f"p99 {r['p99_ms'] / bare['p99_ms']:.2f}x; goal >= 0.80x, p99 <= 5 ms"
        )


if __name__ == "__main__":
    main()
