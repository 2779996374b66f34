"""The global bolt middleware, run before any listener: while the adapter drains for
shutdown every request is refused with 503, and an event Slack delivers again (a retry after a
slow ack, or a redelivery to another replica) is acked and dropped, so it yields one reply.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from adapters.slack import parse
from bot import logs
from bot.dedupe import DedupeStore, FallbackDedupe, MemoryDedupe
from bot.errors import StoreUnavailable
from bot.metrics import Metrics

_log = logging.getLogger(__name__)


class DropRetriedEvents(AsyncMiddleware):
    """Global bolt middleware, run before any listener:

    - while the adapter drains for shutdown (``accepting()`` is False) every request is
      refused with 503, so nothing is acked that shutdown would then drop; Slack delivers it
      again, to a replica that is up;
    - an ``event_callback`` whose ``event_id`` was seen before is acked (200) and dropped, so
      Slack's retries (``X-Slack-Retry-Num``) yield one reply.

    The check runs before the ack, so a shared store (Redis) is asked through
    :class:`~bot.dedupe.FallbackDedupe`: at most :data:`~bot.dedupe.DEDUPE_BUDGET` seconds,
    then this process's memory decides (counted as ``dedupe_unavailable``).

    A subclass rather than a decorated function: bolt then skips its per-call argument
    injection, which costs more than the check itself.
    """

    def __init__(
        self,
        dedupe: DedupeStore,
        metrics: Metrics | None = None,
        *,
        accepting: Callable[[], bool] | None = None,
    ) -> None:
        self.metrics = metrics
        self.accepting = accepting
        self.dedupe: DedupeStore = (
            dedupe
            if isinstance(dedupe, MemoryDedupe | FallbackDedupe)
            else FallbackDedupe(dedupe, on_fallback=self._fell_back)
        )

    def _fell_back(self) -> None:
        if self.metrics is not None:
            self.metrics.error("dedupe_unavailable")

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        """See ``slack_bolt.middleware.async_middleware.AsyncMiddleware``."""
        if self.accepting is not None and not self.accepting():
            return BoltResponse(status=503, body="shutting down")
        body = req.body
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        logs.bind(
            platform=parse.PLATFORM,
            request_id=str(event_id or body.get("trigger_id") or body.get("api_app_id") or ""),
        )
        if event_id:
            try:
                first = await self.dedupe.first_time(f"slack:event:{event_id}")
            except StoreUnavailable as exc:
                _log.warning("dedupe store unavailable, handling event anyway: %s", exc)
                self._fell_back()
                first = True
            if not first:
                _log.info("dropped a redelivered event %s", event_id)
                return BoltResponse(status=200, body="")
        return await next()
