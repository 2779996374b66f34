"""Translate Slack payloads into the core's terms: conversation keys, text, where to answer.

Pure functions over the dicts Slack sends (https://api.slack.com/events,
https://api.slack.com/interactivity/slash-commands,
https://api.slack.com/reference/interaction-payloads/block-actions-payload); no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.slack.render import ACTION_PREFIX
from bot.sessions import ConversationKey

PLATFORM = "slack"
#: Message subtypes that are still a person talking; every other subtype (edits, deletes,
#: joins, bot messages…) is ignored.
PERSON_SUBTYPES = frozenset({"", "thread_broadcast", "file_share"})
#: The first words of ``/pyframework`` text that start the selection flow.
FLOW_WORDS = frozenset({"recommend", "pick", "choose", "select", "start"})
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

Payload = Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """Where replies go.

    Attributes:
        channel: a channel, group or DM id.
        thread_ts: the thread to answer in; "" posts at the top level.
        response_url: for ephemeral replies (slash commands, buttons on ephemeral messages).
        ephemeral: True to answer through ``response_url``, visible to ``user`` only.
        user: the person who asked; owner of a flow started here.
    """

    channel: str
    thread_ts: str = ""
    response_url: str = ""
    ephemeral: bool = False
    user: str = ""


def is_user_id(text: str) -> bool:
    """True for a Slack user id such as ``U024BE7LH`` (or ``W…`` on Enterprise Grid)."""
    return bool(_USER_ID.match(text))


def ignored(event: Payload, bot_user_id: str | None) -> bool:
    """True for messages the bot must not answer: its own, other bots', edits, deletes and
    other non-person subtypes, and messages without a user."""
    if event.get("subtype", "") not in PERSON_SUBTYPES or event.get("bot_id"):
        return True
    user = event.get("user", "")
    return not user or user == bot_user_id


def plain(text: str) -> str:
    """Slack's message text with its three escapes undone (``&lt;`` ``&gt;`` ``&amp;``), so
    the core sees what the person typed; Slack markup such as ``<@U1>`` is left for the core's
    cleaner. https://api.slack.com/reference/surfaces/formatting#escaping"""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mentions(text: str, bot_user_id: str | None) -> bool:
    """True when ``text`` mentions the bot (``<@UBOT>`` or ``<@UBOT|name>``)."""
    return bool(bot_user_id) and f"<@{bot_user_id}" in text


def is_dm(event: Payload) -> bool:
    """True for a direct message with the bot."""
    return event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")


def event_team(body: Payload) -> str:
    """The workspace of an event callback (``team_id``, or the event's own ``team``)."""
    return str(body.get("team_id") or body.get("event", {}).get("team", ""))


def event_key(team: str, event: Payload) -> ConversationKey:
    """The conversation of a message or mention event.

    In a DM the whole DM is one conversation; in a channel, a thread is (a top-level message
    starts one, named by its own ``ts``).
    """
    thread = "" if is_dm(event) else str(event.get("thread_ts") or event.get("ts", ""))
    return ConversationKey(
        platform=PLATFORM,
        workspace=team,
        channel=str(event.get("channel", "")),
        thread=thread,
        user=str(event.get("user", "")),
    )


def event_destination(event: Payload) -> Destination:
    """Answer a message where it was said: in the DM, or in its thread."""
    thread = "" if is_dm(event) else str(event.get("thread_ts") or event.get("ts", ""))
    return Destination(
        channel=str(event.get("channel", "")), thread_ts=thread, user=str(event.get("user", ""))
    )


def command_words(text: str) -> tuple[str, str]:
    """Split slash-command text into (first word lower-cased, the rest), both stripped."""
    first, _, rest = text.strip().partition(" ")
    return first.lower(), rest.strip()


def action_team(body: Payload) -> str:
    """The workspace of an interaction payload."""
    team = body.get("team") or {}
    return str(team.get("id") or body.get("user", {}).get("team_id", ""))


def action_channel(body: Payload) -> str:
    """The channel a button was pressed in."""
    channel = body.get("channel") or {}
    return str(channel.get("id") or body.get("container", {}).get("channel_id", ""))


def action_key(body: Payload) -> ConversationKey:
    """The conversation a button press belongs to: the message's thread (none in a DM or on an
    ephemeral message) and the person who pressed it."""
    message = body.get("message") or {}
    channel = action_channel(body)
    thread = "" if channel.startswith("D") else str(message.get("thread_ts", ""))
    return ConversationKey(
        platform=PLATFORM,
        workspace=action_team(body),
        channel=channel,
        thread=thread,
        user=str(body.get("user", {}).get("id", "")),
    )


def action_destination(body: Payload) -> Destination:
    """Answer a button press: through ``response_url`` for an ephemeral message, else in the
    message's thread."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = action_channel(body)
    return Destination(
        channel=channel,
        thread_ts="" if channel.startswith("D") else str(message.get("thread_ts", "")),
        response_url=str(body.get("response_url", "")),
        ephemeral=bool(container.get("is_ephemeral")) or not message,
        user=str(body.get("user", {}).get("id", "")),
    )


def block_owner(block_id: str) -> str:
    """The owner named by :func:`~adapters.slack.render.owner_block_id`, or "" when the row
    has no owner."""
    parts = block_id.split(":")
    if len(parts) == 3 and parts[0] == ACTION_PREFIX and is_user_id(parts[1]):
        return parts[1]
    return ""
