"""Work after the ack: the tasks the Slack adapter keeps, the outbox its replies are owed
in, and shutdown. :class:`Delivery` is the base of :class:`~adapters.slack.app.SlackAdapter`.

Anything slower than a lookup (Web API calls) runs after the ack in a task this module keeps,
so :meth:`Delivery.shutdown` can finish it; bolt's own lazy listeners keep no reference to
their tasks. A failing task logs its stack under an incident id and answers with a short
apology carrying that id, never the exception text.

Reliability, for work Slack will never send again once acked:

- every turn (a mention, DM, thread message or answer button) owes its replies in the outbox
  (:mod:`bot.outbox`) from before the engine saves the session until the last is posted;
  :meth:`Delivery.start` delivers what a crashed or stopped replica left;
- shutdown refuses new requests with 503 before anything else, finishes what was acked, and
  logs at WARNING, by ids only, what it could not deliver (:meth:`Delivery.shutdown`).
  Not in the outbox: the channel message that starts a flow, shares, the Home tab.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Coroutine, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import parse
from adapters.slack.client import retry_handlers
from adapters.slack.pacing import ChannelPacer
from adapters.slack.parse import Destination
from adapters.slack.render import apology, render
from bot.engine import Engine, Incoming
from bot.outbox import EVERY, LEASE, Outbox, Owed
from bot.replies import Reply, fold_notices
from bot.sessions import ConversationKey

_log = logging.getLogger(__name__)

SHARE_LABEL = "Share to channel"
#: Button values the adapter handles itself; every other value goes to the engine.
SHARE, SHARE_ASK, DM_FLOW = "share", "share:ask:", "dm:"
#: Seconds given to cancelled work to unwind at shutdown.
CANCEL_SECONDS = 0.5

Message = dict[str, Any]


def new_incident() -> str:
    """A short random id (8 hex characters) to match an apology with its log line."""
    return secrets.token_hex(4)


class Delivery:
    """Runs work after the ack and delivers its replies: keeps the tasks (:attr:`in_flight`),
    owes each turn's replies in the outbox, and stops cleanly (:meth:`shutdown`).

    Args:
        engine: the core.
        client: the Web API client (see :func:`adapters.slack.client.web_client`).
        pacer: spaces posts per channel (default: 1 per second after a burst of 3).
        outbox_lease, outbox_every: seconds, see :class:`bot.outbox.Outbox` (the outbox lives
            in the engine's store; :meth:`start` delivers what it owes).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        client: AsyncWebClient,
        pacer: ChannelPacer | None = None,
        outbox_lease: float = LEASE,
        outbox_every: float = EVERY,
    ) -> None:
        self.engine = engine
        self.client = client
        self.pacer = pacer if pacer is not None else ChannelPacer()
        self._jobs: dict[asyncio.Task[None], _Job] = {}
        self._accepting = True
        self._closed = False
        self.outbox = Outbox.of(
            engine.store,
            parse.PLATFORM,
            lease=outbox_lease,
            every=outbox_every,
            metrics=engine.metrics,
        )
        self._sweeper: asyncio.Task[None] | None = None

    # ---- a turn, owed in the outbox until delivered ---------------------------------------

    async def _turn(
        self,
        incoming: Incoming,
        dest: Destination,
        *,
        update_ts: str = "",
        replace_ephemeral: bool = False,
    ) -> None:
        """Run one turn and deliver its replies; they are owed in the outbox from before the
        engine changes the session until the last one is out (:mod:`bot.outbox`)."""
        owing = None
        if self.outbox is not None:
            key = incoming.key
            payload = {
                "key": {
                    "workspace": key.workspace,
                    "channel": key.channel,
                    "thread": key.thread,
                    "user": key.user,
                },
                "text": incoming.text,
                "action": incoming.action,
                "dest": asdict(dest),
                "update_ts": update_ts,
                "replace": replace_ephemeral,
                "messages": None,
                "sent": 0,
            }
            owing = await self.outbox.owe(payload, session=key.as_string())
            self._note(owing)
        try:
            replies = await self.engine.handle(incoming)
            await self._deliver(
                dest, replies, update_ts=update_ts, replace_ephemeral=replace_ephemeral, owing=owing
            )
        except Exception:
            await self._settle(owing)  # the apology follows; a retry would fail the same way
            raise

    async def _settle(self, owing: Owed | None) -> None:
        """Cross ``owing`` out of the outbox: delivered, or never deliverable."""
        if owing is not None and self.outbox is not None:
            await self.outbox.done(owing)

    # ---- sending --------------------------------------------------------------------------

    async def _deliver(
        self,
        dest: Destination,
        replies: Sequence[Reply],
        *,
        update_ts: str = "",
        replace_ephemeral: bool = False,
        owing: Owed | None = None,
    ) -> None:
        share = [] if dest.ephemeral or dest.channel.startswith("D") else [(SHARE_LABEL, SHARE)]
        messages: list[Message] = []
        for reply in fold_notices(replies):
            extra = share if reply.kind in ("answer", "recommendation") else []
            owner = dest.user if parse.is_user_id(dest.user) and reply.choices else ""
            messages += render(reply, extra_buttons=extra, owner=owner)
        await self._send(
            dest, messages, update_ts=update_ts, replace_ephemeral=replace_ephemeral, owing=owing
        )

    async def _send(
        self,
        dest: Destination,
        messages: Sequence[Message],
        *,
        update_ts: str = "",
        replace_ephemeral: bool = False,
        owing: Owed | None = None,
    ) -> None:
        """Post ``messages`` in order. With ``owing`` (an outbox entry this process holds),
        record them and, before each, that the ones before went out and the entry is still
        ours; cross it out after the last, or when Slack refuses one (the apology follows)."""
        first = 0
        if owing is not None:
            if owing.payload.get("messages") is None:
                owing.payload["messages"] = list(messages)
            first = int(owing.payload.get("sent", 0))
        try:
            for i, message in enumerate(messages):
                if i < first:
                    continue
                if owing is not None and not await self._still_owed(owing, sent=i):
                    return
                if dest.ephemeral:
                    await self._respond(
                        dest.response_url, message, replace=replace_ephemeral and i == 0
                    )
                elif i == 0 and update_ts:
                    await self.client.chat_update(
                        channel=dest.channel,
                        ts=update_ts,
                        text=message["text"],
                        blocks=message["blocks"],
                    )
                else:
                    await self._post(dest.channel, dest.thread_ts, message)
        except Exception:
            await self._settle(owing)  # Slack refused it: the apology follows
            raise
        await self._settle(owing)  # delivered

    async def _still_owed(self, owing: Owed, *, sent: int) -> bool:
        """Save the entry with ``sent`` messages out; False when another replica took it."""
        assert self.outbox is not None
        owing.payload["sent"] = sent
        if await self.outbox.save(owing):
            return True
        _log.info("outbox %s taken over by another replica; it delivers the rest", owing.id)
        return False

    async def _post(self, channel: str, thread_ts: str, message: Message) -> Any:
        await self.pacer.wait(channel)
        return await self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts or None,
            text=message["text"],
            blocks=message["blocks"],
            unfurl_links=False,
            unfurl_media=False,
        )

    async def _respond(self, url: str, message: Message, *, replace: bool = False) -> None:
        if not url:
            raise ValueError("no response_url to answer an ephemeral message")
        hook = AsyncWebhookClient(url, retry_handlers=retry_handlers())
        response = await hook.send(
            text=message["text"],
            blocks=message["blocks"],
            response_type="ephemeral",
            replace_original=replace,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"response_url answered HTTP {response.status_code}")

    # ---- tasks and failures ---------------------------------------------------------------

    def _failed(self, where: str) -> Message:
        incident = new_incident()
        self.engine.metrics.error("incident")
        _log.exception("incident %s: %s failed", incident, where, extra={"incident": incident})
        return apology(incident)

    def _spawn(self, work: Coroutine[Any, Any, None], dest: Destination | None) -> None:
        name = str(getattr(work, "__qualname__", "work"))
        job = _Job(name.rsplit(".", 1)[-1].lstrip("_"), dest)
        if self._closed:
            work.close()
            _log.warning("after shutdown, reply not delivered: %s", job)
            return
        task = asyncio.create_task(self._guarded(work, dest))
        self._jobs[task] = job
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._jobs.pop(task, None)

    def _note(self, owing: Owed | None) -> None:
        """Name the outbox entry of the running job, for the shutdown log."""
        task = asyncio.current_task()
        job = self._jobs.get(task) if task is not None else None
        if job is not None and owing is not None:
            job.outbox = owing.id

    def start(self) -> None:
        """Deliver what the outbox owes: now (replies a crashed or stopped process left), then
        every ``outbox_every`` seconds, alongside the other replicas. Needs a running event
        loop; :meth:`shutdown` stops it. Does nothing when the store keeps no outbox."""
        if self.outbox is not None and self._sweeper is None:
            self._sweeper = asyncio.create_task(self.outbox.run(self._recover), name="outbox")

    def _recover(self, owed: Owed) -> None:
        try:
            dest = Destination(**owed.payload["dest"])
        except (KeyError, TypeError):
            _log.warning("outbox: dropped %s, not a Slack entry this version can read", owed.id)
            assert self.outbox is not None
            self._spawn(self.outbox.done(owed), None)
            return
        self._spawn(self._redeliver(owed, dest), dest)

    async def _redeliver(self, owed: Owed, dest: Destination) -> None:
        """Deliver an entry claimed from the outbox: its messages from the first not sent, or,
        when the turn never got as far as its replies, the turn run again if it was never
        saved (see :mod:`bot.outbox`)."""
        try:
            await self._redeliver_turn(owed, dest)
        except Exception:
            await self._settle(owed)
            raise

    async def _redeliver_turn(self, owed: Owed, dest: Destination) -> None:
        assert self.outbox is not None
        self._note(owed)
        p = owed.payload
        update_ts, replace_ephemeral = str(p.get("update_ts", "")), bool(p.get("replace"))
        if p.get("messages") is not None:
            await self._send(
                dest,
                p["messages"],
                update_ts=update_ts,
                replace_ephemeral=replace_ephemeral,
                owing=owed,
            )
            return
        key = ConversationKey(platform=parse.PLATFORM, **p["key"])
        unchanged = await self.outbox.unchanged(owed, session=key.as_string())
        if unchanged is None:  # the store is down: try again once the lease runs out
            self.outbox.let_go(owed)
            return
        if not unchanged:
            _log.warning(
                "outbox %s: the turn was saved but its replies were lost before they were "
                "recorded; not run twice. Not delivered: %s",
                owed.id,
                _Job("turn", dest),
            )
            await self.outbox.done(owed)
            return
        incoming = Incoming(key=key, text=str(p.get("text", "")), action=str(p.get("action", "")))
        replies = await self.engine.handle(incoming)
        await self._deliver(
            dest, replies, update_ts=update_ts, replace_ephemeral=replace_ephemeral, owing=owed
        )

    async def _guarded(self, work: Coroutine[Any, Any, None], dest: Destination | None) -> None:
        try:
            await work
        except Exception:
            message = self._failed("Slack handler")
            if dest is None:
                return
            try:
                await self._send(dest, [message])
            except Exception:
                _log.exception("could not deliver the apology")

    @property
    def in_flight(self) -> int:
        """Tasks started after an ack that have not finished."""
        return len(self._jobs)

    @property
    def accepting(self) -> bool:
        """False once shutdown began (:meth:`stop_accepting`); requests then get 503."""
        return self._accepting

    def stop_accepting(self) -> None:
        """Refuse every request from now on with 503 (Slack sends it again, to a replica that
        is up); work already acked goes on. Idempotent."""
        self._accepting = False

    async def drain(self, timeout: float = 10.0) -> bool:
        """Wait up to ``timeout`` seconds for work started after acks to finish, including work
        started meanwhile. Returns True when none is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._jobs:
            left = deadline - loop.time()
            if left <= 0:
                return False
            await asyncio.wait(set(self._jobs), timeout=left)
        return True

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Stop for good within ``timeout`` seconds: refuse new requests, stop claiming from
        the outbox, give work in flight what the steps after it leave of ``timeout``, then
        cancel what is left, logging at WARNING each reply not delivered (the kind of work,
        the channel, thread and user ids and its outbox entry; never text or tokens). Entries
        still owed are released, so another replica delivers them at its next sweep. Never
        raises."""
        self.stop_accepting()
        reserve = 2 * CANCEL_SECONDS
        if self.outbox is not None:
            self.outbox.stop_claiming()
            reserve += self.outbox.timeout
        finished = await self.drain(max(0.0, timeout - reserve))
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.wait({self._sweeper}, timeout=CANCEL_SECONDS)
        if not finished:
            left = dict(self._jobs)
            for task, job in left.items():
                _log.warning("shutdown: reply not delivered in time: %s", job)
                task.cancel()
            await asyncio.wait(left, timeout=CANCEL_SECONDS)
        if self.outbox is not None:
            await self.outbox.release()


@dataclass(slots=True)
class _Job:
    """What a task started after an ack owes, for the log when it cannot finish: ``what`` is
    the work (converse, act, ...); ``outbox`` the id of its outbox entry, if any."""

    what: str
    dest: Destination | None
    outbox: str = ""

    def __str__(self) -> str:
        d = self.dest
        where = (
            "no channel"
            if d is None
            else f"channel {d.channel or '-'} thread {d.thread_ts or '-'} user {d.user or '-'}"
            + (" (ephemeral)" if d.ephemeral else "")
        )
        kept = f"; still owed in the outbox as {self.outbox}" if self.outbox else ""
        return f"{self.what} for {where}{kept}"
