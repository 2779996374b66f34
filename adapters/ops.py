"""Operations endpoints on aiohttp: ``/healthz``, ``/readyz`` and ``/metrics``.

- ``GET /healthz``: 200 ``ok`` while the process serves (liveness; it never touches the store,
  so an orchestrator does not restart replicas because Redis is down).
- ``GET /readyz``: 200 when the knowledge is loaded and the session store answers a ping
  within :data:`PING_TIMEOUT` seconds; 503 otherwise, and from the moment shutdown starts, so a
  load balancer stops sending work that would be cut off. The body is JSON:
  ``{"ready": bool, "knowledge": version, "store": "ok" | "unreachable", "draining": bool}``.
- ``GET /metrics``: Prometheus text format from the engine's :class:`~bot.metrics.Metrics`;
  ``advisor_active_sessions`` is read from the store at scrape time.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from aiohttp import web

from bot.engine import Engine
from bot.errors import ConfigError, StoreUnavailable
from bot.metrics import CONTENT_TYPE_LATEST

_log = logging.getLogger(__name__)

#: Seconds a store ping or count may take before the store counts as unreachable.
PING_TIMEOUT = 2.0
PATHS = ("/healthz", "/readyz", "/metrics")


async def listen(runner: web.AppRunner, host: str, port: int, variables: tuple[str, str]) -> None:
    """Start listening on ``host``:``port`` for ``runner``; ``variables`` names the host and
    port settings, e.g. ``("ADVISOR_OPS_HOST", "ADVISOR_OPS_PORT")``.

    Raises:
        ConfigError: naming the host variable when the host does not resolve, else the port
            variable (port in use, not allowed, address not on this machine); the runner is
            cleaned up first.
    """
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        unresolved = isinstance(exc, socket.gaierror)
        name = variables[0] if unresolved else variables[1]
        reason = exc.strerror or str(exc)
        raise ConfigError(f"{name}: cannot listen on {host}:{port}: {reason}") from None


class Operations:
    """The three endpoints for one engine; :attr:`draining` turns readiness off.

    Args:
        engine: whose knowledge, store and metrics are reported.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.draining = False

    def add_routes(self, app: web.Application) -> None:
        """Serve :data:`PATHS` from ``app`` (its own server, or the Slack HTTP server)."""
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)

    def app(self) -> web.Application:
        """A new aiohttp application with only these endpoints."""
        app = web.Application()
        self.add_routes(app)
        return app

    async def ready(self) -> dict[str, object]:
        """The readiness report (see the module docstring); never raises."""
        try:
            reachable = await asyncio.wait_for(self.engine.store.ping(), PING_TIMEOUT)
        except (TimeoutError, StoreUnavailable):
            reachable = False
        return {
            "ready": reachable and not self.draining,
            "knowledge": self.engine.kb.version,
            "store": "ok" if reachable else "unreachable",
            "draining": self.draining,
        }

    async def healthz(self, request: web.Request) -> web.Response:
        """Liveness: always 200 while the event loop runs."""
        return web.Response(text="ok")

    async def readyz(self, request: web.Request) -> web.Response:
        """Readiness: 200 or 503 with :meth:`ready` as JSON."""
        report = await self.ready()
        return web.json_response(report, status=200 if report["ready"] else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus exposition, with the active-session gauge refreshed from the store (left
        at its last value when the store does not answer)."""
        engine = self.engine
        try:
            count = await asyncio.wait_for(engine.store.count(engine.clock()), PING_TIMEOUT)
            engine.metrics.active_sessions.set(count)
        except (TimeoutError, StoreUnavailable) as exc:
            _log.warning("active sessions not refreshed: %s", exc or "timed out")
        return web.Response(
            body=engine.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
