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

Listeners ack at once and hand anything slower than a lookup to a task (see
:mod:`adapters.slack.delivery`, the base of :class:`SlackAdapter`, for the tasks, the outbox
and shutdown). Before any listener, :class:`~adapters.slack.middleware.DropRetriedEvents`
refuses requests while draining and drops events Slack delivers again; its duplicate check
asks a shared store for at most 0.5 s, then falls back to this process's memory
(:class:`bot.dedupe.FallbackDedupe`).
"""

from __future__ import annotations

import functools
import logging
import re
import time
from dataclasses import replace
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import parse
from adapters.slack.delivery import (
    DM_FLOW,
    SHARE,
    SHARE_ASK,
    SHARE_LABEL,
    Delivery,
    Message,
    new_incident,
)
from adapters.slack.middleware import DropRetriedEvents
from adapters.slack.pacing import ChannelPacer
from adapters.slack.parse import Destination, Payload
from adapters.slack.render import (
    ACTION_PREFIX,
    BUTTON_VALUE_MAX,
    home_view,
    render,
    shared_copy,
)
from bot.dedupe import DedupeStore, MemoryDedupe
from bot.engine import Engine, Incoming
from bot.outbox import EVERY, LEASE
from bot.replies import Reply
from bot.sessions import ConversationKey

_log = logging.getLogger(__name__)

COMMAND = "/pyframework"
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


def _quiet_token_warning(record: logging.LogRecord) -> bool:
    """Drop bolt's "`token` will be unused" warning: bolt reads SLACK_BOT_TOKEN from the
    environment itself even though we hand it a client built from that same token."""
    return "`token` will be unused" not in record.getMessage()


class SlackAdapter(Delivery):
    """Wires the engine into a bolt ``AsyncApp`` (:attr:`app`).

    Args:
        engine: the core.
        client: the Web API client (see :func:`adapters.slack.client.web_client`).
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
        super().__init__(
            engine,
            client=client,
            pacer=pacer,
            outbox_lease=outbox_lease,
            outbox_every=outbox_every,
        )
        #: Checked by :func:`adapters.slack.runner.events_app` before bolt parses a body.
        self.signing_secret = signing_secret
        self.dedupe: DedupeStore = dedupe if dedupe is not None else MemoryDedupe()
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

    # ---- help and one-shot answers --------------------------------------------------------

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
