"""A fake Discord on 127.0.0.1: the REST routes discord.py 2.7 calls and a gateway websocket.

The gateway says HELLO, answers IDENTIFY with READY and one GUILD_CREATE, acknowledges
heartbeats, and lets a test dispatch events (INTERACTION_CREATE, MESSAGE_CREATE). Every REST
call is recorded. Shapes follow https://discord.com/developers/docs (Gateway, Interactions,
Message, Guild); JSON answers carry exactly ``application/json`` as discord.py expects.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.loopback import serve_app

BOT_ID, APP_ID, GUILD_ID, CHANNEL_ID, USER_ID = "42", "4242", "77", "555", "1001"
ALL_PERMISSIONS = str((1 << 50) - 1)
NOW = "2026-11-21T10:00:00.000000+00:00"
BOT = {
    "id": BOT_ID,
    "username": "advisor",
    "discriminator": "0",
    "avatar": None,
    "bot": True,
    "global_name": None,
}


def user(uid: str = USER_ID, name: str = "ada") -> dict[str, Any]:
    return {"id": uid, "username": name, "discriminator": "0", "avatar": None, "global_name": name}


def member(uid: str = USER_ID) -> dict[str, Any]:
    return {
        "user": user(uid),
        "roles": [],
        "joined_at": NOW,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "permissions": ALL_PERMISSIONS,
    }


def text_channel(cid: str = CHANNEL_ID) -> dict[str, Any]:
    return {
        "id": cid,
        "type": 0,
        "guild_id": GUILD_ID,
        "name": "general",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
    }


def thread_channel(tid: str, parent: str = CHANNEL_ID) -> dict[str, Any]:
    return {
        "id": tid,
        "type": 11,
        "guild_id": GUILD_ID,
        "name": "Choosing a framework",
        "parent_id": parent,
        "owner_id": BOT_ID,
        "member_count": 1,
        "message_count": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": NOW,
            "locked": False,
        },
    }


@dataclass
class Call:
    """One REST request: method, path (after /api/v10) and JSON body."""

    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class Refusal:
    """An error answer for REST calls of ``method`` whose path fully matches ``pattern``:
    HTTP ``status`` with Discord's JSON error body (``code``, ``message``), ``times`` times."""

    method: str
    pattern: str
    status: int = 403
    code: int = 50013
    message: str = "Missing Permissions"
    times: int = 1


class FakeDiscord:
    """``async with FakeDiscord() as fake``; ``fake.api_base`` and ``fake.gateway_url``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        #: error answers to give instead of the normal ones (see :meth:`refuse`).
        self.refusals: list[Refusal] = []
        self.threads: list[dict[str, Any]] = []
        self._ids = itertools.count(900000)
        self._seq = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self.identified = asyncio.Event()
        #: the ``d`` of every IDENTIFY received (``shard`` is [id, count] when sharded).
        self.identifies: list[dict[str, Any]] = []
        #: a gateway close code to answer IDENTIFY with (4004: authentication failed), or 0.
        self.identify_close = 0
        self.posted = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway-ws", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner, self.port = await serve_app(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in self._sockets:
            await ws.close()
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway-ws"

    def of(self, method: str, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]

    async def wait_for(
        self, method: str, prefix: str, count: int = 1, timeout: float = 5
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` on a path starting with ``prefix`` came."""
        async with self.posted:
            await asyncio.wait_for(
                self.posted.wait_for(lambda: len(self.of(method, prefix)) >= count), timeout
            )
        return self.of(method, prefix)

    # ---- REST ---------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        body: dict[str, Any] = {}
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            form = await request.post()
            body = json.loads(str(form.get("payload_json", "{}")))
        async with self.posted:
            self.calls.append(Call(request.method, path, body))
            self.posted.notify_all()
        refusal = self._refusal(request.method, path)
        if refusal is not None:
            error = json.dumps({"code": refusal.code, "message": refusal.message}).encode()
            return web.Response(
                body=error, status=refusal.status, headers={"Content-Type": "application/json"}
            )
        answer = json.dumps(self._answer(request.method, path, body)).encode()
        # discord.py parses JSON only when the content type is exactly application/json.
        return web.Response(body=answer, headers={"Content-Type": "application/json"})

    def refuse(self, method: str, pattern: str, **kw: Any) -> None:
        """Answer the next matching REST call with an error (see :class:`Refusal`)."""
        self.refusals.append(Refusal(method, pattern, **kw))

    def _refusal(self, method: str, path: str) -> Refusal | None:
        for r in self.refusals:
            if r.times > 0 and r.method == method and re.fullmatch(r.pattern, path):
                r.times -= 1
                return r
        return None

    def _answer(self, method: str, path: str, body: dict[str, Any]) -> Any:
        if path == "users/@me":
            return BOT
        if path == "oauth2/applications/@me":
            return {
                "id": APP_ID,
                "name": "advisor",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user(),
                "verify_key": "00",
                "flags": 0,
                "summary": "",
            }
        if path in ("gateway/bot", "gateway"):
            return {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        if path.endswith("/commands") and method == "PUT":
            return [
                dict(c, id=str(next(self._ids)), application_id=APP_ID, version="1") for c in body
            ]
        if path.startswith("interactions/"):
            return {"interaction": {"id": path.split("/")[1], "type": 2}}
        if path.endswith("/threads") and method == "POST":
            thread = thread_channel(str(next(self._ids)), parent=path.split("/")[1])
            self.threads.append(thread)
            return thread
        if path.startswith(("channels/", "webhooks/")):
            channel = path.split("/")[1] if path.startswith("channels/") else CHANNEL_ID
            return self.message(body, channel)
        return {}

    def message(
        self, body: dict[str, Any], channel: str, *, author: dict[str, Any] = BOT
    ) -> dict[str, Any]:
        return {
            "id": str(next(self._ids)),
            "channel_id": channel,
            "guild_id": GUILD_ID,
            "author": author,
            "content": body.get("content") or "",
            "timestamp": NOW,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags", 0),
        }

    # ---- gateway ------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data["op"] == 1:
                await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
            elif data["op"] == 2:
                self.identifies.append(data["d"])
                if self.identify_close:
                    await ws.close(code=self.identify_close)
                    break
                await self._ready(ws, data["d"].get("shard", [0, 1]))
        return ws

    async def _ready(self, ws: web.WebSocketResponse, shard: list[int]) -> None:
        await self._send(
            ws,
            "READY",
            {
                "v": 10,
                "user": BOT,
                "guilds": [{"id": GUILD_ID, "unavailable": True}],
                "session_id": "fake-session",
                "resume_gateway_url": self.gateway_url,
                "shard": shard,
                "application": {"id": APP_ID, "flags": 0},
                "private_channels": [],
                "relationships": [],
            },
        )
        await self._send(
            ws,
            "GUILD_CREATE",
            {
                "id": GUILD_ID,
                "name": "Fake guild",
                "owner_id": USER_ID,
                "unavailable": False,
                "member_count": 2,
                "large": False,
                "channels": [text_channel()],
                "threads": [],
                "roles": [
                    {
                        "id": GUILD_ID,
                        "name": "@everyone",
                        "permissions": ALL_PERMISSIONS,
                        "position": 0,
                        "color": 0,
                        "hoist": False,
                        "managed": False,
                        "mentionable": False,
                        "flags": 0,
                    }
                ],
                "members": [member(BOT_ID) | {"user": BOT}, member()],
                "emojis": [],
                "stickers": [],
                "features": [],
                "voice_states": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "joined_at": NOW,
                "preferred_locale": "en-US",
                "premium_tier": 0,
                "system_channel_flags": 0,
            },
        )
        self.identified.set()

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        await ws.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway event to the connected client."""
        await asyncio.wait_for(self.identified.wait(), 10)
        await self._send(self._sockets[-1], event, data)

    # ---- payloads -----------------------------------------------------------------------------

    def interaction(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user_id: str = USER_ID,
        channel: dict[str, Any] | None = None,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload (2 command, 3 component, 4 autocomplete)."""
        channel = channel or text_channel()
        payload = {
            "id": str(next(self._ids)),
            "application_id": APP_ID,
            "type": kind,
            "data": data,
            "guild_id": GUILD_ID,
            "channel_id": channel["id"],
            "channel": channel,
            "member": member(user_id),
            "token": f"itoken-{next(self._ids)}",
            "version": 1,
            "app_permissions": ALL_PERMISSIONS,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD_ID},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        return payload
