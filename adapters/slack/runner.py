"""Run the Slack adapter: check its configuration, then serve Socket Mode or HTTP mode.

- Socket Mode when ``SLACK_APP_TOKEN`` is set: bolt's aiohttp ``AsyncSocketModeHandler``
  opens the websocket (``apps.connections.open``); no public URL is needed.
- HTTP mode otherwise: an aiohttp server on ``ADVISOR_HTTP_HOST``:``ADVISOR_HTTP_PORT`` with
  Slack's requests at ``POST /slack/events`` (slash command, events and interactivity all use
  that one URL); bolt verifies each request's signature with ``SLACK_SIGNING_SECRET``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from adapters.slack.app import SlackAdapter, web_client
from bot.config import Settings
from bot.dedupe import DedupeStore
from bot.engine import Engine
from bot.errors import ConfigError

_log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
#: Seconds given to work in flight when stopping.
DRAIN_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class SlackConfig:
    """What the Slack adapter runs with, checked. ``mode`` is ``socket`` or ``http``."""

    mode: str
    bot_token: str
    app_token: str = ""
    signing_secret: str = ""


def check(settings: Settings) -> SlackConfig:
    """Check the Slack variables and choose the mode.

    Raises:
        ConfigError: naming the variable that is missing or contradicts another.
    """
    if not settings.slack_bot_token:
        raise ConfigError(
            "SLACK_BOT_TOKEN: not set; the Slack adapter needs the bot token (xoxb-…)"
        )
    bot = settings.slack_bot_token.reveal()
    if not bot.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN: expected a bot token starting with xoxb-")
    if settings.slack_app_token:
        app = settings.slack_app_token.reveal()
        if not app.startswith("xapp-"):
            raise ConfigError(
                "SLACK_APP_TOKEN: expected an app-level token starting with xapp- (it turns on "
                "Socket Mode); unset it to use HTTP mode"
            )
        return SlackConfig("socket", bot, app_token=app)
    if not settings.slack_signing_secret:
        raise ConfigError(
            "SLACK_SIGNING_SECRET: not set; HTTP mode needs it to verify requests "
            "(or set SLACK_APP_TOKEN for Socket Mode)"
        )
    return SlackConfig("http", bot, signing_secret=settings.slack_signing_secret.reveal())


def build_adapter(
    config: SlackConfig, settings: Settings, engine: Engine, dedupe: DedupeStore | None = None
) -> SlackAdapter:
    """A :class:`SlackAdapter` for a checked configuration; ``dedupe`` remembers event ids
    (default: in this process only)."""
    client = web_client(config.bot_token, settings.slack_api_url)
    return SlackAdapter(engine, client=client, signing_secret=config.signing_secret, dedupe=dedupe)


def events_app(
    adapter: SlackAdapter, extra_routes: Callable[[web.Application], None] | None = None
) -> web.Application:
    """An aiohttp application serving Slack's requests at :data:`EVENTS_PATH`, plus whatever
    ``extra_routes`` adds (the operations endpoints, when they share the port)."""

    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await adapter.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    app = web.Application()
    app.router.add_post(EVENTS_PATH, slack_events)
    if extra_routes is not None:
        extra_routes(app)
    return app


async def serve(
    config: SlackConfig,
    settings: Settings,
    adapter: SlackAdapter,
    stop: asyncio.Event,
    extra_routes: Callable[[web.Application], None] | None = None,
) -> None:
    """Serve until ``stop`` is set, then stop taking events and finish work in flight (at most
    :data:`DRAIN_SECONDS`). In HTTP mode, ``extra_routes`` adds routes to the Slack server."""
    if config.mode == "socket":
        handler = AsyncSocketModeHandler(adapter.app, config.app_token, web_client=adapter.client)
        await handler.connect_async()  # type: ignore[no-untyped-call]
        _log.info("Slack Socket Mode connected")
        try:
            await stop.wait()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
            await adapter.drain(DRAIN_SECONDS)
        return
    runner = web.AppRunner(events_app(adapter, extra_routes), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    _log.info(
        "Slack HTTP mode listening on http://%s:%d%s",
        settings.http_host,
        settings.http_port,
        EVENTS_PATH,
    )
    try:
        await stop.wait()
    finally:
        await site.stop()
        await adapter.drain(DRAIN_SECONDS)
        await runner.cleanup()


async def run(settings: Settings, engine: Engine) -> None:
    """Check the configuration, serve until SIGINT or SIGTERM, close the engine.

    Raises:
        ConfigError: see :func:`check`.
    """
    config = check(settings)
    adapter = build_adapter(config, settings, engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(config, settings, adapter, stop)
    finally:
        await adapter.dedupe.close()
        await engine.close()
