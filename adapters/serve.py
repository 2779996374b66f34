"""``advisor serve``: every configured adapter in one event loop, plus the operations endpoints.

- Slack runs when ``SLACK_BOT_TOKEN`` is set (Socket Mode or HTTP mode, see
  :mod:`adapters.slack.runner`); Discord when ``DISCORD_TOKEN`` is set. ``advisor slack`` and
  ``advisor discord`` run one of them the same way.
- Sessions live in the store ``ADVISOR_STORE`` names; with ``ADVISOR_REDIS_URL`` they, and
  Slack's retry de-duplication, are shared with every other replica through Redis.
- ``/healthz``, ``/readyz`` and ``/metrics`` listen on ``ADVISOR_OPS_HOST``:``ADVISOR_OPS_PORT``;
  when that is also the Slack HTTP port, the Slack server serves them.
- On SIGTERM or SIGINT readiness turns false at once, the adapters refuse new events (Slack:
  503) and finish those already acknowledged (Slack: at most 8 s, concurrently), logging at
  WARNING what they could not deliver; then the stores close (at most 1 s each), so the
  process exits inside Compose's 15 s grace even when Redis hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from adapters.ops import Operations, listen
from bot.config import Settings
from bot.dedupe import DedupeStore, MemoryDedupe
from bot.engine import Engine
from bot.errors import ConfigError
from bot.knowledge import KnowledgeBase
from bot.sessions import SessionStore, check_store, store_for

if TYPE_CHECKING:
    from adapters.slack.runner import SlackConfig

_log = logging.getLogger(__name__)

PLATFORMS = ("slack", "discord")
#: Seconds each store may take to close at exit.
CLOSE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Plan:
    """What ``serve`` will run, with each adapter's configuration checked.

    Attributes:
        slack: the checked Slack configuration, or None.
        discord_token: the Discord bot token, or "".
    """

    slack: SlackConfig | None
    discord_token: str = ""


def plan(settings: Settings, platforms: Sequence[str] = PLATFORMS) -> Plan:
    """Check the configuration of each platform in ``platforms`` whose token is set (or that
    is asked for alone), before anything is opened.

    Raises:
        ConfigError: naming the variable, including when no platform is configured.
    """
    slack_wanted = "slack" in platforms and (
        bool(settings.slack_bot_token) or tuple(platforms) == ("slack",)
    )
    discord_wanted = "discord" in platforms and (
        bool(settings.discord_token) or tuple(platforms) == ("discord",)
    )
    if not (slack_wanted or discord_wanted):
        raise ConfigError(
            "SLACK_BOT_TOKEN, DISCORD_TOKEN: neither is set; `advisor serve` needs at least one "
            "(README.md: Slack setup, Discord setup)"
        )
    slack = None
    token = ""
    if slack_wanted:
        from adapters.slack.runner import check

        slack = check(settings)
    if discord_wanted:
        from adapters.discord.runner import check as check_discord

        token = check_discord(settings)
    return Plan(slack=slack, discord_token=token)


def open_stores(settings: Settings) -> tuple[SessionStore, DedupeStore]:
    """The session store and the dedupe store for ``settings``: both in one Redis when
    ``ADVISOR_REDIS_URL`` is set (the session store owns the connection pool), otherwise the
    configured local store and an in-process dedupe. Opens no connection yet.

    Raises:
        ConfigError: naming ``ADVISOR_REDIS_URL`` when redis-py rejects it.
    """
    if settings.redis_url:
        from bot.redis_backend import RedisDedupe, RedisStore, connect

        try:
            client = connect(settings.redis_url)
        except ValueError as exc:
            raise ConfigError(f"ADVISOR_REDIS_URL: {exc}") from None
        dedupe: DedupeStore = RedisDedupe(client)
        if settings.store == "redis":
            return RedisStore(client), dedupe
        return store_for(settings), dedupe
    return store_for(settings), MemoryDedupe()


async def serve(
    checked: Plan,
    settings: Settings,
    engine: Engine,
    dedupe: DedupeStore,
    stop: asyncio.Event,
    *,
    started: asyncio.Event | None = None,
) -> None:
    """Run the planned adapters and the operations endpoints until ``stop`` is set or an
    adapter fails; then drain and close everything, including ``engine`` and ``dedupe``.

    Args:
        started: set once every server listens (tests wait on it).
    Raises:
        ConfigError: when a platform refuses its token at connect time.
    """
    ops = Operations(engine)
    tasks: list[asyncio.Task[None]] = []
    ops_runner: web.AppRunner | None = None
    shared = (
        checked.slack is not None
        and checked.slack.mode == "http"
        and settings.ops_port is not None
        and settings.ops_port == settings.http_port != 0
    )
    try:
        if settings.ops_port is not None and not shared:  # first: a busy port stops it all
            runner = web.AppRunner(ops.app(), access_log=None)
            await runner.setup()
            await listen(
                runner,
                settings.ops_host,
                settings.ops_port,
                ("ADVISOR_OPS_HOST", "ADVISOR_OPS_PORT"),
            )
            ops_runner = runner  # listen() cleans up after itself when it fails
            _log.info(
                "operations endpoints on http://%s:%d (/healthz /readyz /metrics)",
                settings.ops_host,
                settings.ops_port,
            )
        if checked.slack is not None:
            from adapters.slack.runner import build_adapter
            from adapters.slack.runner import serve as serve_slack

            adapter = build_adapter(checked.slack, settings, engine, dedupe)
            tasks.append(
                asyncio.create_task(
                    serve_slack(
                        checked.slack, settings, adapter, stop, ops.add_routes if shared else None
                    ),
                    name="slack",
                )
            )
        if checked.discord_token:
            from adapters.discord.runner import build_client
            from adapters.discord.runner import serve as serve_discord

            client = build_client(settings, engine)
            tasks.append(
                asyncio.create_task(
                    serve_discord(client, checked.discord_token, stop), name="discord"
                )
            )
        if started is not None:
            started.set()
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({*tasks, stopping}, return_when=asyncio.FIRST_COMPLETED)
        ops.draining = True
        stop.set()  # one adapter failing stops the others
        stopping.cancel()
        _log.info("stopping: finishing work in flight")
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
    finally:
        ops.draining = True
        for task in tasks:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if ops_runner is not None:
            await ops_runner.cleanup()
        for what, close in (("dedupe store", dedupe.close), ("session store", engine.close)):
            try:  # a hung Redis must not hold the exit past the grace period
                await asyncio.wait_for(close(), CLOSE_SECONDS)
            except Exception as exc:
                _log.warning("%s not closed cleanly: %s", what, exc or type(exc).__name__)
        _log.info("stopped")


async def run(settings: Settings, kb: KnowledgeBase, platforms: Sequence[str] = PLATFORMS) -> None:
    """Check, open the stores, serve until SIGINT or SIGTERM, close.

    Raises:
        ConfigError: see :func:`plan`, :func:`open_stores` and
            :func:`bot.sessions.check_store`.
    """
    checked = plan(settings, platforms)
    store, dedupe = open_stores(settings)
    try:
        await check_store(store, settings)
    except ConfigError:
        await store.close()
        await dedupe.close()
        raise
    engine = Engine(kb, store, ttl=settings.session_ttl)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _log.info(
        "serving %s; sessions in %s",
        " and ".join(
            p for p, on in (("Slack", checked.slack), ("Discord", checked.discord_token)) if on
        ),
        settings.store,
    )
    await serve(checked, settings, engine, dedupe, stop)
