"""The Discord client end to end against a fake gateway and REST server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.advisor import DiscordAdvisor
from adapters.discord.client import AdvisorClient
from bot.engine import Engine
from bot.knowledge import KnowledgeBase
from bot.replies import Reply
from bot.sessions import MemoryStore, SQLiteStore
from tests.discord.fake_discord import (
    BOT,
    BOT_ID,
    CHANNEL_ID,
    GUILD_ID,
    USER_ID,
    Call,
    FakeDiscord,
    member,
    thread_channel,
    user,
)


async def connect(fake: FakeDiscord, engine: Engine) -> tuple[AdvisorClient, asyncio.Task[None]]:
    client = AdvisorClient(DiscordAdvisor(engine), guild_id=int(GUILD_ID), guild_ready_timeout=0.1)
    task = asyncio.create_task(client.start("fake-token"))
    await asyncio.wait_for(client.wait_until_ready(), 10)
    return client, task


async def disconnect(client: AdvisorClient, task: asyncio.Task[None]) -> None:
    await client.close()
    await asyncio.wait_for(task, 10)


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        monkeypatch.setattr(Route, "BASE", fake.api_base)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
        yield fake


def compare_command(first: str, second: str) -> dict[str, Any]:
    return {
        "id": "7001",
        "name": "pyframework",
        "type": 1,
        "guild_id": GUILD_ID,
        "options": [
            {
                "name": "compare",
                "type": 1,
                "options": [
                    {"name": "first", "type": 3, "value": first},
                    {"name": "second", "type": 3, "value": second},
                ],
            }
        ],
    }


async def test_compare_through_the_gateway(fake: FakeDiscord, kb: KnowledgeBase) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        assert fake.of("PUT", "applications/"), "commands were synced"
        await fake.dispatch(
            "INTERACTION_CREATE", fake.interaction(2, compare_command("flask", "pyramid"))
        )
        [call] = await fake.wait_for("POST", "interactions/")
        assert call.body["type"] == 4
        data = call.body["data"]
        assert data["flags"] & 64, "ephemeral"
        assert "Flask" in data["embeds"][0]["title"] and "Pyramid" in data["embeds"][0]["title"]
        assert data["allowed_mentions"] == {"parse": []}
    finally:
        await disconnect(client, task)


def sub(name: str, *options: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "7001",
        "name": "pyframework",
        "type": 1,
        "guild_id": GUILD_ID,
        "options": [{"name": name, "type": 1, "options": list(options)}],
    }


def embed_chars(embeds: list[dict[str, Any]]) -> int:
    return sum(
        len(e.get("title", ""))
        + len(e.get("description", ""))
        + len(e.get("footer", {}).get("text", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
        for e in embeds
    )


def custom_ids(body: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in body.get("components", []) for c in row["components"]]


async def test_autocomplete_offers_flask_for_flsk(fake: FakeDiscord, kb: KnowledgeBase) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        typing = {"name": "first", "type": 3, "value": "flsk", "focused": True}
        await fake.dispatch("INTERACTION_CREATE", fake.interaction(4, sub("compare", typing)))
        [call] = await fake.wait_for("POST", "interactions/")
        assert call.body["type"] == 8
        choices = call.body["data"]["choices"]
        assert choices[0] == {"name": "Flask", "value": "Flask"} and len(choices) <= 25
    finally:
        await disconnect(client, task)


async def start_recommend(fake: FakeDiscord) -> tuple[dict[str, Any], Call]:
    """Run /pyframework recommend; return the thread and the first question's message call."""
    await fake.dispatch("INTERACTION_CREATE", fake.interaction(2, sub("recommend")))
    [defer] = await fake.wait_for("POST", "interactions/")
    assert defer.body["type"] == 5 and defer.body["data"]["flags"] & 64, "deferred, thinking"
    [created] = await fake.wait_for("POST", f"channels/{CHANNEL_ID}/threads")
    thread_id = fake.threads[-1]["id"]
    [question] = await fake.wait_for("POST", f"channels/{thread_id}/messages")
    await fake.wait_for("POST", "webhooks/")  # "the questions are in #thread"
    return fake.threads[-1], question


async def press(fake: FakeDiscord, thread: dict[str, Any], question: Call, cid: str) -> Call:
    before = len(fake.of("POST", "interactions/"))
    message = fake.message(question.body, thread["id"])
    await fake.dispatch(
        "INTERACTION_CREATE",
        fake.interaction(
            3, {"custom_id": cid, "component_type": 2}, channel=thread, message=message
        ),
    )
    return (await fake.wait_for("POST", "interactions/", before + 1))[-1]


async def test_a_button_click_advances_the_flow_in_its_thread(
    fake: FakeDiscord, kb: KnowledgeBase
) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        thread, question = await start_recommend(fake)
        first = next(c for c in custom_ids(question.body) if ":answer:" in c)
        assert first.startswith(f"pf:{USER_ID}:answer:")
        update = await press(fake, thread, question, first)
        assert update.body["type"] == 7, "the question message is edited in place"
        assert update.body["data"]["embeds"][0]["title"].startswith("Question 2 of")
    finally:
        await disconnect(client, task)


async def test_buttons_work_after_a_restart_with_the_same_store(
    fake: FakeDiscord, kb: KnowledgeBase, tmp_path: Path
) -> None:
    client, task = await connect(fake, Engine(kb, SQLiteStore(tmp_path / "s.sqlite3")))
    thread, question = await start_recommend(fake)
    await disconnect(client, task)
    await client.advisor.engine.close()
    fake.identified.clear()

    client, task = await connect(fake, Engine(kb, SQLiteStore(tmp_path / "s.sqlite3")))
    try:
        first = next(c for c in custom_ids(question.body) if ":answer:" in c)
        update = await press(fake, thread, question, first)
        assert update.body["type"] == 7
        assert update.body["data"]["embeds"][0]["title"].startswith("Question 2 of")
    finally:
        await disconnect(client, task)
        await client.advisor.engine.close()


async def test_share_posts_a_public_embed_saying_who(fake: FakeDiscord, kb: KnowledgeBase) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        await fake.dispatch(
            "INTERACTION_CREATE", fake.interaction(2, compare_command("flask", "django"))
        )
        [answer] = await fake.wait_for("POST", "interactions/")
        share = next(c for c in custom_ids(answer.body["data"]) if c.endswith(":share"))
        message = fake.message(answer.body["data"], CHANNEL_ID) | {"flags": 64}
        await fake.dispatch(
            "INTERACTION_CREATE",
            fake.interaction(3, {"custom_id": share, "component_type": 2}, message=message),
        )
        [post] = await fake.wait_for("POST", f"channels/{CHANNEL_ID}/messages")
        assert post.body["content"] == f"Shared by <@{USER_ID}>"
        assert "Flask" in post.body["embeds"][0]["title"]
        assert post.body["allowed_mentions"] == {"parse": []}
        assert "components" not in post.body or post.body["components"] == []
    finally:
        await disconnect(client, task)


async def test_a_mention_in_a_thread_gets_a_reply_that_pings_nobody(
    fake: FakeDiscord, kb: KnowledgeBase
) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        thread = thread_channel("8800")
        await fake.dispatch("THREAD_CREATE", thread | {"newly_created": True})
        message = fake.message(
            {"content": f"<@{BOT_ID}> @everyone which is best for websockets?"},
            "8800",
            author=user(),
        ) | {"mentions": [BOT], "member": member()}
        await fake.dispatch("MESSAGE_CREATE", message)
        [reply] = await fake.wait_for("POST", "channels/8800/messages")
        assert str(reply.body["message_reference"]["message_id"]) == message["id"]
        assert reply.body["allowed_mentions"] == {"parse": [], "replied_user": False}
        assert reply.body["embeds"]
    finally:
        await disconnect(client, task)


async def test_a_reply_over_6000_characters_is_split(
    fake: FakeDiscord, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(kb, MemoryStore())
    huge = Reply(intent="about", title="Huge", paragraphs=tuple("word " * 900 for _ in range(8)))
    monkeypatch.setattr(engine, "answer_once", lambda text, **_: [huge])
    client, task = await connect(fake, engine)
    try:
        await fake.dispatch("INTERACTION_CREATE", fake.interaction(2, compare_command("a", "b")))
        [first] = await fake.wait_for("POST", "interactions/")
        rest = await fake.wait_for("POST", "webhooks/", 1)
        await asyncio.sleep(0.2)
        rest = fake.of("POST", "webhooks/")
        bodies = [first.body["data"], *(c.body for c in rest)]
        assert len(bodies) >= 2
        assert all(embed_chars(b["embeds"]) <= 6000 and len(b["embeds"]) <= 10 for b in bodies)
        total = sum(e.get("description", "").count("w") for b in bodies for e in b["embeds"])
        assert total == 8 * 900, "nothing lost"
    finally:
        await disconnect(client, task)


async def test_an_exception_gives_an_apology_with_an_incident_id(
    fake: FakeDiscord, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(kb, MemoryStore())

    def broken(text: str) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(engine, "answer_once", broken)
    client, task = await connect(fake, engine)
    try:
        await fake.dispatch("INTERACTION_CREATE", fake.interaction(2, compare_command("a", "b")))
        [call] = await fake.wait_for("POST", "interactions/")
        content = call.body["data"]["content"]
        assert re.search(r"incident `[0-9a-f]{8}`", content) and "secret" not in content
        assert call.body["data"]["flags"] & 64
    finally:
        await disconnect(client, task)


async def test_the_override_variables_point_discord_py_at_the_fake(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from adapters.discord.runner import build_client
    from bot.config import Settings

    monkeypatch.setattr(Route, "BASE", Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    settings = Settings.from_env(
        {
            "DISCORD_TOKEN": "t",
            "ADVISOR_DISCORD_API_BASE": "http://127.0.0.1:9/api/v10/",
            "ADVISOR_DISCORD_GATEWAY": "ws://127.0.0.1:9/gw",
            "DISCORD_GUILD_ID": "77",
            "ADVISOR_CACHE_DIR": str(tmp_path),
        }
    )
    client = build_client(settings, Engine(kb, MemoryStore()))
    assert Route.BASE == "http://127.0.0.1:9/api/v10"
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:9/gw"
    assert client.guild_id == 77 and client.sync_stamp == tmp_path / "discord-commands.sha256"
    await client.close()


async def test_sharded_client_identifies_each_of_its_shards(
    fake: FakeDiscord, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ADVISOR_DISCORD_SHARDS=3:1-2 runs shards 1 and 2 of 3 on discord.py's
    AutoShardedClient, and the bot answers through them."""
    from adapters.discord.runner import ShardedAdvisorClient, build_client
    from bot.config import Settings

    async def no_identify_pause(self: object, shard_id: int | None, *, initial: bool) -> None:
        """discord.py waits 5 s between shards' IDENTIFYs (Discord's rate limit)."""

    monkeypatch.setattr(ShardedAdvisorClient, "before_identify_hook", no_identify_pause)
    settings = Settings.from_env(
        {
            "ADVISOR_DISCORD_SHARDS": "3:1-2",
            "ADVISOR_CACHE_DIR": "off",
            "DISCORD_GUILD_ID": GUILD_ID,
            "ADVISOR_DISCORD_API_BASE": fake.api_base,
            "ADVISOR_DISCORD_GATEWAY": fake.gateway_url,
        }
    )
    client = build_client(settings, Engine(kb, MemoryStore()), guild_ready_timeout=0.1)
    assert isinstance(client, ShardedAdvisorClient)
    task = asyncio.create_task(client.start("fake-token"))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 10)
        assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(1, 3), (2, 3)]
        assert sorted(client.shards) == [1, 2]
        await fake.dispatch(
            "INTERACTION_CREATE", fake.interaction(2, compare_command("flask", "pyramid"))
        )
        calls = await fake.wait_for("POST", "interactions/")
        assert "Flask" in str(calls[0].body)
    finally:
        await disconnect(client, task)


async def test_a_stale_press_after_a_restart_changes_nothing(
    fake: FakeDiscord, kb: KnowledgeBase, tmp_path: Path
) -> None:
    """The first press answers; the same button pressed again after a restart (a double click
    or an old message) is ignored with a note, never applied to the next question."""
    client, task = await connect(fake, Engine(kb, SQLiteStore(tmp_path / "s.sqlite3")))
    thread, question = await start_recommend(fake)
    first = next(c for c in custom_ids(question.body) if ":answer:" in c)
    update = await press(fake, thread, question, first)
    assert update.body["data"]["embeds"][0]["title"].startswith("Question 2 of")
    await disconnect(client, task)
    await client.advisor.engine.close()
    fake.identified.clear()

    client, task = await connect(fake, Engine(kb, SQLiteStore(tmp_path / "s.sqlite3")))
    try:
        again = await press(fake, thread, question, first)
        shown = json.dumps(again.body["data"]["embeds"])
        assert "already answered" in shown and "Question 2 of" in shown
        skip = next(c for c in custom_ids(question.body) if ":cmd:skip:" in c)
        stale_skip = await press(fake, thread, question, skip)
        assert "Question 2 of" in json.dumps(stale_skip.body["data"]["embeds"])
    finally:
        await disconnect(client, task)
        await client.advisor.engine.close()
