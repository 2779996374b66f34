"""The outbox: replies owed to people, kept next to their sessions until they are delivered.

An adapter acknowledges a platform event before it answers (Slack wants the ack within 3 s),
and the platform never sends an acknowledged event again. A process that dies between the ack
and the post used to lose the reply for good, although the turn was saved. So every reply owed
is written down first, in the same store as the sessions (memory, SQLite or Redis), and crossed
out only once delivered. Any replica, or the next start of this one, delivers what is left.

Life of an entry, as an adapter drives it::

    owe(payload)        before the engine runs the turn, so before the session changes: enough
                        to run the turn (conversation, text or button value, destination) and
                        the session version seen (``payload["seen"]``)
    save(owed)          once the engine answered: the rendered messages, then after each message
                        posted, how many went out, so a retry never repeats one
    done(owed)          once the last message is posted, or the platform refused it for good

Claims: every entry has an owner (a random token per :class:`Outbox`, i.e. per process) and a
due time. The owner renews the due time of the entries it is delivering every ``every``
seconds, to ``lease`` seconds ahead. A sweeper (:meth:`Outbox.run`, on every replica) claims
the entries whose due time has passed: their owner died, hung, or released them when it shut
down. A claim is atomic (one SQLite ``UPDATE … RETURNING``, one Lua script in Redis), so two
replicas never hold one entry at once, and the new owner checks its claim before each message,
so each is posted once. Only an owner that stops renewing (event loop stuck) for longer than
``lease`` while a post is in flight can see its entry claimed and posted a second time.

Running a turn again: an entry without messages (the process died while the engine ran the
turn) is run again only when the session's version is still the one seen before the turn,
that is the turn was never saved (or changed nothing). Otherwise the turn was saved but its
replies were lost in the window of one store write; running it twice would apply the answer
twice, so the entry is dropped with a WARNING instead.

The payload is the adapter's JSON: the core never reads it except ``seen``. Entries older than
:data:`MAX_AGE` are dropped unsent (WARNING): an answer an hour late confuses more than it
helps. Every store call has a time limit (:data:`TIMEOUT`); when the store is slow or down the
reply is still sent, just without the safety net (logged, counted as ``outbox_unavailable``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from bot.errors import StoreUnavailable
from bot.metrics import Metrics
from bot.sessions import Owed, SessionStore

__all__ = ["Outbox", "OutboxStore", "Owed"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Seconds an owner holds an entry past its last renewal; another replica may take it after.
LEASE = 15.0
#: Seconds between two sweeps (renew what this process delivers, claim what is due).
EVERY = 5.0
#: Seconds one outbox store call may take before the outbox gives up on it.
TIMEOUT = 1.0
#: Seconds after which an owed reply is dropped unsent.
MAX_AGE = 60 * 60
#: Entries claimed in one sweep.
CLAIM_LIMIT = 20


@runtime_checkable
class OutboxStore(SessionStore, Protocol):
    """A session store that keeps an outbox beside the sessions. ``kind`` separates outboxes
    (one per platform); times are seconds since the epoch. Every method may raise
    :class:`~bot.errors.StoreUnavailable`."""

    async def outbox_add(self, kind: str, owed: Owed, *, due: float, owner: str) -> None:
        """Write a new entry held by ``owner`` until ``due``."""
        ...

    async def outbox_save(self, kind: str, owed: Owed, *, owner: str) -> bool:
        """Replace the payload; False (and nothing written) when ``owner`` no longer holds the
        entry or it is gone."""
        ...

    async def outbox_renew(
        self, kind: str, ids: Sequence[str], *, due: float, owner: str
    ) -> list[str]:
        """Move the due time of the entries in ``ids`` that ``owner`` still holds; returns
        those ids."""
        ...

    async def outbox_claim(
        self, kind: str, *, now: float, due: float, owner: str, limit: int
    ) -> list[Owed]:
        """Atomically hand ``owner`` (until ``due``) at most ``limit`` entries whose due time
        is at or before ``now``, oldest due first, and return them."""
        ...

    async def outbox_done(self, kind: str, entry_id: str) -> None:
        """Delete an entry (nothing when it is gone)."""
        ...


class Outbox:
    """One process's handle on the outbox of ``kind`` in ``store`` (see the module docstring).
    No method raises when the store fails: each store call gets ``timeout`` seconds, then it is
    logged at WARNING, counted, and a safe default is used.

    Args:
        store: the session store, which keeps the outbox too.
        kind: which outbox, e.g. ``slack``.
        lease: seconds an entry stays this process's after a renewal.
        every: seconds between sweeps in :meth:`run`.
        timeout: seconds one store call may take.
        metrics: counts ``outbox_unavailable`` (store calls that failed or timed out).
        clock: seconds since the epoch; tests pass a fake.
    """

    def __init__(
        self,
        store: OutboxStore,
        kind: str,
        *,
        lease: float = LEASE,
        every: float = EVERY,
        timeout: float = TIMEOUT,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.kind = kind
        self.lease = lease
        self.every = every
        self.timeout = timeout
        self.metrics = metrics
        self.clock = clock
        self.owner = secrets.token_hex(8)
        #: ids of entries this process holds (is delivering).
        self.held: set[str] = set()
        #: False once :meth:`stop_claiming` was called (shutdown): :meth:`run` only renews.
        self.claiming = True
        # delivered, but the store did not confirm the delete: still held, deleted again
        self._finished: set[str] = set()

    @classmethod
    def of(cls, store: object, kind: str, **options: Any) -> Outbox | None:
        """An outbox in ``store`` when it keeps one (every store in :mod:`bot.sessions` and
        :mod:`bot.redis_backend` does), else None."""
        return cls(store, kind, **options) if isinstance(store, OutboxStore) else None

    async def _call(self, what: str, call: Awaitable[_T], fallback: _T) -> _T:
        try:
            return await asyncio.wait_for(call, self.timeout)
        except (StoreUnavailable, TimeoutError) as exc:
            _log.warning("outbox %s failed: %s", what, exc or f"no answer in {self.timeout} s")
            if self.metrics is not None:
                self.metrics.error("outbox_unavailable")
            return fallback

    async def _version(self, session: str) -> int | None:
        """The session's version (0 when there is none); None when the store did not answer."""

        async def read() -> int:
            record = await self.store.get(session, self.clock())
            return record.version if record is not None else 0

        return await self._call("read", read(), None)

    async def owe(self, payload: dict[str, Any], *, session: str) -> Owed | None:
        """Write down a reply owed, before the turn that produces it runs. ``session`` is the
        conversation's store key; its current version goes into ``payload["seen"]``. Returns
        the entry, or None when the store could not take it (the turn goes on anyway)."""
        seen = await self._version(session)
        if seen is None:
            return None
        payload["seen"] = seen
        now = self.clock()
        owed = Owed(f"{self.kind}:{secrets.token_hex(12)}", payload, now)
        self.held.add(owed.id)
        add = self.store.outbox_add(self.kind, owed, due=now + self.lease, owner=self.owner)
        if not await self._call("write", self._true(add), False):
            self.held.discard(owed.id)
            return None
        return owed

    @staticmethod
    async def _true(call: Awaitable[None]) -> bool:
        await call
        return True

    async def save(self, owed: Owed) -> bool:
        """Store ``owed.payload`` as it is now. False when another process has taken the entry
        over (it delivers it then; stop). True when saved, or when the store failed (deliver
        anyway: a reply without a safety net beats no reply)."""
        if owed.id not in self.held:
            return False
        saved = await self._call(
            "save", self.store.outbox_save(self.kind, owed, owner=self.owner), True
        )
        if not saved:
            self.held.discard(owed.id)
        return saved

    def holds(self, owed: Owed) -> bool:
        """True while this process still holds ``owed`` (as far as the last renewal knew)."""
        return owed.id in self.held

    def let_go(self, owed: Owed) -> None:
        """Stop renewing ``owed``: any replica claims it again once its lease runs out."""
        self.held.discard(owed.id)

    def stop_claiming(self) -> None:
        """From now on :meth:`run` renews what this process holds but claims nothing new."""
        self.claiming = False

    async def done(self, owed: Owed) -> None:
        """Cross ``owed`` out: it was delivered, or can never be. When the store does not
        confirm, the entry stays held (renewed, so nobody delivers it again) and the delete is
        retried at every sweep."""
        await self._delete(owed.id)

    async def _delete(self, entry_id: str) -> None:
        delete = self._true(self.store.outbox_done(self.kind, entry_id))
        if await self._call("delete", delete, False):
            self.held.discard(entry_id)
            self._finished.discard(entry_id)
        else:
            self._finished.add(entry_id)

    async def unchanged(self, owed: Owed, *, session: str) -> bool | None:
        """Whether the session's version is still ``owed.payload["seen"]`` (the turn was never
        saved, so running it again is safe); None when the store did not answer."""
        version = await self._version(session)
        return None if version is None else version == owed.payload.get("seen")

    async def renew(self) -> None:
        """Retry the deletes the store did not confirm, then extend the lease on every entry
        this process holds; forget those it lost."""
        for entry_id in sorted(self._finished):
            await self._delete(entry_id)
        if not self.held:
            return
        ids = sorted(self.held)
        due = self.clock() + self.lease
        kept = await self._call(
            "renew", self.store.outbox_renew(self.kind, ids, due=due, owner=self.owner), ids
        )
        # An entry delivered (and deleted) while the store renewed the rest is not lost.
        lost = (set(ids) - set(kept)) & self.held
        if lost:
            _log.warning("outbox: %d entries taken over by another process", len(lost))
            self.held -= lost

    async def release(self) -> None:
        """Make every entry this process holds due now, so another replica delivers it at its
        next sweep (at shutdown, for work that could not finish)."""
        for entry_id in sorted(self._finished):
            await self._delete(entry_id)
        self.held -= self._finished  # delivered: never hand those to another replica
        if not self.held:
            return
        ids = sorted(self.held)
        await self._call(
            "release",
            self.store.outbox_renew(self.kind, ids, due=self.clock(), owner=self.owner),
            ids,
        )
        self.held.clear()

    async def claim(self, limit: int = CLAIM_LIMIT) -> list[Owed]:
        """Take over what is due (see the module docstring); entries older than
        :data:`MAX_AGE` are dropped with a WARNING instead of returned."""
        now = self.clock()
        claimed = await self._call(
            "claim",
            self.store.outbox_claim(
                self.kind, now=now, due=now + self.lease, owner=self.owner, limit=limit
            ),
            [],
        )
        fresh = []
        for owed in claimed:
            if now - owed.created > MAX_AGE:
                _log.warning("outbox: dropped %s, owed for %.0f s", owed.id, now - owed.created)
                await self.done(owed)
            else:
                self.held.add(owed.id)
                fresh.append(owed)
        return fresh

    async def run(self, deliver: Callable[[Owed], None]) -> None:
        """Sweep now and then every :attr:`every` seconds until cancelled: renew what this
        process holds, claim what is due and hand each entry to ``deliver``, which starts its
        delivery (it must not block). Never raises except :class:`asyncio.CancelledError`."""
        while True:
            try:
                await self.renew()
                for owed in await self.claim() if self.claiming else []:
                    _log.info(
                        "outbox: delivering %s, owed for %.1f s",
                        owed.id,
                        self.clock() - owed.created,
                    )
                    deliver(owed)
            except Exception:
                _log.exception("outbox sweep failed")
            await asyncio.sleep(self.every)
