"""A fake Slack on 127.0.0.1: the Web API methods the adapter uses, a ``response_url`` sink and
the Socket Mode websocket. Every call is recorded; payloads are checked against Slack's block
limits the way Slack rejects them (``invalid_blocks``).

Shapes follow https://api.slack.com/methods (``auth.test``, ``chat.postMessage``,
``chat.postEphemeral``, ``chat.update``, ``views.publish``, ``apps.connections.open``) and
https://api.slack.com/apis/socket-mode (hello, envelopes, acks).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.loopback import serve_app

TEAM, BOT_USER, BOT_ID, APP_ID = "T0FAKE", "UBOT0001", "BBOT0001", "A0FAKE"


@dataclass
class Call:
    """One recorded request: the API method (or ``response`` / ``socket-ack``), its
    parameters and headers."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def block_problems(blocks: list[dict[str, Any]], *, view: bool = False) -> list[str]:
    """What Slack would reject in ``blocks`` (empty when valid). Limits from
    https://api.slack.com/reference/block-kit/blocks and .../block-elements."""
    problems: list[str] = []
    if len(blocks) > (100 if view else 50):
        problems.append(f"{len(blocks)} blocks")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for b in blocks:
        bid = b.get("block_id")
        if bid is not None:
            if len(bid) > 255 or bid in block_ids:
                problems.append(f"block_id {bid!r}")
            block_ids.add(bid)
        kind = b.get("type")
        if kind == "section" and not 0 < len(b["text"]["text"]) <= 3000:
            problems.append(f"section text {len(b['text']['text'])}")
        elif kind == "section" and "fields" in b:
            fields = b["fields"]
            if not 0 < len(fields) <= 10 or any(len(f["text"]) > 2000 for f in fields):
                problems.append(f"section fields {[len(f['text']) for f in fields]}")
        elif kind == "header" and not 0 < len(b["text"]["text"]) <= 150:
            problems.append(f"header text {len(b['text']['text'])}")
        elif kind == "context" and not 0 < len(b["elements"]) <= 10:
            problems.append(f"context elements {len(b['elements'])}")
        elif kind == "actions":
            if not 0 < len(b["elements"]) <= 25:
                problems.append(f"actions elements {len(b['elements'])}")
            for e in b["elements"]:
                if len(e["text"]["text"]) > 75 or len(e.get("value", "")) > 2000:
                    problems.append(f"button {e['text']['text'][:20]!r}")
                if len(e["action_id"]) > 255 or e["action_id"] in action_ids:
                    problems.append(f"action_id {e['action_id']!r}")
                action_ids.add(e["action_id"])
        elif kind not in ("section", "header", "context", "actions", "divider"):
            problems.append(f"unknown block type {kind!r}")
    return problems


class FakeSlack:
    """Start with ``async with FakeSlack() as fake``; ``fake.api_url`` is the Web API base.

    Attributes:
        calls: every request, in order.
        failures: method -> queued (status, headers, json body) answers given before the
            normal one, e.g. a 429 with Retry-After or ``{"ok": false, "error": ...}``.
        problems: Block Kit violations seen (each also answered ``invalid_blocks``).
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: dict[str, list[tuple[int, dict[str, str], dict[str, Any]]]] = {}
        self.problems: list[str] = []
        #: method -> seconds to wait before answering (the call is recorded first).
        self.delays: dict[str, float] = {}
        #: methods whose answer was sent, in order (a delayed call shows up here at the end).
        self.answered: list[str] = []
        #: ts -> the message as it stands: channel, thread_ts, text, blocks.
        self.messages: dict[str, dict[str, Any]] = {}
        self._ts = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.connected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{hook}", self._response)
        app.router.add_get("/socket", self._socket)
        self._runner, self.port = await serve_app(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in self._sockets:
            await ws.close()
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "hook") -> str:
        return f"{self.base}/response/{name}"

    def of(self, method: str) -> list[Call]:
        """The recorded calls of one method."""
        return [c for c in self.calls if c.method == method]

    # ---- Web API ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update(await request.post())
        for key in ("blocks", "view"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        self.calls.append(Call(method, params, dict(request.headers)))
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        self.answered.append(method)
        queued = self.failures.get(method)
        if queued:
            status, headers, body = queued.pop(0)
            return web.json_response(body, status=status, headers=headers)
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return web.json_response({"ok": False, "error": "not_authed"})
        return web.json_response(self._answer(method, params))

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake",
                "user": "advisor",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            problems = block_problems(params.get("blocks") or [])
            if not params.get("text") and not params.get("blocks"):
                problems.append("no text")
            if problems:
                self.problems += problems
                return {"ok": False, "error": "invalid_blocks", "errors": problems}
            channel = str(params.get("channel", ""))
            if channel.startswith("U"):
                channel = "D" + channel[1:]  # posting to a user id lands in the app's DM
            ts = params.get("ts") or f"1700000000.{next(self._ts):06d}"
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": ts}
            if method == "chat.update" and ts not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            message = self.messages.setdefault(
                ts, {"channel": channel, "thread_ts": params.get("thread_ts") or ""}
            )
            message.update(text=params.get("text", ""), blocks=params.get("blocks") or [])
            params["_ts"], params["_channel"] = ts, message["channel"]
            return {"ok": True, "channel": message["channel"], "ts": ts, "message": message}
        if method == "views.publish":
            view = params.get("view") or {}
            problems = block_problems(view.get("blocks", []), view=True)
            if problems:
                self.problems += problems
                return {"ok": False, "error": "invalid_blocks"}
            return {"ok": True, "view": {"id": "V1", **view}}
        return {"ok": False, "error": "unknown_method"}

    async def _response(self, request: web.Request) -> web.Response:
        body = await request.json()
        problems = block_problems(body.get("blocks") or [])
        if problems:
            self.problems += problems
            return web.Response(status=400, text="invalid_blocks")
        self.calls.append(Call("response", body, dict(request.headers)))
        return web.Response(text="ok")

    # ---- Socket Mode ------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        self.connected.set()
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            self.calls.append(Call("socket-ack", data))
            waiter = self._acks.pop(data.get("envelope_id", ""), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(data)
        return ws

    async def envelope(self, kind: str, payload: dict[str, Any], *, timeout: float = 5) -> Any:
        """Send a Socket Mode envelope (``events_api``, ``slash_commands`` or
        ``interactive``) and return the app's ack."""
        await asyncio.wait_for(self.connected.wait(), timeout)
        envelope_id = f"env-{next(self._ts)}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = waiter
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return await asyncio.wait_for(waiter, timeout)
