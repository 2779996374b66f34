"""The Slack adapter: slack-bolt ``AsyncApp`` listeners that translate Slack into the core.

- ``/pyframework TEXT``: answered inside the ack, ephemeral, with a "Share to channel" button;
  ``/pyframework recommend …`` starts the selection flow as a channel message and continues it
  in that message's thread.
- ``app_mention``: answered in the thread (``thread_ts`` or the mention's own ``ts``).
- ``message``: a DM is a conversation with the bot; a thread message continues the thread's
  active flow. Bots, the bot itself, edits and deletes are ignored.
- Buttons (``block_actions``, action ids ``advisor:N``): answering a question updates that
  message in place (``chat.update``); Share re-posts a summary to the channel saying who
  shared it.
- ``app_home_opened``: publishes the Home tab (usage and the person's last recommendation).

Anything slower than a lookup (Web API calls) runs after the ack in a task this adapter keeps,
so :meth:`SlackAdapter.shutdown` can finish it; bolt's own lazy listeners keep no reference to
their tasks. A failing handler logs its stack under an incident id and answers with a short
apology carrying that id, never the exception text.

Reliability, for work Slack will never send again once acked:

- the duplicate check before the ack asks a shared store for at most 0.5 s, then falls back to
  this process's memory (:class:`DropRetriedEvents`, :class:`bot.dedupe.FallbackDedupe`);
- every turn (a mention, DM, thread message or answer button) owes its replies in the outbox
  (:mod:`bot.outbox`) from before the engine saves the session until the last is posted;
  :meth:`SlackAdapter.start` delivers what a crashed or stopped replica left;
- shutdown refuses new requests with 503 before anything else, finishes what was acked, and
  logs at WARNING, by ids only, what it could not deliver (:meth:`SlackAdapter.shutdown`).
  Not in the outbox: the channel message that starts a flow, shares, the Home tab.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import parse
from adapters.slack.pacing import ChannelPacer
from adapters.slack.parse import Destination, Payload
from adapters.slack.render import (
    ACTION_PREFIX,
    BUTTON_VALUE_MAX,
    apology,
    home_view,
    render,
    shared_copy,
)
from bot import logs
from bot.dedupe import DedupeStore, FallbackDedupe, MemoryDedupe
from bot.engine import Engine, Incoming
from bot.errors import StoreUnavailable
from bot.metrics import Metrics
from bot.outbox import EVERY, LEASE, Outbox, Owed
from bot.replies import Reply, fold_notices
from bot.sessions import ConversationKey

_log = logging.getLogger(__name__)

COMMAND = "/pyframework"
SHARE_LABEL = "Share to channel"
#: Button values the adapter handles itself; every other value goes to the engine.
SHARE, SHARE_ASK, DM_FLOW = "share", "share:ask:", "dm:"
#: Button values that answer the question on their message, which is then updated in place.
IN_PLACE = ("answer:", "change:", "cmd:skip", "cmd:back")
#: Web API errors that mean "the bot cannot post in this channel".
NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
SLACK_USAGE = (
    "In Slack: `/pyframework flask vs pyramid`, `/pyframework about fastapi`, "
    "`/pyframework recommend an API for a mobile app` (I ask a few questions in a thread), "
    "mention me with a question, or send me a direct message."
)

#: How many rendered slash-command answers are remembered.
RENDERED_CACHE = 512
#: Seconds given to cancelled work to unwind at shutdown.
CANCEL_SECONDS = 0.5

Message = dict[str, Any]


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


def _quiet_token_warning(record: logging.LogRecord) -> bool:
    """Drop bolt's "`token` will be unused" warning: bolt reads SLACK_BOT_TOKEN from the
    environment itself even though we hand it a client built from that same token."""
    return "`token` will be unused" not in record.getMessage()


def retry_handlers() -> list[AsyncRetryHandler]:
    """slack-sdk's retry handlers for connection errors and HTTP 429 (honours Retry-After).
    The rate-limit handler is not on by default."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
    ]


def web_client(token: str, base_url: str = "") -> AsyncWebClient:
    """An ``AsyncWebClient`` for ``token`` with :func:`retry_handlers`; ``base_url`` (ending in
    "/") points it somewhere other than https://slack.com/api/."""
    kwargs: dict[str, Any] = {"base_url": base_url} if base_url else {}
    return AsyncWebClient(token=token, retry_handlers=retry_handlers(), **kwargs)


def new_incident() -> str:
    """A short random id (8 hex characters) to match an apology with its log line."""
    return secrets.token_hex(4)


class SlackAdapter:
    """Wires the engine into a bolt ``AsyncApp`` (:attr:`app`).

    Args:
        engine: the core.
        client: the Web API client (see :func:`web_client`).
        signing_secret: verifies HTTP requests (bad, missing or older than 5 minutes get
            401, before any parsing); "" in Socket Mode, where requests are not signed.
        dedupe: remembers event ids so retries are dropped (default: in memory).
        pacer: spaces posts per channel (default: 1 per second after a burst of 3).
        outbox_lease, outbox_every: seconds, see :class:`bot.outbox.Outbox` (the outbox lives
            in the engine's store; :meth:`start` delivers what it owes).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        client: AsyncWebClient,
        signing_secret: str = "",
        dedupe: DedupeStore | None = None,
        pacer: ChannelPacer | None = None,
        outbox_lease: float = LEASE,
        outbox_every: float = EVERY,
    ) -> None:
        self.engine = engine
        self.client = client
        #: Checked by :func:`adapters.slack.runner.events_app` before bolt parses a body.
        self.signing_secret = signing_secret
        self.dedupe: DedupeStore = dedupe if dedupe is not None else MemoryDedupe()
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
        self._rendered = functools.lru_cache(maxsize=RENDERED_CACHE)(self._one_shot)
        bolt_log = logging.getLogger("slack_bolt")
        bolt_log.addFilter(_quiet_token_warning)
        self.app = AsyncApp(
            client=client,
            signing_secret=signing_secret,
            process_before_response=True,
            request_verification_enabled=bool(signing_secret),
            logger=bolt_log,
        )
        self.app.use(
            DropRetriedEvents(self.dedupe, engine.metrics, accepting=lambda: self._accepting)
        )
        self.app.command(COMMAND)(self._on_command)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.event("app_home_opened")(self._on_home)
        self.app.action(re.compile(f"^{ACTION_PREFIX}:"))(self._on_action)
        self.app.error(self._on_error)

    # ---- listeners (fast: they ack and hand slow work to a task) -------------------------

    async def _on_command(self, ack: Any, body: Payload) -> None:
        dest = Destination(
            channel=str(body.get("channel_id", "")),
            response_url=str(body.get("response_url", "")),
            ephemeral=True,
            user=str(body.get("user_id", "")),
        )
        text = parse.plain(str(body.get("text", "")))
        try:
            if self.engine.wants_flow(text):
                await ack()
                team = str(body.get("team_id", ""))
                if dest.channel.startswith("D"):  # in a DM the DM is the conversation
                    self._spawn(self._start_dm_flow(team, dest.user, text), dest)
                else:
                    self._spawn(self._start_channel_flow(team, dest, text), dest)
                return
            started = time.perf_counter()
            intent, messages = self._rendered(text)
            self.engine.observe(parse.PLATFORM, intent, time.perf_counter() - started)
        except Exception:
            await ack(response_type="ephemeral", **self._failed("slash command"))
            return
        first = messages[0]
        await ack(response_type="ephemeral", text=first["text"], blocks=first["blocks"])
        if len(messages) > 1:
            self._spawn(self._send(dest, messages[1:]), dest)

    async def _on_mention(self, body: Payload, event: Payload, context: Any) -> None:
        if parse.ignored(event, context.get("bot_user_id")):
            return
        key = parse.event_key(parse.event_team(body), event)
        dest = parse.event_destination(event)
        self._spawn(self._converse(key, parse.plain(str(event.get("text", ""))), dest), dest)

    async def _on_message(self, body: Payload, event: Payload, context: Any) -> None:
        bot = context.get("bot_user_id")
        if parse.ignored(event, bot):
            return
        text = parse.plain(str(event.get("text", "")))
        key = parse.event_key(parse.event_team(body), event)
        dest = parse.event_destination(event)
        if parse.is_dm(event):
            self._spawn(self._converse(key, text, dest), dest)
        elif event.get("thread_ts") not in (None, event.get("ts")) and not parse.mentions(
            text, bot
        ):
            self._spawn(self._continue_thread(key, text, dest), dest)

    async def _on_action(self, ack: Any, body: Payload, action: Payload) -> None:
        await ack()
        dest = parse.action_destination(body)
        self._spawn(self._act(body, action, dest), dest)

    async def _on_home(self, body: Payload, event: Payload) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user", ""))
        self._spawn(self._publish_home(parse.event_team(body), user), None)

    async def _on_error(self, error: Exception, body: Payload) -> None:
        incident = new_incident()
        self.engine.metrics.error("incident")
        _log.error(
            "incident %s: unhandled %s in a Slack listener",
            incident,
            type(error).__name__,
            exc_info=error,
            extra={"incident": incident},
        )

    # ---- work after the ack ---------------------------------------------------------------

    async def _converse(self, key: ConversationKey, text: str, dest: Destination) -> None:
        await self._turn(Incoming(key=key, text=text), dest)

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

    async def _continue_thread(self, key: ConversationKey, text: str, dest: Destination) -> None:
        if await self.engine.has_active_flow(key):
            await self._converse(key, text, dest)

    async def _start_channel_flow(self, team: str, dest: Destination, text: str) -> None:
        intro = (
            f"<@{dest.user}> is choosing a Python web framework; the questions are in the thread."
        )
        if not parse.is_user_id(dest.user):
            intro = "Choosing a Python web framework; the questions are in the thread."
        try:
            starter = await self._post(dest.channel, "", {"text": intro, "blocks": _mrkdwn(intro)})
        except SlackApiError as exc:
            if exc.response.get("error") not in NOT_IN_CHANNEL:
                raise
            await self._respond(dest.response_url, _not_in_channel(text, offer_dm=True))
            return
        thread = Destination(channel=dest.channel, thread_ts=str(starter["ts"]), user=dest.user)
        key = ConversationKey(
            platform=parse.PLATFORM,
            workspace=team,
            channel=dest.channel,
            thread=thread.thread_ts,
            user=dest.user,
        )
        await self._converse(key, text, thread)

    async def _start_dm_flow(self, team: str, user: str, text: str) -> None:
        intro = "Let's choose a Python web framework. A few questions:"
        opened = await self._post(user, "", {"text": intro, "blocks": _mrkdwn(intro)})
        dest = Destination(channel=str(opened["channel"]), user=user)
        key = ConversationKey(
            platform=parse.PLATFORM, workspace=team, channel=dest.channel, user=user
        )
        await self._converse(key, text or "recommend", dest)

    async def _act(self, body: Payload, action: Payload, dest: Destination) -> None:
        value = str(action.get("value", ""))
        owner = parse.block_owner(str(action.get("block_id", "")))
        if owner and owner != dest.user:
            note = (
                f"This selection belongs to <@{owner}>. Start your own with "
                "`/pyframework recommend`, or mention me."
            )
            await self._respond(dest.response_url, {"text": note, "blocks": _mrkdwn(note)})
        elif value == SHARE or value.startswith(SHARE_ASK):
            await self._share(body, value, dest)
        elif value.startswith(DM_FLOW):
            await self._start_dm_flow(parse.action_team(body), dest.user, value[len(DM_FLOW) :])
        else:
            message = body.get("message") or {}
            in_place = value.startswith(IN_PLACE)
            await self._turn(
                Incoming(key=parse.action_key(body), action=value),
                dest,
                update_ts=str(message.get("ts", "")) if in_place else "",
                replace_ephemeral=in_place,
            )

    async def _share(self, body: Payload, value: str, dest: Destination) -> None:
        byline = f"Shared by <@{dest.user}>" if parse.is_user_id(dest.user) else "Shared"
        if value.startswith(SHARE_ASK):
            replies = self.engine.answer_once(value[len(SHARE_ASK) :])
            messages = [m for r in replies for m in render(r, byline=byline)]
        else:
            original = body.get("message") or {}
            blocks = shared_copy(original.get("blocks", []), byline)
            messages = [{"text": str(original.get("text", "")) or "Shared", "blocks": blocks}]
        try:
            for message in messages:
                await self._post(dest.channel, "", message)
        except SlackApiError as exc:
            if exc.response.get("error") not in NOT_IN_CHANNEL:
                raise
            await self._respond(dest.response_url, _not_in_channel("", offer_dm=False))
            return
        self.engine.metrics.share(parse.PLATFORM)
        if dest.ephemeral:
            done = "Shared to the channel."
            await self._respond(dest.response_url, {"text": done, "blocks": _mrkdwn(done)})

    async def _publish_home(self, team: str, user: str) -> None:
        last = await self.engine.last_recommendation(
            ConversationKey(platform=parse.PLATFORM, workspace=team, user=user)
        )
        if last is None:
            summary = 'None yet. Try "/pyframework recommend" or say "help me pick" in a DM.'
        else:
            day = time.strftime("%Y-%m-%d", time.gmtime(last.at))
            ranked = ", ".join(f"{i}. {name}" for i, name in enumerate(last.frameworks, 1))
            summary = f"{day}: {ranked}\n{last.based_on}"
        await self.client.views_publish(user_id=user, view=home_view(self.usage(), summary))

    # ---- rendering and sending ------------------------------------------------------------

    def usage(self) -> Reply:
        """The core's help with a paragraph on how to reach the bot in Slack."""
        core = self.engine.help()
        return replace(core, paragraphs=(SLACK_USAGE, *core.paragraphs))

    def _one_shot(self, text: str) -> tuple[str, tuple[Message, ...]]:
        """The intent and rendered ephemeral answer to ``/pyframework text``; remembered for
        the last :data:`RENDERED_CACHE` texts (answers depend only on the text and the
        knowledge)."""
        first, rest = parse.command_words(text)
        if first in ("", "help") and not rest:
            return "help", tuple(render(self.usage()))
        replies = self.engine.answer_once(text)
        share = f"{SHARE_ASK}{text}"
        extra = [(SHARE_LABEL, share)] if len(share) <= BUTTON_VALUE_MAX else []
        out: list[Message] = []
        for i, reply in enumerate(replies):
            out += render(reply, extra_buttons=extra if i == 0 else ())
        return replies[0].intent, tuple(out)

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


def _mrkdwn(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def _not_in_channel(text: str, *, offer_dm: bool) -> Message:
    note = (
        "I'm not in this channel, so I can't post here. Invite me with "
        "`/invite @framework-advisor` and try again"
        + (", or run the questions in a direct message with me." if offer_dm else ".")
    )
    blocks = _mrkdwn(note)
    if offer_dm:
        value = (DM_FLOW + text)[:BUTTON_VALUE_MAX]
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Start in a DM"},
                        "value": value,
                        "action_id": f"{ACTION_PREFIX}:dm",
                        "style": "primary",
                    }
                ],
            }
        )
    return {"text": note, "blocks": blocks}
