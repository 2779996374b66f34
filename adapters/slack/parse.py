"""Translate Slack payloads into the core's terms: conversation keys, text, where to answer.

Pure functions over what Slack sends (https://api.slack.com/events,
https://api.slack.com/interactivity/slash-commands,
https://api.slack.com/reference/interaction-payloads/block-actions-payload); no I/O. The
request checks (:func:`signed_by_slack`, :func:`decode_body`, :func:`body_problem`) run before
bolt sees a request, so junk is refused with 401 or 400 instead of crashing bolt's parser.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from adapters.slack.render import ACTION_PREFIX
from bot.sessions import ConversationKey

PLATFORM = "slack"
#: Message subtypes that are still a person talking; every other subtype (edits, deletes,
#: joins, bot messages…) is ignored.
PERSON_SUBTYPES = frozenset({"", "thread_broadcast", "file_share"})
#: The first words of ``/pyframework`` text that start the selection flow.
FLOW_WORDS = frozenset({"recommend", "pick", "choose", "select", "start"})
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
#: Seconds a signed request stays acceptable, either side of now (Slack's replay window).
SIGNATURE_MAX_AGE = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
#: Top-level keys read as an object (or null) by bolt or this adapter.
_OBJECT_KEYS = ("container", "message", "view", "state", "previous_message", "item")
#: Top-level keys read as an object or an id string (or null).
_REF_KEYS = ("user", "team", "channel", "enterprise")
#: Top-level keys read as text (or null).
_TEXT_KEYS = (
    *("type", "command", "text", "response_url", "trigger_id", "api_app_id", "event_id"),
    *("team_id", "channel_id", "user_id", "enterprise_id", "callback_id", "action_id"),
)
#: Event fields read as text (or null) in the events this adapter handles.
_EVENT_TEXT_KEYS = (
    *("type", "subtype", "user", "text", "ts", "thread_ts", "event_ts", "channel"),
    *("channel_type", "bot_id", "team", "user_team", "tab"),
)
_HANDLED_EVENTS = frozenset({"message", "app_mention", "app_home_opened"})

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


def signed_by_slack(
    secret: str, body: bytes, timestamp: str, signature: str, *, now: float
) -> bool:
    """True when ``signature`` (``X-Slack-Signature``) is Slack's for ``body`` (the raw
    request bytes) at ``timestamp`` (``X-Slack-Request-Timestamp``, whole seconds since the
    epoch, at most :data:`SIGNATURE_MAX_AGE` seconds from ``now``): HMAC-SHA256 with
    ``secret`` over ``v0:{timestamp}:{body}``. The same check as slack_sdk's
    ``SignatureVerifier``, but over the bytes as received, so it never raises: a timestamp
    that is not digits or a missing signature just fails, and bytes that are not UTF-8 can
    still be checked. https://api.slack.com/authentication/verifying-requests-from-slack
    """
    if not _TIMESTAMP.fullmatch(timestamp) or abs(now - int(timestamp)) > SIGNATURE_MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def decode_body(text: str, content_type: str) -> dict[str, Any]:
    """The request body as Slack meant it, which is how bolt reads it
    (``slack_bolt.request.internals.parse_body``) except for one bolt bug: JSON when
    ``content_type`` (the header as sent) is ``application/json`` or ``text`` starts with "{";
    a form's ``payload`` field as JSON when the form has one; otherwise the form's fields.
    (Bolt takes any form whose text contains "payload" for an interaction and reads it as
    ``{}``, so ``/pyframework max payload size?`` would go unanswered; the runner hands bolt
    this reading instead.)

    Raises:
        ValueError: the JSON is broken, or is not an object.
    """
    if not text:
        return {}
    if content_type.split(";")[0] == "application/json" or text.startswith("{"):
        data = _json(text)
    else:
        form = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" not in form:
            return form
        data = _json(form["payload"])
    if not isinstance(data, dict):
        raise ValueError(f"the body is a JSON {type(data).__name__}, not an object")
    return data


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


def body_problem(body: Payload) -> str:
    """What makes a decoded body unfit for bolt and the listeners ("" when nothing, else the
    problems joined by "; "): a field they read with the wrong JSON type (an object, an id,
    text, ``message.blocks`` a list of objects, ``authorizations`` a list of objects), an
    ``event`` that is not an object with a ``type``, an action payload without actions with
    an ``action_id`` or without a ``user`` object. Fields of events this adapter does not
    handle are not checked."""
    get = body.get
    problems = [f"{k} is not an object" for k in _OBJECT_KEYS if not _is(get(k), dict)]
    problems += [f"{k} is not an id or object" for k in _REF_KEYS if not _is(get(k), str, dict)]
    problems += [f"{k} is not text" for k in _TEXT_KEYS if not _is(get(k), str)]
    if "event" in body:
        problems += _event_problems(body["event"])
    message = get("message")
    if isinstance(message, dict) and not _is(message.get("blocks"), list):
        problems.append("message.blocks is not a list")
    elif isinstance(message, dict) and not _list_of_dicts(message.get("blocks") or []):
        problems.append("message.blocks holds a non-object")
    authorizations = body.get("authorizations")
    if authorizations is not None and not _list_of_dicts(authorizations):
        problems.append("authorizations is not a list of objects")
    elif authorizations:
        problems += [f"authorizations[0].{p}" for p in body_problem(authorizations[0])]
    if body.get("type") in ("block_actions", "interactive_message"):
        actions = body.get("actions")
        if not _list_of_dicts(actions) or not actions:
            problems.append("actions is not a non-empty list of objects")
        elif not all(isinstance(a.get("action_id"), str) for a in actions):
            problems.append("an action has no action_id")
        if not isinstance(body.get("user"), dict):
            problems.append("user is not an object")
    return "; ".join(problems)


def _event_problems(event: Any) -> list[str]:
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return ["event is not an object with a type"]
    if event["type"] not in _HANDLED_EVENTS:
        return []
    problems = [f"event.{k} is not text" for k in _EVENT_TEXT_KEYS if not _is(event.get(k), str)]
    for k in ("message", "previous_message"):
        if not _is(event.get(k), dict):
            problems.append(f"event.{k} is not an object")
    return problems


def _is(value: Any, *types: type) -> bool:
    """True for null (absent) or a value of one of ``types``."""
    return value is None or isinstance(value, types)


def _list_of_dicts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _obj(body: Payload, key: str) -> Payload:
    """``body[key]`` when it is an object, else an empty one."""
    value = body.get(key)
    return value if isinstance(value, Mapping) else {}


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
    return str(body.get("team_id") or _obj(body, "event").get("team", ""))


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
    return str(_obj(body, "team").get("id") or _obj(body, "user").get("team_id", ""))


def action_channel(body: Payload) -> str:
    """The channel a button was pressed in."""
    return str(_obj(body, "channel").get("id") or _obj(body, "container").get("channel_id", ""))


def action_key(body: Payload) -> ConversationKey:
    """The conversation a button press belongs to: the message's thread (none in a DM or on an
    ephemeral message) and the person who pressed it."""
    message = _obj(body, "message")
    channel = action_channel(body)
    thread = "" if channel.startswith("D") else str(message.get("thread_ts", ""))
    return ConversationKey(
        platform=PLATFORM,
        workspace=action_team(body),
        channel=channel,
        thread=thread,
        user=str(_obj(body, "user").get("id", "")),
    )


def action_destination(body: Payload) -> Destination:
    """Answer a button press: through ``response_url`` for an ephemeral message, else in the
    message's thread."""
    container = _obj(body, "container")
    message = _obj(body, "message")
    channel = action_channel(body)
    return Destination(
        channel=channel,
        thread_ts="" if channel.startswith("D") else str(message.get("thread_ts", "")),
        response_url=str(body.get("response_url", "")),
        ephemeral=bool(container.get("is_ephemeral")) or not message,
        user=str(_obj(body, "user").get("id", "")),
    )


def block_owner(block_id: str) -> str:
    """The owner named by :func:`~adapters.slack.render.owner_block_id`, or "" when the row
    has no owner."""
    parts = block_id.split(":")
    if len(parts) == 3 and parts[0] == ACTION_PREFIX and is_user_id(parts[1]):
        return parts[1]
    return ""
