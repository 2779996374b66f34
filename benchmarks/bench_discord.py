"""Interaction handling through a fake Discord gateway: INTERACTION_CREATE -> callback POST.

The fake gateway and REST server (tests/discord/fake_discord.py) run in this process on
127.0.0.1, the real discord.py client connects to them, and each sample is the time from
sending an INTERACTION_CREATE for ``/pyframework ask`` to the fake receiving the interaction
callback. One interaction at a time, three phases in one run:

- ``bare discord.py``, the anchor: a plain ``discord.Client`` whose ``/pyframework ask``
  answers "ok" at once, asked the same unseen questions as the advisor;
- ``advisor, unseen``: every question new to the process (generated like bench_answer's, each
  asked once), so no cache can serve it;
- ``advisor, cache hits``: four questions over and over, answered from the engine's cache.

Run: .venv/bin/python -m benchmarks.bench_discord [--samples N]
Goal (issue 5): p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from benchmarks.bench_answer import fresh_questions
from benchmarks.common import percentile, summary
from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.engine import Engine
from bot.knowledge import load
from tests.discord.fake_discord import GUILD_ID, FakeDiscord

SAMPLES = 2000
#: Interactions before the timed ones in each phase (connection, discord.py's caches, imports).
WARM_UP = 100
#: What the cache-hit phase asks, over and over.
REPEATED = ("flask vs pyramid", "django vs fastapi", "sanic vs tornado", "about falcon")


def ask_command(question: str) -> dict[str, Any]:
    """The ``data`` of a ``/pyframework ask question:...`` interaction."""
    return {
        "id": "7001",
        "name": "pyframework",
        "type": 1,
        "guild_id": GUILD_ID,
        "options": [
            {
                "name": "ask",
                "type": 1,
                "options": [{"name": "question", "type": 3, "value": question}],
            }
        ],
    }


class BareClient(discord.Client):
    """The anchor: discord.py with a ``/pyframework ask`` that answers "ok" ephemerally."""

    def __init__(self) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(intents=intents, guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        group = app_commands.Group(name="pyframework", description="bare")

        @group.command(name="ask", description="bare")
        async def ask(interaction: discord.Interaction[Any], question: str) -> None:
            await interaction.response.send_message("ok", ephemeral=True)

        self.tree.add_command(group)


@contextlib.asynccontextmanager
async def connected(client: discord.Client) -> AsyncIterator[None]:
    """``client`` started against the fake and ready; closed on exit."""
    task = asyncio.create_task(client.start("bench-token"))
    await asyncio.wait_for(client.wait_until_ready(), 10)
    try:
        yield
    finally:
        await client.close()
        await task


async def timed(fake: FakeDiscord, texts: Iterator[str], samples: int) -> list[float]:
    """Seconds from INTERACTION_CREATE to callback POST for ``samples`` questions of ``texts``
    (after :data:`WARM_UP` untimed ones), one at a time."""
    fake.calls.clear()  # the fake scans its calls on every wait: keep phases alike
    out = []
    for i, text in enumerate(itertools.islice(texts, WARM_UP + samples)):
        before = len(fake.of("POST", "interactions/"))
        payload = fake.interaction(2, ask_command(text))
        start = time.perf_counter()
        await fake.dispatch("INTERACTION_CREATE", payload)
        await fake.wait_for("POST", "interactions/", before + 1)
        if i >= WARM_UP:
            out.append(time.perf_counter() - start)
    return out


async def main(samples: int) -> None:
    from adapters.discord.advisor import DiscordAdvisor
    from adapters.discord.client import AdvisorClient

    logging.basicConfig(level=logging.WARNING)
    kb = load(DEFAULT_KNOWLEDGE_DIR)
    unseen = fresh_questions([f.name for f in kb.frameworks.values()], WARM_UP + samples, seed=5)
    async with FakeDiscord() as fake:
        Route.BASE = fake.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
        async with connected(BareClient()):
            bare = await timed(fake, iter(unseen), samples)
        advisor = DiscordAdvisor(Engine(kb))
        client = AdvisorClient(advisor, guild_id=int(GUILD_ID), guild_ready_timeout=0.1)
        async with connected(client):
            fresh = await timed(fake, iter(unseen), samples)
            hits = await timed(fake, itertools.cycle(REPEATED), samples)
    print(summary("bare discord.py (anchor)", bare))
    print(summary("advisor, unseen questions", fresh))
    print(summary("advisor, cache hits (apart)", hits))
    for label, times in (("unseen", fresh), ("cache hits", hits)):
        print(
            f"advisor {label} / bare: median {percentile(times, 50) / percentile(bare, 50):.2f}x,"
            f" p99 {percentile(times, 99) / percentile(bare, 99):.2f}x"
        )
    print("goal: p99 <= 20 ms (advisor, unseen questions)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--samples", type=int, default=SAMPLES, help=f"per phase, default {SAMPLES}"
    )
    asyncio.run(main(parser.parse_args().samples))
