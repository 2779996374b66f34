"""Run the Discord adapter: check the configuration, point discord.py at the configured
endpoints, connect (sharded when ``ADVISOR_DISCORD_SHARDS`` says so), and stop cleanly on
SIGINT/SIGTERM: new interactions are turned away politely, those in flight finish (at most
:data:`DRAIN_SECONDS`), then the gateway closes.

At start-up the REST API is reached by logging in and the gateway by opening (and closing) one
websocket before discord.py connects, so an unreachable Discord ends the start with one line
(:class:`PlatformUnreachable`) instead of discord.py's retries and tracebacks; once connected,
reconnecting after a network blip stays discord.py's job. Refusals that mean the configuration
is wrong (the token, the shard settings, the intents) are :class:`~bot.errors.ConfigError`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.advisor import DiscordAdvisor
from adapters.discord.client import AdvisorClient
from bot.config import Settings, ShardPlan
from bot.engine import Engine
from bot.errors import ConfigError, PlatformUnreachable

_log = logging.getLogger(__name__)
#: Seconds given to interactions in flight when stopping: as long as Slack's drain, so with
#: both adapters and the stores' 1 s closes the process exits within 10 s of SIGTERM.
DRAIN_SECONDS = 8.0
#: Seconds the gateway has to accept a websocket at start-up.
CONNECT_SECONDS = 30.0
#: Seconds the REST login (the bot user, then the command sync) may take at start-up.
LOGIN_SECONDS = 60.0
#: How an unreachable Discord shows up: no network, DNS, refused or silent connections
#: (``TimeoutError`` is an ``OSError``), a websocket handshake refused, Discord's 5xx.
NETWORK_ERRORS = (OSError, aiohttp.ClientError, discord.GatewayNotFound, discord.DiscordServerError)
#: Gateway close codes that mean the configuration is wrong, with the variable to check
#: (https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway).
CONFIG_CLOSE_CODES = {
    4004: "DISCORD_TOKEN: the gateway refused the token",
    4010: "ADVISOR_DISCORD_SHARDS: the gateway refused the shard",
    4011: "ADVISOR_DISCORD_SHARDS: Discord requires sharding for this bot (set it to auto)",
    4013: "ADVISOR_DISCORD_MESSAGE_CONTENT: the gateway refused the intents",
    4014: (
        "ADVISOR_DISCORD_MESSAGE_CONTENT: the Message Content intent is not enabled for this "
        "bot in the Discord developer portal"
    ),
}


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


def _reason(exc: BaseException, seconds: float) -> str:
    """One line on why a connection failed (``str(exc)`` is "" for a timeout)."""
    text = " ".join(str(exc).split())
    return text or f"no answer within {seconds:g} s ({type(exc).__name__})"


async def reach(client: AdvisorClient, token: str) -> None:
    """Log ``client`` in (REST: the bot user, then the command sync; at most
    :data:`LOGIN_SECONDS`) and check that the gateway (``DiscordWebSocket.DEFAULT_GATEWAY``)
    accepts a websocket (at most :data:`CONNECT_SECONDS`).

    Raises:
        ConfigError: naming ``DISCORD_TOKEN`` when Discord refuses the token.
        PlatformUnreachable: naming the REST base or the gateway URL that cannot be reached.
    """
    try:
        await asyncio.wait_for(client.login(token), LOGIN_SECONDS)
    except discord.LoginFailure as exc:
        raise ConfigError(f"DISCORD_TOKEN: Discord refused the token ({exc})") from None
    except NETWORK_ERRORS as exc:
        why = _reason(exc, LOGIN_SECONDS)
        raise PlatformUnreachable(f"cannot reach Discord's API at {Route.BASE}: {why}") from None
    gateway = str(DiscordWebSocket.DEFAULT_GATEWAY)
    try:
        ws = await asyncio.wait_for(client.http.ws_connect(gateway), CONNECT_SECONDS)
        await ws.close()
    except NETWORK_ERRORS as exc:
        why = _reason(exc, CONNECT_SECONDS)
        raise PlatformUnreachable(f"cannot reach Discord's gateway at {gateway}: {why}") from None


async def serve(client: AdvisorClient, token: str, stop: asyncio.Event) -> None:
    """Connect and serve until ``stop`` is set; then drain (see the module docstring) and close.

    Raises:
        ConfigError: naming the variable when Discord refuses the token, the shard settings
            or the intents.
        PlatformUnreachable: when Discord cannot be reached at start-up (see :func:`reach`).
    """
    try:
        async with client:
            await reach(client, token)
            running = asyncio.create_task(client.connect())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not running.done():
                await client.advisor.drain(DRAIN_SECONDS)
                await client.close()
            await running  # returns once closed
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(CONFIG_CLOSE_CODES[4014]) from None
    except discord.ConnectionClosed as exc:
        if exc.code in CONFIG_CLOSE_CODES:
            raise ConfigError(CONFIG_CLOSE_CODES[exc.code]) from None
        raise


async def run(settings: Settings, engine: Engine) -> None:
    """Connect and serve until SIGINT or SIGTERM, then close the client and the engine.

    Raises:
        ConfigError: see :func:`check` and :func:`serve`.
        PlatformUnreachable: see :func:`serve`.
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
