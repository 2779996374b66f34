"""Prometheus metrics (prometheus-client), one registry per :class:`Metrics`.

The engine counts every turn; adapters count what only they see (shares, incidents, one-shot
answers they render from a cache). ``/metrics`` serves :meth:`Metrics.exposition`.

Families (all prefixed ``advisor_``):

- ``messages_total{platform,intent}``: messages and button presses handled.
- ``turn_seconds{platform}``: histogram of the time to produce the replies, in seconds.
- ``active_sessions``: conversations not yet expired, read from the store at scrape time.
- ``flow_total{stage,question}``: the selection funnel; ``stage`` is ``started``,
  ``answered`` (``question`` says which), ``skipped``, ``recommended`` or ``abandoned``
  (``question`` is the one that was pending).
- ``shares_total{platform}``: answers shared to a channel.
- ``errors_total{kind}``: ``store_unavailable``, ``write_conflict`` (a turn re-run because
  another replica wrote first), ``dedupe_unavailable`` (the shared retry memory was slow or
  down; this replica's own answered), ``outbox_unavailable`` (an outbox call failed or timed
  out; the reply went out without the safety net), ``incident`` (a handler failed).

Beside them, prometheus-client's standard collectors for this process: ``process_*`` (CPU
seconds, resident and virtual memory in bytes, open file descriptors, start time; read from
``/proc``, so Linux only), ``python_info`` and ``python_gc_*`` (CPython's collector).
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import generate_latest

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

#: Histogram buckets for a turn, in seconds: a cached answer takes ~0.1 ms, a Redis turn ~1 ms.
TURN_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
FLOW_STAGES = ("started", "answered", "skipped", "recommended", "abandoned")


class Metrics:
    """The advisor's metric families in their own :class:`CollectorRegistry` (so several
    engines in one test process never collide).

    Args:
        registry: where to register; by default a new one, which also gets the ``process_*``
            and ``python_*`` collectors (a given registry gets only the ``advisor_`` families:
            prometheus-client's default ``REGISTRY`` has those collectors already).

    Raises:
        ValueError: when ``registry`` already holds an ``advisor_`` family.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        if registry is None:
            registry = CollectorRegistry()
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        self.registry = registry
        r = self.registry
        self.messages = Counter(
            "advisor_messages",
            "Messages and button presses handled.",
            ["platform", "intent"],
            registry=r,
        )
        self.turn_seconds = Histogram(
            "advisor_turn_seconds",
            "Seconds to produce the replies to one message.",
            ["platform"],
            buckets=TURN_BUCKETS,
            registry=r,
        )
        self.active_sessions = Gauge(
            "advisor_active_sessions",
            "Conversations not yet expired (read at scrape time).",
            registry=r,
        )
        self.flow = Counter(
            "advisor_flow",
            "Selection funnel: started, answered, skipped, recommended, abandoned.",
            ["stage", "question"],
            registry=r,
        )
        self.shares = Counter(
            "advisor_shares", "Answers shared to a channel.", ["platform"], registry=r
        )
        self.errors = Counter("advisor_errors", "Errors by kind.", ["kind"], registry=r)

    def message(self, platform: str, intent: str, seconds: float) -> None:
        """Count one handled message and its latency (seconds)."""
        self.messages.labels(platform or "unknown", intent).inc()
        self.turn_seconds.labels(platform or "unknown").observe(seconds)

    def flow_event(self, stage: str, question: str = "") -> None:
        """Count one funnel step (one of :data:`FLOW_STAGES`)."""
        self.flow.labels(stage, question).inc()

    def share(self, platform: str) -> None:
        """Count one share to a channel."""
        self.shares.labels(platform).inc()

    def error(self, kind: str) -> None:
        """Count one error of ``kind`` (see the module docstring)."""
        self.errors.labels(kind).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus text format (content type :data:`CONTENT_TYPE_LATEST`)."""
        return generate_latest(self.registry)
