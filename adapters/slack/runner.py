"""Run the Slack adapter: check its configuration, then serve Socket Mode or HTTP mode.

- Socket Mode when ``SLACK_APP_TOKEN`` is set: bolt's aiohttp ``AsyncSocketModeHandler``
  opens the websocket (``apps.connections.open``); no public URL is needed.
- HTTP mode otherwise: an aiohttp server on ``ADVISOR_HTTP_HOST``:``ADVISOR_HTTP_PORT`` with
  Slack's requests at ``POST /slack/events`` (slash command, events and interactivity all use
  that one URL). Each request's signature is checked with ``SLACK_SIGNING_SECRET`` and its
  body decoded before bolt sees it: junk gets 401 (unsigned) or 400 (signed but malformed)
  and a debug line, never a 500 or an incident.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.ops import listen
from adapters.slack import parse
from adapters.slack.app import SlackAdapter
from adapters.slack.client import web_client
from bot.config import Settings
from bot.dedupe import DedupeStore
from bot.engine import Engine
from bot.errors import ConfigError

_log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
#: Seconds from stop to Slack's side being shut down, work in flight included. With the stores
#: closed after it (adapters.serve), the process exits within 10 s of SIGTERM, inside Compose's
#: 15 s stop_grace_period and k8s's 20 s terminationGracePeriodSeconds (5 s preStop first).
DRAIN_SECONDS = 8.0
#: Seconds a request already inside may take to get its ack out once shutdown began; Slack
#: itself gives up after 3 s and sends the request again.
ACK_SECONDS = 3.0


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
    ``extra_routes`` adds (the operations endpoints, when they share the port).

    A request without a valid signature (see :func:`adapters.slack.parse.signed_by_slack`)
    gets 401, a signed one whose body bolt could not read (not UTF-8, broken JSON, fields of
    the wrong type: :func:`adapters.slack.parse.body_problem`) gets 400; both only log at
    debug level, since anyone can send them.
    """

    async def slack_events(request: web.Request) -> web.Response:
        raw = await request.read()
        headers = request.headers
        secret = adapter.signing_secret
        if secret and not parse.signed_by_slack(
            secret,
            raw,
            headers.get("X-Slack-Request-Timestamp", ""),
            headers.get("X-Slack-Signature", ""),
            now=time.time(),
        ):
            _log.debug("refused a request without a valid signature (%d bytes)", len(raw))
            return web.json_response({"error": "invalid request"}, status=401)
        bolt_headers: dict[str, str | Sequence[str]] = dict(headers)
        bolt_request: AsyncBoltRequest | None = None
        try:  # bolt's own parser raises on all of these; it also reads the body's fields
            text = raw.decode("utf-8")
            body = parse.decode_body(text, headers.get("Content-Type", ""))
            problem = parse.body_problem(body)
            if not problem:
                bolt_request = AsyncBoltRequest(
                    body=text, query=request.query_string, headers=bolt_headers
                )
                if bolt_request.body != body:  # bolt misread a form that merely says "payload"
                    bolt_request.body = body
                    bolt_request.context = build_async_context(AsyncBoltContext({}), body)
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if bolt_request is None:
            _log.debug("refused a malformed signed request: %s", problem[:300])
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(await adapter.app.async_dispatch(bolt_request))

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
    """Serve until ``stop`` is set, then shut down within :data:`DRAIN_SECONDS`: refuse new
    requests (503; Slack sends them again, to a replica that is up), close the listener or
    socket, let requests in flight finish their ack (at most :data:`ACK_SECONDS`), then finish
    the work they started; what cannot finish in time is logged at WARNING and left in the
    outbox (:meth:`SlackAdapter.shutdown`). In HTTP mode, ``extra_routes`` adds routes to the
    Slack server."""
    if config.mode == "socket":
        handler = AsyncSocketModeHandler(adapter.app, config.app_token, web_client=adapter.client)
        await handler.connect_async()  # type: ignore[no-untyped-call]
        _log.info("Slack Socket Mode connected")
        adapter.start()  # deliver replies a crashed or stopped replica still owed
        try:
            await stop.wait()
        finally:
            adapter.stop_accepting()  # an envelope still arriving is not acked: Slack resends it
            await handler.close_async()  # type: ignore[no-untyped-call]
            await adapter.shutdown(DRAIN_SECONDS)
        return
    runner = web.AppRunner(
        events_app(adapter, extra_routes), access_log=None, shutdown_timeout=ACK_SECONDS
    )
    await runner.setup()
    await listen(
        runner, settings.http_host, settings.http_port, ("ADVISOR_HTTP_HOST", "ADVISOR_HTTP_PORT")
    )
    site = next(iter(runner.sites))
    _log.info(
        "Slack HTTP mode listening on http://%s:%d%s",
        settings.http_host,
        settings.http_port,
        EVENTS_PATH,
    )
    adapter.start()  # deliver replies a crashed or stopped replica still owed
    try:
        await stop.wait()
    finally:
        # Order matters: refuse first (kept-alive connections get 503), close the listener,
        # let requests already inside finish their ack, then finish the work they started.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        adapter.stop_accepting()
        await site.stop()
        await runner.cleanup()  # waits at most ACK_SECONDS for requests in flight
        await adapter.shutdown(max(0.0, deadline - loop.time()))


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
