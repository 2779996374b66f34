"""Run the Discord adapter: check the configuration, point discord.py at the configured
endpoints, connect (sharded when ``ADVISOR_DISCORD_SHARDS`` says so), and stop cleanly on
SIGINT/SIGTERM: new interactions are turned away politely, those in flight finish (at most
:data:`DRAIN_SECONDS`), then the gateway closes."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.client import AdvisorClient, DiscordAdvisor
from bot.config import Settings, ShardPlan
from bot.engine import Engine
from bot.errors import ConfigError

_log = logging.getLogger(__name__)
#: Seconds given to interactions in flight when stopping.
DRAIN_SECONDS = 10.0


class ShardedAdvisorClient(AdvisorClient, discord.AutoShardedClient):
    """:class:`AdvisorClient` on discord.py's ``AutoShardedClient``: one gateway session per
    shard in this process, each guild served by the shard ``(guild_id >> 22) % shard_count``
    (https://discord.com/developers/docs/topics/gateway#sharding)."""


def shard_options(plan: ShardPlan | None) -> dict[str, object]:
    """Keyword arguments for ``AutoShardedClient`` from ``plan`` ({} without sharding)."""
    if plan is None:
        return {}
    options: dict[str, object] = {}
    if plan.count is not None:
        options["shard_count"] = plan.count
    if plan.ids is not None:
        options["shard_ids"] = list(plan.ids)
    return options


def check(settings: Settings) -> str:
    """The bot token, checked.

    Raises:
        ConfigError: naming ``DISCORD_TOKEN`` when it is missing.
    """
    if not settings.discord_token:
        raise ConfigError("DISCORD_TOKEN: not set; the Discord adapter needs the bot token")
    return settings.discord_token.reveal()


def point_at(api_base: str, gateway: str) -> None:
    """Send discord.py's REST calls to ``api_base`` and its gateway to ``gateway`` (both ""
    for Discord itself). These are class attributes of discord.py, so this is process-wide."""
    if api_base:
        Route.BASE = api_base
    if gateway:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


def build_client(settings: Settings, engine: Engine, **kwargs: object) -> AdvisorClient:
    """An :class:`AdvisorClient` for ``settings``; commands are synced only when they changed
    (the hash is kept in the knowledge cache dir)."""
    point_at(settings.discord_api_base, settings.discord_gateway)
    stamp: Path | None = None
    if settings.cache_dir is not None:
        stamp = settings.cache_dir / "discord-commands.sha256"
    advisor = DiscordAdvisor(engine, message_content=settings.discord_message_content)
    cls = AdvisorClient if settings.discord_shards is None else ShardedAdvisorClient
    return cls(
        advisor,
        guild_id=settings.discord_guild_id,
        sync_stamp=stamp,
        **shard_options(settings.discord_shards),
        **kwargs,
    )


async def serve(client: AdvisorClient, token: str, stop: asyncio.Event) -> None:
    """Connect and serve until ``stop`` is set; then drain (see the module docstring) and close.

    Raises:
        ConfigError: naming ``DISCORD_TOKEN`` when Discord refuses it.
    """
    try:
        async with client:
            running = asyncio.create_task(client.start(token))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not running.done():
                await client.advisor.drain(DRAIN_SECONDS)
                await client.close()
            await running  # returns once closed; raises a login failure
    except discord.LoginFailure as exc:
        raise ConfigError(f"DISCORD_TOKEN: Discord refused the token ({exc})") from None


async def run(settings: Settings, engine: Engine) -> None:
    """Connect and serve until SIGINT or SIGTERM, then close the client and the engine.

    Raises:
        ConfigError: see :func:`check`.
    """
    token = check(settings)
    client = build_client(settings, engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(client, token, stop)
    finally:
        await engine.close()
