"""Drive the real Slack adapter over HTTP the way Slack does: signed requests in Slack's payload
shapes (https://api.slack.com/authentication/verifying-requests-from-slack), against a
:class:`~tests.slack.fake_slack.FakeSlack` for the Web API.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from adapters.slack.app import SlackAdapter
from adapters.slack.runner import EVENTS_PATH, events_app
from tests.loopback import serve_app
from tests.slack.fake_slack import APP_ID, BOT_ID, BOT_USER, TEAM, Call, FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
USER, OTHER, CHANNEL = "U0USER0001", "U0OTHER001", "C0CHAN0001"
_ids = itertools.count(1)


def slash(text: str, *, response_url: str, user: str = USER, channel: str = CHANNEL) -> str:
    """A form-encoded ``/pyframework`` request body."""
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "ada",
            "command": "/pyframework",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{next(_ids)}.1.abc",
        }
    )


def event_callback(event: dict[str, Any], *, event_id: str = "") -> dict[str, Any]:
    """An Events API ``event_callback`` envelope around ``event``."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"enterprise_id": None, "team_id": TEAM, "user_id": BOT_USER, "is_bot": True}
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-fake",
    }


def new_ts() -> str:
    return f"1700001000.{next(_ids):06d}"


def mention(text: str, *, user: str = USER, channel: str = CHANNEL, thread_ts: str = "") -> dict:
    """An ``app_mention`` event; ``text`` should start with ``<@UBOT…>``."""
    ts = new_ts()
    event = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM,
        "client_msg_id": f"m-{ts}",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def message(
    text: str,
    *,
    user: str = USER,
    channel: str = CHANNEL,
    thread_ts: str = "",
    channel_type: str = "channel",
    **extra: Any,
) -> dict[str, Any]:
    """A ``message`` event (``message.channels`` or ``message.im`` with ``channel_type="im"``)."""
    ts = new_ts()
    event = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
        "team": TEAM,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


def buttons(call: Call) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(label, button, its actions block) for every button in a posted message or response."""
    return [
        (e["text"]["text"], e, b)
        for b in call.params.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def click(
    fake: FakeSlack, call: Call, label: str, *, user: str = USER, response_url: str = ""
) -> dict[str, Any]:
    """The ``block_actions`` payload Slack sends when ``user`` presses the button labelled
    ``label`` (a prefix is enough) on the message recorded by ``call``."""
    found = [(button, block) for text, button, block in buttons(call) if text.startswith(label)]
    if not found:
        raise AssertionError(f"no button {label!r} in {[t for t, _, _ in buttons(call)]}")
    button, block = found[0]
    ephemeral = call.method == "response"
    channel = call.params.get("_channel", CHANNEL)
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "ada", "name": "ada", "team_id": TEAM},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": f"{next(_ids)}.1.xyz",
        "team": {"id": TEAM, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "general"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": block.get("block_id", "auto"),
                "text": button["text"],
                "value": button["value"],
                "type": "button",
                "action_ts": str(time.time()),
            }
        ],
    }
    if ephemeral:
        payload["container"] = {
            "type": "message",
            "message_ts": "1700000000.999999",
            "channel_id": channel,
            "is_ephemeral": True,
        }
    else:
        ts = call.params["_ts"]
        stored = fake.messages[ts]
        msg = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "text": stored["text"],
            "blocks": stored["blocks"],
            "ts": ts,
        }
        if stored["thread_ts"]:
            msg["thread_ts"] = stored["thread_ts"]
        payload["message"] = msg
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
    return payload


@dataclass
class Harness:
    """The adapter served on 127.0.0.1 plus the fake Slack it talks to."""

    fake: FakeSlack
    adapter: SlackAdapter
    url: str
    session: aiohttp.ClientSession

    async def send(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SECRET,
        signed: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST ``body`` signed with ``secret`` at ``timestamp`` (default now); returns
        (status, response text) after the adapter's background work has finished."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        h = {"Content-Type": content_type, **(headers or {})}
        if signed:
            h["X-Slack-Request-Timestamp"] = ts
            h["X-Slack-Signature"] = SignatureVerifier(secret).generate_signature(
                timestamp=ts, body=body
            )
        async with self.session.post(self.url, data=body.encode(), headers=h) as resp:
            status, text = resp.status, await resp.text()
        await self.adapter.drain()
        return status, text

    async def command(self, text: str, **kw: Any) -> dict[str, Any]:
        """Run ``/pyframework text``; returns the ack's JSON (``{}`` for an empty ack)."""
        body = slash(text, response_url=self.fake.response_url(), **kw)
        status, resp = await self.send(body, "application/x-www-form-urlencoded")
        assert status == 200, resp
        return json.loads(resp) if resp else {}

    async def event(self, event: dict[str, Any], *, event_id: str = "", retry: int = 0) -> int:
        body = json.dumps(event_callback(event, event_id=event_id))
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        status, _ = await self.send(body, "application/json", headers=headers if retry else None)
        return status

    async def action(self, payload: dict[str, Any]) -> int:
        body = urlencode({"payload": json.dumps(payload)})
        status, _ = await self.send(body, "application/x-www-form-urlencoded")
        return status

    async def press(self, call: Call, label: str, *, user: str = USER) -> int:
        return await self.action(
            click(self.fake, call, label, user=user, response_url=self.fake.response_url())
        )

    def posted(self) -> list[Call]:
        """Messages the bot posted or updated, and ephemeral responses, in order."""
        kinds = ("chat.postMessage", "chat.update", "response")
        return [c for c in self.fake.calls if c.method in kinds]


async def serve(adapter: SlackAdapter) -> tuple[web.AppRunner, str]:
    """Serve ``adapter`` over HTTP on a free loopback port; returns (runner, events URL)."""
    runner, port = await serve_app(events_app(adapter))
    return runner, f"http://127.0.0.1:{port}{EVENTS_PATH}"
