"""Memory (RSS) of ``advisor serve`` with both adapters configured, against local fakes.

The benchmark starts, in its own process, a fake Slack Web API, a fake Discord gateway and
REST server (the tests' fakes) and a redis-server on loopback; then runs ``advisor serve`` as a
child process with Slack in HTTP mode, Discord, Redis sessions and the operations endpoints.
It reads the child's VmRSS and VmHWM (peak) from /proc after start-up, and again after
traffic: signed ``/pyframework`` commands and mentions over HTTP, and Discord slash commands
through the gateway. Last, it sends SIGTERM and times the clean exit.
Run: .venv/bin/python -m benchmarks.bench_serve
Goal (issue 6): RSS <= 120 MB.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

import aiohttp
from slack_sdk.signature import SignatureVerifier

from tests.discord.fake_discord import FakeDiscord
from tests.discord.test_gateway import compare_command
from tests.loopback import free_port
from tests.redis_server import RedisServer
from tests.slack.fake_slack import BOT_USER, FakeSlack
from tests.slack.harness import SECRET, event_callback, mention, slash
from tests.test_serve import serve_env, wait_ready

ROOT = Path(__file__).resolve().parent.parent
SLACK_REQUESTS = 1000
DISCORD_INTERACTIONS = 300
QUESTIONS = ["flask vs pyramid", "about sanic", "which is best for websockets?", "list async"]


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
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


async def main() -> None:
    redis = RedisServer().start()
    try:
        async with FakeSlack() as fake, FakeDiscord() as discord, aiohttp.ClientSession() as http:
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
                f"peak {peak:.1f} MB"
            )

            url = f"http://127.0.0.1:{http_port}/slack/events"
            started = time.perf_counter()
            for i in range(SLACK_REQUESTS):
                text = f"{QUESTIONS[i % len(QUESTIONS)]} #{i % 200}"
                if i % 2:
                    body = slash(text, response_url=fake.response_url())
                    ctype = "application/x-www-form-urlencoded"
                else:
                    # one channel each: the adapter paces posts per channel (1/s after 3)
                    event = mention(f"<@{BOT_USER}> {text}", channel=f"C{i:08d}")
                    body = json.dumps(event_callback(event))
                    ctype = "application/json"
                async with http.post(
                    url, data=body, headers={"Content-Type": ctype, **signed(body)}
                ) as resp:
                    assert resp.status == 200, resp.status
            for i in range(DISCORD_INTERACTIONS):
                before = len(discord.of("POST", "interactions/"))
                pair = (("flask", "pyramid"), ("django", "fastapi"), ("sanic", "tornado"))[i % 3]
                await discord.dispatch(
                    "INTERACTION_CREATE", discord.interaction(2, compare_command(*pair))
                )
                await discord.wait_for("POST", "interactions/", before + 1)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(1.0)
            rss, peak = memory(proc.pid)
            print(
                f"after {SLACK_REQUESTS} Slack requests and {DISCORD_INTERACTIONS} Discord "
                f"interactions ({elapsed:.1f} s): RSS {rss:.1f} MB, peak {peak:.1f} MB"
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
