"""Discord command, component and message callbacks, driven with mocked ``Interaction`` and
``Message`` objects (no gateway)."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest
from discord import app_commands

from adapters.cli import main
from adapters.discord.advisor import NO_THREAD, DiscordAdvisor
from adapters.discord.client import AdvisorClient
from adapters.discord.commands import command_group
from adapters.discord.keys import CUSTOM_ID, conversation, custom_id
from adapters.discord.runner import check
from adapters.discord.views import FlowButton
from bot.config import Settings
from bot.engine import Engine
from bot.errors import ConfigError
from bot.knowledge import KnowledgeBase
from bot.sessions import MemoryStore, SQLiteStore

OWNER, OTHER, GUILD, CHANNEL = 1001, 2002, 77, 555


class Response:
    """Records what a callback does with ``interaction.response``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def is_done(self) -> bool:
        return bool(self.calls)

    async def send_message(self, content: str | None = None, **kw: Any) -> None:
        assert not self.calls, "an interaction is responded to once"
        self.calls.append(("send", {"content": content, **kw}))

    async def edit_message(self, **kw: Any) -> None:
        assert not self.calls
        self.calls.append(("edit", kw))

    async def defer(self, **kw: Any) -> None:
        assert not self.calls
        self.calls.append(("defer", kw))


def make_interaction(
    advisor: DiscordAdvisor,
    *,
    user: int = OWNER,
    channel: Any = None,
    channel_id: int = CHANNEL,
    message: Any = None,
    perms: discord.Permissions | None = None,
) -> Any:
    followup = SimpleNamespace(send=AsyncMock())
    return SimpleNamespace(
        id=880000 + user,
        type=discord.InteractionType.application_command,
        user=SimpleNamespace(id=user, display_name="ada", mention=f"<@{user}>"),
        guild_id=GUILD,
        channel_id=channel_id,
        channel=channel,
        app_permissions=perms or discord.Permissions.none(),
        response=Response(),
        followup=followup,
        message=message,
        client=SimpleNamespace(advisor=advisor),
    )


@pytest.fixture
def advisor(kb: KnowledgeBase) -> DiscordAdvisor:
    return DiscordAdvisor(Engine(kb, MemoryStore()))


def command(advisor: DiscordAdvisor, name: str) -> app_commands.Command[Any, Any, Any]:
    cmd = command_group(advisor).get_command(name)
    assert isinstance(cmd, app_commands.Command)
    return cmd


def sent(interaction: Any) -> dict[str, Any]:
    [(kind, kw)] = interaction.response.calls
    assert kind == "send"
    return kw


def buttons(view: Any) -> list[FlowButton]:
    return [item for item in view.children if isinstance(item, FlowButton)]


async def test_compare_answers_ephemerally_with_an_embed_and_share(advisor: DiscordAdvisor) -> None:
    interaction = make_interaction(advisor)
    await command(advisor, "compare").callback(interaction, first="flask", second="pyramid")
    kw = sent(interaction)
    assert kw["ephemeral"] is True
    embed = kw["embeds"][0]
    assert "Flask" in embed.title and "Pyramid" in embed.title
    assert "2010" in embed.description
    labels = [b.item.label for b in buttons(kw["view"])]
    assert labels[-1] == "Share to channel"
    assert all(len(b.item.custom_id) <= 100 for b in buttons(kw["view"]))


async def test_about_and_help(advisor: DiscordAdvisor) -> None:
    interaction = make_interaction(advisor)
    await command(advisor, "about").callback(interaction, framework="Sanic")
    assert "Sanic" in sent(interaction)["embeds"][0].title
    interaction = make_interaction(advisor)
    await command(advisor, "help").callback(interaction)
    assert "/pyframework compare" in sent(interaction)["embeds"][0].description


async def test_autocomplete_suggests_flask_for_flsk(advisor: DiscordAdvisor) -> None:
    choices = advisor.framework_choices("flsk")
    assert choices and choices[0].value == "Flask"
    assert len(advisor.framework_choices("")) <= 25


def text_channel(thread: Any) -> Any:
    channel = MagicMock(spec=discord.TextChannel)
    channel.create_thread = AsyncMock(return_value=thread)
    return channel


def new_thread() -> Any:
    return SimpleNamespace(id=9999, mention="<#9999>", send=AsyncMock())


async def test_recommend_opens_a_thread_and_asks_with_buttons(advisor: DiscordAdvisor) -> None:
    thread = new_thread()
    perms = discord.Permissions(create_public_threads=True, send_messages_in_threads=True)
    interaction = make_interaction(advisor, channel=text_channel(thread), perms=perms)
    await command(advisor, "recommend").callback(interaction, description="an API for a mobile app")
    assert interaction.response.calls == [("defer", {"ephemeral": True, "thinking": True})]
    interaction.channel.create_thread.assert_awaited_once()
    question = thread.send.await_args.kwargs
    ids = [b.item.custom_id for b in buttons(question["view"])]
    assert any(i.startswith(f"pf:{OWNER}:answer:") for i in ids)
    assert "<#9999>" in interaction.followup.send.await_args.args[0]


async def test_recommend_without_thread_permission_runs_ephemerally(
    advisor: DiscordAdvisor,
) -> None:
    interaction = make_interaction(advisor, channel=text_channel(new_thread()))
    await command(advisor, "recommend").callback(interaction, description="")
    kw = sent(interaction)
    assert kw["ephemeral"] is True and NO_THREAD in kw["embeds"][0].description
    interaction.channel.create_thread.assert_not_awaited()


async def press(
    advisor: DiscordAdvisor, cid: str, *, user: int = OWNER, ephemeral: bool = False
) -> Any:
    """Press the button with ``cid`` the way discord.py does: rebuild it, check, call back."""
    match = CUSTOM_ID.fullmatch(cid)
    assert match
    item = discord.ui.Button(label="x", custom_id=cid)
    message = SimpleNamespace(
        flags=SimpleNamespace(ephemeral=ephemeral), embeds=[discord.Embed(title="shared?")]
    )
    channel = MagicMock(spec=discord.TextChannel)
    channel.send = AsyncMock()
    interaction = make_interaction(advisor, user=user, message=message, channel=channel)
    button = await FlowButton.from_custom_id(interaction, item, match)
    if await button.interaction_check(interaction):
        await button.callback(interaction)
    return interaction


async def start_flow(advisor: DiscordAdvisor) -> str:
    """Start a flow in a thread; return the custom_id of the first option of the question."""
    thread = new_thread()
    perms = discord.Permissions(create_public_threads=True, send_messages_in_threads=True)
    interaction = make_interaction(advisor, channel=text_channel(thread), perms=perms)
    await command(advisor, "recommend").callback(interaction, description="")
    view = thread.send.await_args.kwargs["view"]
    return next(b.item.custom_id for b in buttons(view) if ":answer:" in b.item.custom_id)


async def test_a_button_press_advances_the_flow_in_place(advisor: DiscordAdvisor) -> None:
    first = await start_flow(advisor)
    interaction = await press_in(advisor, first, 9999)  # the thread's channel id
    [(kind, kw)] = interaction.response.calls
    assert kind == "edit"
    assert kw["embeds"][0].title.startswith("Question 2 of")


async def press_in(advisor: DiscordAdvisor, cid: str, channel_id: int, user: int = OWNER) -> Any:
    match = CUSTOM_ID.fullmatch(cid)
    assert match
    message = SimpleNamespace(flags=SimpleNamespace(ephemeral=False), embeds=[])
    interaction = make_interaction(advisor, user=user, message=message, channel_id=channel_id)
    button = await FlowButton.from_custom_id(interaction, discord.ui.Button(custom_id=cid), match)
    if await button.interaction_check(interaction):
        await button.callback(interaction)
    return interaction


async def test_someone_else_cannot_press_a_flow_button(advisor: DiscordAdvisor) -> None:
    first = await start_flow(advisor)
    interaction = await press_in(advisor, first, 9999, user=OTHER)
    kw = sent(interaction)
    assert kw["ephemeral"] is True and f"<@{OWNER}>" in kw["content"]
    assert "/pyframework recommend" in kw["content"]


async def test_buttons_still_work_after_a_restart_with_the_same_store(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    before = DiscordAdvisor(Engine(kb, store))
    first = await start_flow(before)
    await before.engine.close()
    after = DiscordAdvisor(Engine(kb, SQLiteStore(tmp_path / "s.sqlite3")))
    interaction = await press_in(after, first, 9999)
    [(kind, kw)] = interaction.response.calls
    assert kind == "edit" and kw["embeds"][0].title.startswith("Question 2 of")
    await after.engine.close()


async def test_share_posts_the_embeds_publicly_saying_who(advisor: DiscordAdvisor) -> None:
    interaction = await press(advisor, custom_id(OWNER, "share") or "", ephemeral=True)
    interaction.channel.send.assert_awaited_once()
    kw = interaction.channel.send.await_args.kwargs
    assert kw["content"] == f"Shared by <@{OWNER}>" and kw["embeds"][0].title == "shared?"
    assert "Shared to the channel" in interaction.followup.send.await_args.args[0]


def make_message(text: str, *, author: int = OWNER, bot: bool = False, mentions: list[Any]) -> Any:
    return SimpleNamespace(
        author=SimpleNamespace(id=author, bot=bot),
        guild=SimpleNamespace(id=GUILD),
        channel=SimpleNamespace(id=CHANNEL),
        content=text,
        mentions=mentions,
        mention_everyone=False,
        reply=AsyncMock(),
    )


async def test_a_mention_is_answered_as_a_reply_and_bots_are_ignored(
    advisor: DiscordAdvisor,
) -> None:
    me = SimpleNamespace(id=42)
    message = make_message("<@42> flask vs django", mentions=[me])
    await advisor.on_message(message, me)  # type: ignore[arg-type]
    kw = message.reply.await_args.kwargs
    assert kw["mention_author"] is False and "Flask" in kw["embeds"][0].title
    for ignored in (
        make_message("<@42> flask vs django", bot=True, mentions=[me]),
        make_message("flask vs django", mentions=[]),
        make_message("<@42> hi", author=42, mentions=[me]),
    ):
        await advisor.on_message(ignored, me)  # type: ignore[arg-type]
        ignored.reply.assert_not_awaited()


async def test_a_failing_command_apologises_with_an_incident_id(
    advisor: DiscordAdvisor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(text: str) -> Any:
        raise RuntimeError("token=abc123")

    monkeypatch.setattr(advisor.engine, "answer_once", broken)
    interaction = make_interaction(advisor)
    with caplog.at_level(logging.ERROR):
        await command(advisor, "ask").callback(interaction, question="flask vs django")
    kw = sent(interaction)
    found = re.search(r"incident `([0-9a-f]{8})`", kw["content"])
    assert found and kw["ephemeral"] is True and "abc123" not in kw["content"]
    assert any(found.group(1) in r.getMessage() and r.exc_info for r in caplog.records)


async def test_commands_are_not_synced_again_when_unchanged(
    advisor: DiscordAdvisor, tmp_path: Path
) -> None:
    client = AdvisorClient(advisor, guild_id=123, sync_stamp=tmp_path / "stamp")
    client.tree.sync = AsyncMock(return_value=[])  # type: ignore[method-assign]
    assert await client.sync_commands() is True
    assert await client.sync_commands() is False
    client.tree.sync.assert_awaited_once()
    assert client.intents.message_content is False
    assert client.allowed_mentions is not None and client.allowed_mentions.everyone is False
    await client.close()


def test_missing_token_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        check(Settings.from_env({}))
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("ADVISOR_CACHE_DIR", "off")
    err = io.StringIO()
    assert main(["discord"], stdout=io.StringIO(), stderr=err) == 2
    assert "DISCORD_TOKEN" in err.getvalue()


def test_bare_advisor_serves_every_platform_whose_token_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import adapters.serve as serve

    planned: list[serve.Plan] = []

    async def fake_run(settings: Settings, kb: object, platforms: tuple[str, ...]) -> None:
        planned.append(serve.plan(settings, platforms))

    monkeypatch.setattr(serve, "run", fake_run)
    monkeypatch.setenv("ADVISOR_CACHE_DIR", "off")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret")
    assert main([], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert planned[-1].slack is None and planned[-1].discord_token == "discord-secret"
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    assert main([], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    both = planned[-1]
    assert both.slack is not None and both.slack.mode == "http" and both.discord_token
    assert main(["discord"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert planned[-1].slack is None and planned[-1].discord_token


def test_readme_invite_url_asks_for_exactly_the_needed_permissions() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    needed = discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        create_public_threads=True,
        embed_links=True,
        read_message_history=True,
    )
    found = re.search(r"scope=bot\+applications\.commands&permissions=(\d+)", readme)
    assert found and int(found.group(1)) == needed.value


async def test_list_one_category_or_all(advisor: DiscordAdvisor) -> None:
    interaction = make_interaction(advisor)
    await command(advisor, "list").callback(interaction, category="micro")
    assert sent(interaction)["embeds"][0].title == "Python microframeworks"
    interaction = make_interaction(advisor)
    await command(advisor, "list").callback(interaction, category=None)
    titles = [sent(interaction)["embeds"][0].title] + [
        c.kwargs["embeds"][0].title for c in interaction.followup.send.await_args_list
    ]
    assert len(titles) == 4 and "Python async networking libraries" in titles


async def test_free_text_in_a_flow_thread_needs_the_intent(kb: KnowledgeBase) -> None:
    me = SimpleNamespace(id=42)
    for intent in (False, True):
        advisor = DiscordAdvisor(Engine(kb, MemoryStore()), message_content=intent)
        thread = MagicMock(spec=discord.Thread)
        thread.id = 9999
        start = make_message("<@42> help me pick", mentions=[me])
        start.channel = thread
        await advisor.on_message(start, me)  # type: ignore[arg-type]
        answer = make_message("1", mentions=[])
        answer.channel = thread
        await advisor.on_message(answer, me)  # type: ignore[arg-type]
        assert answer.reply.await_count == (1 if intent else 0)


async def test_drain_waits_for_work_in_flight_and_turns_new_work_away(
    advisor: DiscordAdvisor,
) -> None:
    import asyncio

    from adapters.discord.guard import RESTARTING_TEXT

    release = asyncio.Event()
    finished: list[str] = []

    async def slow() -> None:
        await release.wait()
        finished.append("slow")

    first = make_interaction(advisor)
    running = asyncio.create_task(advisor.guarded(first, slow()))
    await asyncio.sleep(0)
    assert advisor.in_flight == 1
    draining = asyncio.create_task(advisor.drain(5))
    await asyncio.sleep(0.05)
    assert not draining.done(), "drain waits for the interaction in flight"

    late = make_interaction(advisor)
    await advisor.guarded(late, slow())
    assert late.response.calls == [("send", {"content": RESTARTING_TEXT, "ephemeral": True})]

    release.set()
    assert await asyncio.wait_for(draining, 5) is True
    await running
    assert finished == ["slow"], "the late interaction's work never ran"
    assert await advisor.drain(0.01) is True


async def test_a_second_press_of_the_same_button_changes_nothing(advisor: DiscordAdvisor) -> None:
    first = await start_flow(advisor)
    once = await press_in(advisor, first, 9999)
    [(_, kw)] = once.response.calls
    assert kw["embeds"][0].title.startswith("Question 2 of")
    twice = await press_in(advisor, first, 9999)  # a double click, or a stale message
    [(_, kw)] = twice.response.calls
    shown = " ".join(str(e.description or "") + str(e.title) for e in kw["embeds"])
    assert "already answered" in shown and "Question 2 of" in shown
    key = conversation(GUILD, 9999, OWNER)
    record = await advisor.engine.store.get(key.as_string(), advisor.engine.clock())
    assert record is not None and record.data["answers"] == {"what": "website"}


async def test_a_mention_before_a_number_answers_the_flow(advisor: DiscordAdvisor) -> None:
    me = SimpleNamespace(id=42)
    await advisor.on_message(make_message("<@42> help me pick", mentions=[me]), me)  # type: ignore[arg-type]
    message = make_message("<@42> 2", mentions=[me])
    await advisor.on_message(message, me)  # type: ignore[arg-type]
    embeds = message.reply.await_args.kwargs["embeds"]
    assert embeds[0].title.startswith("Question 2 of")
    assert "Got it: project type: An API" in str(embeds[0].description)
