"""``advisor serve`` as a real process: both adapters against local fakes, Redis, the
operations endpoints, and a clean stop on SIGTERM while a request is being handled."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
from slack_sdk.signature import SignatureVerifier

from tests.discord.fake_discord import FakeDiscord
from tests.loopback import free_port, wait_ready
from tests.slack.fake_slack import BOT_USER, FakeSlack
from tests.slack.harness import SECRET, event_callback, mention

ROOT = Path(__file__).resolve().parent.parent
#: How long the fake Slack holds the reply's chat.postMessage, in seconds.
SLOW_POST = 2.0


def serve_env(
    fake: FakeSlack, discord: FakeDiscord, redis_url: str, http: int, ops: int
) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "ADVISOR_"))
    }
    env.update(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        DISCORD_TOKEN="fake-discord-token",
        DISCORD_GUILD_ID="77",
        ADVISOR_DISCORD_API_BASE=discord.api_base,
        ADVISOR_DISCORD_GATEWAY=discord.gateway_url,
        ADVISOR_REDIS_URL=redis_url,
        ADVISOR_HTTP_HOST="127.0.0.1",
        ADVISOR_HTTP_PORT=str(http),
        ADVISOR_OPS_HOST="127.0.0.1",
        ADVISOR_OPS_PORT=str(ops),
        ADVISOR_CACHE_DIR="off",
        ADVISOR_LOG_FORMAT="json",
    )
    return env


async def test_sigterm_during_a_request_finishes_it_and_exits_0(redis_url: str) -> None:
    async with FakeSlack() as fake, FakeDiscord() as discord:
        http_port, ops_port = free_port(), free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "adapters.cli",
            "serve",
            cwd=ROOT,
            env=serve_env(fake, discord, redis_url, http_port, ops_port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        ops = f"http://127.0.0.1:{ops_port}"
        try:
            async with aiohttp.ClientSession() as http:
                await wait_ready(http, f"{ops}/readyz", proc, tries=200)
                await asyncio.wait_for(discord.identified.wait(), 10)

                fake.delays["chat.postMessage"] = SLOW_POST
                body = json.dumps(event_callback(mention(f"<@{BOT_USER}> flask vs django")))
                ts = str(int(time.time()))
                headers = {
                    "Content-Type": "application/json",
                    "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(
                        timestamp=ts, body=body
                    ),
                }
                url = f"http://127.0.0.1:{http_port}/slack/events"
                async with http.post(url, data=body, headers=headers) as resp:
                    assert resp.status == 200, "acked at once; the reply is posted after"
                for _ in range(100):
                    if fake.of("chat.postMessage"):
                        break
                    await asyncio.sleep(0.02)
                assert fake.of("chat.postMessage") and "chat.postMessage" not in fake.answered

                stopped_at = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.3)
                async with http.get(f"{ops}/readyz") as resp:
                    assert resp.status == 503, "not ready while draining"
                    assert (await resp.json())["draining"] is True
                code = await asyncio.wait_for(proc.wait(), 15)
                elapsed = time.monotonic() - stopped_at
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
        assert code == 0, stderr[-2000:]
        assert "chat.postMessage" in fake.answered, "the request in flight was completed"
        assert SLOW_POST - 0.5 <= elapsed < 12, elapsed
        records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
        assert records and all("level" in r for r in records), "ADVISOR_LOG_FORMAT=json"
        assert any(r.get("message") == "stopped" for r in records)
        assert "xoxb-test-token" not in stderr and "fake-discord-token" not in stderr
        assert "flask vs django" not in stderr, "no message text at INFO"
