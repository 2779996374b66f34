"""Our HTTP slash-command endpoint against a bare bolt app that only acks.

Both are bolt ``AsyncApp``s with ``process_before_response=True`` behind the same aiohttp
route, each served from its own process, measured in the same run: signed form-encoded
``/pyframework`` requests over one keep-alive connection, one at a time (latency), then 8 at a
time (throughput). A fake Slack on 127.0.0.1 answers the one ``auth.test`` bolt makes.
Run: .venv/bin/python -m benchmarks.bench_slack
Goal (issue 4): our throughput >= 0.8x the bare app's, p99 <= 5 ms at one connection.
``advisor`` is the app as shipped (a repeated question is answered from the caches);
``advisor-uncached`` has the answer caches switched off, so every request runs the matcher,
the answerer and the Block Kit renderer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from typing import Any

import aiohttp

from benchmarks.common import percentile
from tests.loopback import free_port

SECRET = "bench-signing-secret"
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
ROUNDS = 3


def _serve(kind: str, port: int, ready: Any) -> None:
    asyncio.run(_serve_async(kind, port, ready))


async def _serve_async(kind: str, port: int, ready: Any) -> None:
    from aiohttp import web
    from slack_bolt.app.async_app import AsyncApp

    from adapters.slack.app import SlackAdapter, web_client
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
        if kind == "advisor-uncached":  # every question as if asked for the first time
            adapter._rendered = adapter._one_shot  # type: ignore[method-assign]
            adapter.engine._answered = adapter.engine._answer_once  # type: ignore[method-assign]
            matcher = adapter.engine.matcher
            matcher._understood = matcher._understand  # type: ignore[method-assign]
        runner = web.AppRunner(events_app(adapter), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()


def _bodies(count: int) -> list[tuple[bytes, dict[str, str]]]:
    from slack_sdk.signature import SignatureVerifier

    from tests.slack.harness import slash

    verifier = SignatureVerifier(SECRET)
    ts = str(int(time.time()))
    out = []
    for i in range(count):
        body = slash(QUESTIONS[i % len(QUESTIONS)], response_url="http://127.0.0.1:9/response")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
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


async def measure(url: str) -> dict[str, float]:
    """Latency at one connection, then throughput with :data:`CONCURRENT` connections."""
    await _one_connection(url, _bodies(200))  # warm up (bolt's auth.test, caches)
    seq = await _one_connection(url, _bodies(SEQUENTIAL))
    batches = [_bodies(PER_WORKER) for _ in range(CONCURRENT)]
    start = time.perf_counter()
    await asyncio.gather(*(_one_connection(url, b) for b in batches))
    elapsed = time.perf_counter() - start
    return {
        "seq_rps": len(seq) / sum(seq),
        "median_ms": statistics.median(seq) * 1000,
        "p99_ms": percentile(seq, 99) * 1000,
        "conc_rps": CONCURRENT * PER_WORKER / elapsed,
    }


def main() -> None:
    ctx = multiprocessing.get_context("spawn")
    kinds = ("bare", "advisor", "advisor-uncached")
    servers, urls = [], {}
    try:
        for kind in kinds:
            port = free_port()
            ready = ctx.Event()
            server = ctx.Process(target=_serve, args=(kind, port, ready), daemon=True)
            server.start()
            servers.append(server)
            if not ready.wait(60):
                raise SystemExit(f"{kind} server did not start")
            urls[kind] = f"http://127.0.0.1:{port}/slack/events"
        rounds: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
        for _ in range(ROUNDS):  # interleaved, so drift on the machine hits every kind alike
            for kind in kinds:
                rounds[kind].append(asyncio.run(measure(urls[kind])))
    finally:
        for server in servers:
            server.terminate()
            server.join()
    results = {
        k: {m: statistics.median(r[m] for r in rs) for m in rs[0]} for k, rs in rounds.items()
    }
    print(f"median of {ROUNDS} interleaved rounds; the client shares the machine's CPUs")
    for kind, r in results.items():
        print(
            f"{kind:<16} one connection: {r['seq_rps']:5.0f} req/s  median={r['median_ms']:.2f} ms"
            f"  p99={r['p99_ms']:.2f} ms | {CONCURRENT} connections: {r['conc_rps']:5.0f} req/s"
        )
    for kind in kinds[1:]:
        ratio = results[kind]["conc_rps"] / results["bare"]["conc_rps"]
        seq_ratio = results[kind]["seq_rps"] / results["bare"]["seq_rps"]
        print(
            f"{kind}/bare throughput: {ratio:.2f}x ({CONCURRENT} connections), "
            f"{seq_ratio:.2f}x (one connection); goal >= 0.80x, p99 <= 5 ms"
        )


if __name__ == "__main__":
    main()
