"""Memory (RSS) of ``advisor serve`` with both adapters configured, against local fakes.

The benchmark starts, in its own process, a fake Slack Web API, a fake Discord gateway and
REST server (the tests' fakes) and a redis-server on loopback; then runs ``advisor serve`` as a
child process with Slack in HTTP mode, Discord, Redis sessions and the operations endpoints.
It reads the child's VmRSS and VmHWM (peak) from /proc after start-up, and again after
traffic: signed ``/pyframework`` commands and mentions over HTTP, and Discord slash commands
through the gateway. Last, it sends SIGTERM and times the clean exit.
Run: .venv/bin/python -m benchmarks.bench_serve
Goal (issue 6): RSS <= 120 MB.

The knowledge is read from YAML at start (``ADVISOR_CACHE_DIR=off``, no pickle). Traffic comes
in two phases, each measured on its own: first questions the process has never seen (each asked
once, more of them than the answer caches hold, so the caches end full), then a few questions
over and over (cache hits). The anchor, measured in the same run, is a bare aiohttp handler in
a child process of its own (one POST route that reads the body and answers 200), sent the same
unseen Slack requests: RSS and Slack request time are printed as ratios to it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import aiohttp
from slack_sdk.signature import SignatureVerifier

from benchmarks.bench_answer import fresh_questions
from benchmarks.bench_discord import ask_command
from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge import load
from tests.discord.fake_discord import FakeDiscord
from tests.loopback import free_port
from tests.redis_server import RedisServer
from tests.slack.fake_slack import BOT_USER, FakeSlack
from tests.slack.harness import SECRET, event_callback, mention, slash
from tests.test_serve import serve_env, wait_ready

ROOT = Path(__file__).resolve().parent.parent
#: Unseen questions over Slack: more than the answer caches hold (2,048 understood, 1,024 answers).
SLACK_REQUESTS = 2500
DISCORD_INTERACTIONS = 300
#: What the cache-hit phase asks, over and over.
QUESTIONS = ["flask vs pyramid", "about sanic", "which is best for websockets?", "list async"]
#: The anchor: a bare aiohttp app, run as ``python -c BARE_APP PORT``.
BARE_APP = """
import sys
from aiohttp import web

async def ok(request):
    await request.read()
    return web.Response()

app = web.Application()
app.router.add_post("/slack/events", ok)
app.router.add_get("/readyz", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB (10^6 bytes)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024 / 1e6
    return fields["VmRSS"], fields["VmHWM"]


def signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body) or ""
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


async def slack_traffic(
    http: aiohttp.ClientSession, url: str, texts: Iterable[str], response_url: str
) -> float:
    """Seconds to send one signed Slack request per text, one at a time: odd ones as
    ``/pyframework`` commands, even ones as mentions, each in a channel of its own (the adapter
    paces posts per channel: 1/s after 3)."""
    started = time.perf_counter()
    for i, text in enumerate(texts):
        if i % 2:
            body = slash(text, response_url=response_url)
            ctype = "application/x-www-form-urlencoded"
        else:
            event = mention(f"<@{BOT_USER}> {text}", channel=f"C{i:08d}")
            body = json.dumps(event_callback(event))
            ctype = "application/json"
        async with http.post(url, data=body, headers={"Content-Type": ctype, **signed(body)}) as r:
            assert r.status == 200, r.status
    return time.perf_counter() - started


async def discord_traffic(discord: FakeDiscord, texts: Iterable[str]) -> float:
    """Seconds to have each text asked by ``/pyframework ask``, one at a time."""
    started = time.perf_counter()
    for text in texts:
        before = len(discord.of("POST", "interactions/"))
        await discord.dispatch("INTERACTION_CREATE", discord.interaction(2, ask_command(text)))
        await discord.wait_for("POST", "interactions/", before + 1)
    return time.perf_counter() - started


async def bare_anchor(
    http: aiohttp.ClientSession, texts: list[str], response_url: str
) -> tuple[float, float, float]:
    """(RSS after start-up, RSS after ``texts``, seconds for them) of :data:`BARE_APP`."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", BARE_APP, str(port))
    try:
        await wait_ready(http, f"http://127.0.0.1:{port}/readyz", proc)
        await asyncio.sleep(1.0)
        idle, _ = memory(proc.pid)
        url = f"http://127.0.0.1:{port}/slack/events"
        took = await slack_traffic(http, url, texts, response_url)
        await asyncio.sleep(1.0)
        busy, _ = memory(proc.pid)
    finally:
        proc.terminate()
        await proc.wait()
    return idle, busy, took


async def main() -> None:
    names = [f.name for f in load(DEFAULT_KNOWLEDGE_DIR).frameworks.values()]
    unseen = fresh_questions(names, SLACK_REQUESTS + DISCORD_INTERACTIONS, seed=31)
    slack_unseen, discord_unseen = unseen[:SLACK_REQUESTS], unseen[SLACK_REQUESTS:]
    redis = RedisServer().start()
    try:
        async with FakeSlack() as fake, FakeDiscord() as discord, aiohttp.ClientSession() as http:
            bare_idle, bare_busy, bare_took = await bare_anchor(
                http, slack_unseen, fake.response_url()
            )
            print(
                f"anchor, bare aiohttp handler: RSS {bare_idle:.1f} MB after start-up, "
                f"{bare_busy:.1f} MB after {SLACK_REQUESTS} Slack requests ({bare_took:.1f} s)"
            )
            http_port, ops_port = free_port(), free_port()
            env = serve_env(fake, discord, redis.url, http_port, ops_port)
            env["ADVISOR_LOG_LEVEL"] = "WARNING"
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "adapters.cli", "serve", cwd=ROOT, env=env
            )
            ops = f"http://127.0.0.1:{ops_port}"
            await wait_ready(http, f"{ops}/readyz", proc)
            await asyncio.wait_for(discord.identified.wait(), 10)
            await asyncio.sleep(1.0)
            rss, peak = memory(proc.pid)
            print(
                f"after start-up (Slack HTTP + Discord + Redis): RSS {rss:.1f} MB, "
                f"peak {peak:.1f} MB; RSS / anchor = {rss / bare_idle:.2f}x"
            )

            url = f"http://127.0.0.1:{http_port}/slack/events"
            slack_took = await slack_traffic(http, url, slack_unseen, fake.response_url())
            discord_took = await discord_traffic(discord, discord_unseen)
            await asyncio.sleep(1.0)
            rss, peak = memory(proc.pid)
            print(
                f"after unseen questions, {SLACK_REQUESTS} Slack requests ({slack_took:.1f} s) and "
                f"{DISCORD_INTERACTIONS} Discord interactions ({discord_took:.1f} s): "
                f"RSS {rss:.1f} MB, peak {peak:.1f} MB"
            )
            print(
                f"unseen: RSS / anchor = {rss / bare_busy:.2f}x; "
                f"Slack time / anchor = {slack_took / bare_took:.2f}x"
            )
            repeated = list(itertools.islice(itertools.cycle(QUESTIONS), SLACK_REQUESTS))
            hits_took = await slack_traffic(http, url, repeated, fake.response_url())
            hits_discord = await discord_traffic(
                discord, itertools.islice(itertools.cycle(QUESTIONS), DISCORD_INTERACTIONS)
            )
            await asyncio.sleep(1.0)
            rss, peak = memory(proc.pid)
            print(
                f"after cache hits, {SLACK_REQUESTS} Slack requests ({hits_took:.1f} s) and "
                f"{DISCORD_INTERACTIONS} Discord interactions ({hits_discord:.1f} s): "
                f"RSS {rss:.1f} MB, peak {peak:.1f} MB; Slack time / anchor = "
                f"{hits_took / bare_took:.2f}x"
            )
            async with http.get(f"{ops}/metrics") as resp:
                text = await resp.text()
            handled = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("advisor_messages_total{")
            )
            print(f"/metrics advisor_messages_total (all labels): {handled:.0f}")
            stop = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 20)
            print(f"SIGTERM -> exit {code} in {time.perf_counter() - stop:.2f} s")
            print("goal: RSS <= 120 MB")
    finally:
        redis.close()


if __name__ == "__main__":
    asyncio.run(main())
