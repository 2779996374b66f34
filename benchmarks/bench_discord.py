"""Interaction handling through a fake Discord gateway: INTERACTION_CREATE -> callback POST.

The fake gateway and REST server (tests/discord/fake_discord.py) run in this process on
127.0.0.1, the real discord.py client connects to them, and each sample is the time from
sending an INTERACTION_CREATE for ``/pyframework compare`` (or ``about``) to the fake
receiving the interaction callback. One interaction at a time.
Run: .venv/bin/python -m benchmarks.bench_discord
Goal (issue 5): p99 <= 20 ms.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from benchmarks.common import summary
from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.engine import Engine
from bot.knowledge import load
from tests.discord.fake_discord import GUILD_ID, FakeDiscord
from tests.discord.test_gateway import compare_command

SAMPLES = 2000
PAIRS = [("flask", "pyramid"), ("django", "fastapi"), ("sanic", "tornado"), ("bottle", "falcon")]


def command(i: int) -> dict[str, Any]:
    return compare_command(*PAIRS[i % len(PAIRS)])


async def main() -> None:
    from adapters.discord.advisor import DiscordAdvisor
    from adapters.discord.client import AdvisorClient

    logging.basicConfig(level=logging.WARNING)
    async with FakeDiscord() as fake:
        Route.BASE = fake.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
        engine = Engine(load(DEFAULT_KNOWLEDGE_DIR))
        client = AdvisorClient(
            DiscordAdvisor(engine), guild_id=int(GUILD_ID), guild_ready_timeout=0.1
        )
        task = asyncio.create_task(client.start("bench-token"))
        await asyncio.wait_for(client.wait_until_ready(), 10)
        samples = []
        for i in range(SAMPLES + 100):
            before = len(fake.of("POST", "interactions/"))
            payload = fake.interaction(2, command(i))
            start = time.perf_counter()
            await fake.dispatch("INTERACTION_CREATE", payload)
            await fake.wait_for("POST", "interactions/", before + 1)
            if i >= 100:  # the first 100 warm caches and connections
                samples.append(time.perf_counter() - start)
        print(summary("INTERACTION_CREATE -> callback POST", samples))
        print("goal: p99 <= 20 ms")
        await client.close()
        await task


if __name__ == "__main__":
    asyncio.run(main())
