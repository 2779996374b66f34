"""The one door into the core: ``Engine.handle(Incoming) -> list[Reply]``.

Adapters translate a platform event into :class:`Incoming`, await :meth:`Engine.handle` and
render the replies. They never touch the knowledge base or the session store directly. The
engine loads the conversation's state, runs the pure :func:`bot.conversation.step`, and saves
the new state; turns of one conversation are serialised with a per-key lock.
"""

from __future__ import annotations

import functools
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import logs
from bot.answers import Answerer
from bot.errors import StoreUnavailable
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher, clean
from bot.replies import Reply

# asyncio, prometheus_client (bot.metrics), the session stores (bot.sessions) and the
# conversation (bot.conversation) are imported on first use: a one-shot answer (`advisor ask`)
# needs none of them (issue 15).
if TYPE_CHECKING:
    import asyncio

    from bot.conversation import Context, FlowState
    from bot.metrics import Metrics
    from bot.sessions import ConversationKey, SessionStore

__all__ = ["ConversationKey", "Engine", "Incoming", "LastRecommendation"]

_log = logging.getLogger(__name__)
#: Default conversation lifetime after the last turn, in seconds.
DEFAULT_TTL = 24 * 60 * 60
EXPIRED_TEXT = 'That conversation expired; say "recommend" to start again.'
STORE_DOWN_TEXT = "I can't reach my memory right now, try again in a minute."
#: How many one-shot answers :meth:`Engine.answer_once` remembers.
ANSWER_CACHE = 1024
#: How long a person's last recommendation is kept for their home view, in seconds (90 days).
PROFILE_TTL = 90 * 24 * 60 * 60
#: How many times a turn is re-run when another replica wrote the session first.
WRITE_ATTEMPTS = 5
BUSY_TEXT = "Several answers arrived at once and I couldn't keep up; please send that again."


@dataclass(frozen=True, slots=True, kw_only=True)
class Incoming:
    """One message or button press from a person.

    Attributes:
        key: the conversation it belongs to.
        text: what they typed (any Unicode; over 4,000 characters is refused politely).
        action: a :class:`~bot.replies.Choice` value coming back from a button, or "".
    """

    key: ConversationKey
    text: str = ""
    action: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LastRecommendation:
    """The most recent recommendation a person got, for a home view.

    Attributes:
        frameworks: canonical names, best first (at most three).
        based_on: the answers it was based on, one sentence.
        at: when it was made, seconds since the epoch.
    """

    frameworks: tuple[str, ...]
    based_on: str
    at: float


class Engine:
    """Understands messages, runs the selection conversation and keeps sessions.

    Args:
        kb: the validated knowledge base.
        store: where sessions live (default: a new :class:`~bot.sessions.MemoryStore`, made on
            first use of :attr:`store`).
        ttl: seconds a conversation lives after its last turn.
        clock: returns seconds since the epoch (tests pass a fake).
        metrics: where turns are counted (default: a new :class:`~bot.metrics.Metrics`, made
            on first use of :attr:`metrics`).
        matcher: the understanding for ``kb`` (default: built here; see
            :func:`bot.matching.load_matcher` for one from the cache).
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        store: SessionStore | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
        matcher: Matcher | None = None,
    ) -> None:
        self.kb = kb
        self.matcher = matcher if matcher is not None else Matcher(kb)
        self.answerer = Answerer(kb, self.matcher)
        self._store = store
        self.ttl = ttl
        self.clock = clock
        self._metrics = metrics
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._answered = functools.lru_cache(maxsize=ANSWER_CACHE)(self._answer_once)

    @functools.cached_property
    def context(self) -> Context:
        """What :func:`bot.conversation.step` reads, built on first use."""
        from bot.conversation import Context

        return Context(self.kb, self.matcher, self.answerer)

    @property
    def store(self) -> SessionStore:
        """Where sessions live: the store given, else a :class:`~bot.sessions.MemoryStore`
        made on first use."""
        if self._store is None:
            from bot.sessions import MemoryStore

            self._store = MemoryStore()
        return self._store

    @property
    def metrics(self) -> Metrics:
        """Where messages are counted: the :class:`~bot.metrics.Metrics` given, else one made
        on first use (so a one-shot answer never imports prometheus_client)."""
        if self._metrics is None:
            from bot.metrics import Metrics

            self._metrics = Metrics()
        return self._metrics

    def answer_once(self, text: str, *, platform: str = "") -> list[Reply]:
        """Answer one message with no session. A request to be walked through the questions
        gets the one-shot ranking of what the text gives instead. Never raises.

        Answers depend only on the text and the knowledge base, so the last
        :data:`ANSWER_CACHE` are remembered. With ``platform``, the message is counted in
        :attr:`metrics` (adapters leave it "" for re-renders such as a share)."""
        started = time.perf_counter()
        replies = list(self._answered(text))
        if platform:
            self.observe(platform, replies[0].intent, time.perf_counter() - started)
        return replies

    def observe(self, platform: str, intent: str, seconds: float) -> None:
        """Count one handled message in :attr:`metrics` and log it at INFO (platform, intent
        and duration; never the text). Adapters call it for answers they serve from their own
        cache; :meth:`handle` calls it for every turn."""
        logs.bind(platform=platform, intent=intent)
        self.metrics.message(platform, intent, seconds)
        _log.info(
            "handled %s in %.1f ms",
            intent,
            seconds * 1000,
            extra={"duration_ms": round(seconds * 1000, 3)},
        )

    def _answer_once(self, text: str) -> tuple[Reply, ...]:
        return (self.answerer.answer(self.matcher.understand(text)),)

    def help(self) -> Reply:
        """Usage, with example questions as buttons."""
        return self.answerer.help()

    def wants_flow(self, text: str) -> bool:
        """True when ``text`` asks to be walked through the selection questions ("recommend
        …", "help me pick")."""
        return self.matcher.understand(text).flow

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer one message or button press. Never raises; returns at least one reply.

        When the store is down, one-shot questions are still answered; anything that needs
        the conversation gets :data:`STORE_DOWN_TEXT`. When another replica writes the same
        session between our read and our write, the turn is re-run on the fresh state (at
        most :data:`WRITE_ATTEMPTS` times), so no answer is lost.
        """
        import asyncio

        started = time.perf_counter()
        logs.bind(platform=incoming.key.platform)
        key = incoming.key.as_string()
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            replies = await self._handle(key, incoming)
        intent = next((r.intent for r in replies if r.kind != "notice"), replies[0].intent)
        self.observe(incoming.key.platform, intent, time.perf_counter() - started)
        return replies

    async def _handle(self, key: str, incoming: Incoming) -> list[Reply]:
        from bot.conversation import FlowState, Turn, step

        now = self.clock()
        turn = Turn(text=incoming.text, action=incoming.action, now=now)
        for _ in range(WRITE_ATTEMPTS):
            try:
                record = await self.store.get(key, now)
            except StoreUnavailable as exc:
                _log.warning("session store unavailable on read: %s", exc)
                self.metrics.error("store_unavailable")
                return self._without_store(incoming)
            stored = FlowState()
            notices: list[Reply] = []
            if record is not None:
                stored = FlowState.from_dict(record.data)
            state = stored
            if record is not None and record.expired:
                if stored.status != "idle":
                    notices.append(
                        Reply(
                            intent="recommend",
                            kind="notice",
                            title="Conversation expired",
                            paragraphs=(EXPIRED_TEXT,),
                        )
                    )
                state = FlowState()
            new_state, replies = step(self.context, state, turn)
            if new_state != state or record is None or record.expired:
                try:
                    written = await self.store.put(
                        key,
                        new_state.to_dict(),
                        now,
                        self.ttl,
                        expect=record.version if record is not None else 0,
                    )
                except StoreUnavailable as exc:
                    _log.warning("session store unavailable on write: %s", exc)
                    self.metrics.error("store_unavailable")
                    if new_state.status != "idle" or state.status != "idle":
                        return [_store_down()]
                    written = True
                if not written:
                    _log.info("session written by another replica meanwhile; re-running turn")
                    self.metrics.error("write_conflict")
                    continue
            self._count_flow(stored, new_state, expired=bool(record and record.expired))
            await self._remember(incoming.key, replies, now)
            return notices + replies or [self.answerer.help()]
        return [
            Reply(intent="help", kind="error", title="Busy", paragraphs=(BUSY_TEXT,)),
        ]

    def _count_flow(self, old: FlowState, new: FlowState, *, expired: bool) -> None:
        """Funnel metrics for one committed turn from ``old`` (as stored) to ``new``."""
        m = self.metrics
        restarted = new.status == "asking" and new.started != old.started
        if old.status == "asking" and (expired or restarted or new.status == "idle"):
            m.flow_event("abandoned", old.pending)
        if restarted:
            m.flow_event("started")
        base = {} if expired or restarted else old.answers
        for question, option in new.answers.items():
            if base.get(question) != option:
                m.flow_event("answered", question)
        for question in set(new.skipped) - set(() if expired or restarted else old.skipped):
            m.flow_event("skipped", question)
        if new.status == "done" and (old.status != "done" or expired):
            m.flow_event("recommended")

    async def _remember(self, key: ConversationKey, replies: list[Reply], now: float) -> None:
        done = [r for r in replies if r.kind == "recommendation"]
        if not done or not key.user:
            return
        data = {
            "frameworks": list(done[-1].frameworks),
            "based_on": next(
                (p for p in done[-1].paragraphs if p.startswith("Based on")),
                done[-1].paragraphs[0] if done[-1].paragraphs else "",
            ),
            "at": now,
        }
        try:
            await self.store.put(_profile_key(key), data, now, PROFILE_TTL)
        except StoreUnavailable as exc:
            _log.warning("session store unavailable on profile write: %s", exc)

    async def last_recommendation(self, key: ConversationKey) -> LastRecommendation | None:
        """The last recommendation made to ``key.user`` on ``key.platform`` in
        ``key.workspace`` (channel and thread are ignored), or None. Never raises; None when
        the store is down."""
        try:
            record = await self.store.get(_profile_key(key), self.clock())
        except StoreUnavailable as exc:
            _log.warning("session store unavailable on profile read: %s", exc)
            return None
        if record is None or record.expired:
            return None
        data = record.data
        return LastRecommendation(
            frameworks=tuple(str(f) for f in data.get("frameworks", ())),
            based_on=str(data.get("based_on", "")),
            at=float(data.get("at", 0.0)),
        )

    async def has_active_flow(self, key: ConversationKey) -> bool:
        """True when ``key`` has a selection conversation in progress or just finished (so a
        follow-up such as "why not Django?" belongs to it). Never raises; False when the store
        is down."""
        try:
            record = await self.store.get(key.as_string(), self.clock())
        except StoreUnavailable as exc:
            _log.warning("session store unavailable on read: %s", exc)
            return False
        if record is None or record.expired:
            return False
        from bot.conversation import FlowState

        return FlowState.from_dict(record.data).status != "idle"

    def _without_store(self, incoming: Incoming) -> list[Reply]:
        if incoming.action and not incoming.action.startswith("ask:"):
            return [_store_down()]
        text = incoming.action[4:] if incoming.action else incoming.text
        u = self.matcher.understand(text)
        if u.flow or clean(text).strip().isdecimal():
            return [_store_down()]
        return [self.answerer.answer(u)]

    async def close(self) -> None:
        """Close the session store."""
        await self.store.close()


def _profile_key(key: ConversationKey) -> str:
    from bot.sessions import PROFILE_CHANNEL, ConversationKey

    return ConversationKey(
        platform=key.platform, workspace=key.workspace, channel=PROFILE_CHANNEL, user=key.user
    ).as_string()


def _store_down() -> Reply:
    return Reply(
        intent="help", kind="error", title="Temporarily unavailable", paragraphs=(STORE_DOWN_TEXT,)
    )


if not TYPE_CHECKING:  # mypy sees the import above; hiding this keeps it checking other names

    def __getattr__(name: str) -> object:
        """``ConversationKey`` is re-exported from :mod:`bot.sessions` on first use (that
        module imports asyncio and sqlite3)."""
        if name == "ConversationKey":
            from bot.sessions import ConversationKey

            return ConversationKey
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
