"""Hardening of the Discord adapter (issue 14, defects 5 and 13-19): each test is the smallest
reproducer of a defect found by independent testing, shaped like the payload that showed it,
then property tests over the renderer (no quoted text ever renders as a live masked link)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
from hypothesis import given, settings
from hypothesis import strategies as st

import adapters.discord.runner as runner
from adapters.cli import main
from adapters.discord.advisor import NO_THREAD, DiscordAdvisor
from adapters.discord.keys import CUSTOM_ID
from adapters.discord.render import render
from adapters.discord.views import FlowButton
from bot.config import Settings
from bot.conversation import OLD_BUTTON_TEXT
from bot.engine import Engine
from bot.errors import AdvisorError, ConfigError, PlatformUnreachable
from bot.knowledge import KnowledgeBase
from bot.record import code_span
from bot.replies import Field, Reply
from bot.sessions import MemoryStore
from tests.discord.fake_discord import (
    BOT,
    BOT_ID,
    CHANNEL_ID,
    USER_ID,
    FakeDiscord,
    member,
    thread_channel,
    user,
)
from tests.discord.test_client import (
    CHANNEL,
    OWNER,
    buttons,
    command,
    make_interaction,
    make_message,
    new_thread,
    text_channel,
)
from tests.discord.test_gateway import compare_command, connect, custom_ids, disconnect, sub
from tests.loopback import free_port

#: A snowflake as long as real user ids (17-20 digits), which escape_mentions rewrites.
SNOWFLAKE = "123456789012345678"
LINK = "[free nitro](https://evil.example)"
THREAD_PERMS = discord.Permissions(create_public_threads=True, send_messages_in_threads=True)


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        monkeypatch.setattr(Route, "BASE", fake.api_base)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
        yield fake


@pytest.fixture
def advisor(kb: KnowledgeBase) -> DiscordAdvisor:
    return DiscordAdvisor(Engine(kb, MemoryStore()))


# --------------------------------------------------------------------------- helpers

#: Discord's inline rules that matter here, tried in this order at each position (its
#: parser is simple-markdown's): a code block (``` closes at the next ``` anywhere), inline
#: code, a backslash escape of a symbol, a masked link.
_RULES = (
    ("code", re.compile(r"```(?:[a-z0-9_+\-.#]+?\n)?\n*[^\n][\s\S]*?\n*```", re.IGNORECASE)),
    ("code", re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")),
    ("escape", re.compile(r"\\[^0-9A-Za-z\s]")),
    (
        "link",
        re.compile(
            r"\[((?:\[[^\]]*\]|[^\[\]]|\](?=[^\[]*\]))*)\]\(\s*<?https?://[^\s)]*>?\s*\)",
            re.IGNORECASE,
        ),
    ),
)


def live_links(markdown: str) -> list[str]:
    """Masked links Discord would render in ``markdown``: scanned left to right the way its
    parser does, so code blocks, code spans and escaped brackets are inert."""
    found: list[str] = []
    i = 0
    while i < len(markdown):
        for kind, rule in _RULES:
            m = rule.match(markdown, i)
            if m:
                if kind == "link":
                    found.append(m.group())
                i = m.end()
                break
        else:
            i += 1
    return found


def embed_texts(embeds: list[Any]) -> list[str]:
    """Every text of ``embeds`` (dicts or ``discord.Embed``) that Discord renders as Markdown."""
    out: list[str] = []
    for e in embeds:
        d = e if isinstance(e, dict) else e.to_dict()
        out += [d.get("title", ""), d.get("description", ""), d.get("footer", {}).get("text", "")]
        out += [t for f in d.get("fields", ()) for t in (f["name"], f["value"])]
    return out


def shown(embeds: list[Any]) -> str:
    return "\n".join(embed_texts(embeds))


async def click(
    advisor: DiscordAdvisor,
    cid: str,
    *,
    channel_id: int = CHANNEL,
    ephemeral: bool = False,
    embeds: list[discord.Embed] | None = None,
    channel: Any = None,
) -> Any:
    """Press the button ``cid`` the way discord.py does: rebuild it, check, call back."""
    match = CUSTOM_ID.fullmatch(cid)
    assert match, cid
    message = SimpleNamespace(flags=SimpleNamespace(ephemeral=ephemeral), embeds=embeds or [])
    interaction = make_interaction(advisor, message=message, channel=channel, channel_id=channel_id)
    button = await FlowButton.from_custom_id(interaction, discord.ui.Button(custom_id=cid), match)
    if await button.interaction_check(interaction):
        await button.callback(interaction)
    return interaction


def last_message(interaction: Any) -> dict[str, Any]:
    """The keyword arguments of the last message an interaction sent or edited."""
    if interaction.followup.send.await_args_list:
        return dict(interaction.followup.send.await_args.kwargs)
    [(_, kw)] = interaction.response.calls
    return kw


def ids(kw: dict[str, Any]) -> list[str]:
    view = kw.get("view")
    return [b.item.custom_id for b in buttons(view)] if view else []


async def walk_to_recommendation(
    advisor: DiscordAdvisor, first: dict[str, Any], channel_id: int, *, ephemeral: bool
) -> dict[str, Any]:
    """Press the first option of each question from the message ``first`` until the
    recommendation; returns that message's keyword arguments."""
    kw = first
    for _ in range(20):
        answer = next((i for i in ids(kw) if ":answer:" in i), None)
        if answer is None:
            return kw
        kw = last_message(await click(advisor, answer, channel_id=channel_id, ephemeral=ephemeral))
    raise AssertionError("no recommendation after 20 answers")


async def private_flow(advisor: DiscordAdvisor, description: str = "") -> dict[str, Any]:
    """/pyframework recommend where the bot may not open threads: the first question."""
    interaction = make_interaction(advisor, channel=text_channel(new_thread()))
    await command(advisor, "recommend").callback(interaction, description=description)
    return last_message(interaction)


async def thread_flow(advisor: DiscordAdvisor) -> dict[str, Any]:
    """/pyframework recommend in a channel with thread permission: the thread's question."""
    thread = new_thread()
    interaction = make_interaction(advisor, channel=text_channel(thread), perms=THREAD_PERMS)
    await command(advisor, "recommend").callback(interaction, description="")
    return dict(thread.send.await_args.kwargs)


def settings_for(api_base: str, gateway: str) -> Settings:
    return Settings.from_env(
        {
            "DISCORD_TOKEN": "t",
            "ADVISOR_DISCORD_API_BASE": api_base,
            "ADVISOR_DISCORD_GATEWAY": gateway,
            "ADVISOR_CACHE_DIR": "off",
        }
    )


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]


# --------------------------------------------------------------------------- 5. unreachable


async def test_an_unreachable_discord_api_stops_with_one_clear_line(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(Route, "BASE", Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    api = f"http://127.0.0.1:{free_port()}/api/v10"
    client = runner.build_client(
        settings_for(api, f"ws://127.0.0.1:{free_port()}/gw"), Engine(kb, MemoryStore())
    )
    with caplog.at_level(logging.INFO), pytest.raises(AdvisorError) as raised:
        await asyncio.wait_for(runner.serve(client, "t", asyncio.Event()), 30)
    assert isinstance(raised.value, PlatformUnreachable)
    message = str(raised.value)
    assert "\n" not in message and api in message
    assert not tracebacks(caplog)


async def test_a_refused_gateway_stops_with_one_clear_line(
    fake: FakeDiscord, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = f"ws://127.0.0.1:{free_port()}/gw"
    client = runner.build_client(settings_for(fake.api_base, gateway), Engine(kb, MemoryStore()))
    with caplog.at_level(logging.INFO), pytest.raises(AdvisorError) as raised:
        await asyncio.wait_for(runner.serve(client, "t", asyncio.Event()), 30)
    assert isinstance(raised.value, PlatformUnreachable)
    message = str(raised.value)
    assert "\n" not in message and "gateway" in message and "127.0.0.1" in message
    assert not tracebacks(caplog)


async def test_a_gateway_refusing_the_token_is_a_configuration_error(
    fake: FakeDiscord, kb: KnowledgeBase
) -> None:
    """Gateway close code 4004 (authentication failed) names DISCORD_TOKEN (exit 2)."""
    fake.identify_close = 4004
    settings = settings_for(fake.api_base, fake.gateway_url)
    client = runner.build_client(settings, Engine(kb, MemoryStore()))
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        await asyncio.wait_for(runner.serve(client, "t", asyncio.Event()), 30)


def test_advisor_discord_without_network_exits_3_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("SLACK_", "DISCORD_", "ADVISOR_")):
            monkeypatch.delenv(name)
    monkeypatch.setattr(Route, "BASE", Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("ADVISOR_DISCORD_API_BASE", f"http://127.0.0.1:{free_port()}/api/v10")
    monkeypatch.setenv("ADVISOR_CACHE_DIR", "off")
    monkeypatch.setenv("ADVISOR_STORE", "memory")
    monkeypatch.setenv("ADVISOR_OPS_PORT", "off")
    err = io.StringIO()
    code = main(["discord"], stdout=io.StringIO(), stderr=err)
    assert code == 3 and "Traceback" not in err.getvalue()
    assert err.getvalue().strip().splitlines()[-1].startswith("advisor:")


def without_custom_id(payload: dict[str, Any]) -> dict[str, Any]:
    return payload | {"type": 3, "data": {"component_type": 2}}


def garbage_id(payload: dict[str, Any]) -> dict[str, Any]:
    return payload | {"id": "not-a-snowflake"}


@pytest.mark.parametrize("spoil", [without_custom_id, garbage_id])
async def test_an_unreadable_gateway_event_is_skipped_and_the_next_one_answered(
    fake: FakeDiscord,
    kb: KnowledgeBase,
    caplog: pytest.LogCaptureFixture,
    spoil: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        with caplog.at_level(logging.INFO):
            bad = spoil(fake.interaction(2, compare_command("flask", "django")))
            await fake.dispatch("INTERACTION_CREATE", bad)
            good = fake.interaction(2, compare_command("flask", "pyramid"))
            await fake.dispatch("INTERACTION_CREATE", good)
            [call] = await fake.wait_for("POST", "interactions/")
        assert call.path.startswith(f"interactions/{good['id']}/")
        assert "Pyramid" in call.body["data"]["embeds"][0]["title"]
        skipped = [r for r in caplog.records if "INTERACTION_CREATE" in r.getMessage()]
        assert skipped and all(r.levelno == logging.WARNING for r in skipped)
        assert not tracebacks(caplog)
    finally:
        await disconnect(client, task)


# --------------------------------------------------------------------------- 13. inert Markdown


def test_quoted_markdown_is_inert_in_title_description_fields_and_notices() -> None:
    reply = Reply(
        intent="recommend",
        title=f"From {LINK}",
        paragraphs=(f"Start a new one from “{LINK}”, or keep the current one?",),
        notices=(f"You wrote {LINK}.",),
        fields=(Field(name=LINK, value=f"said: {LINK}"),),
        quoted=(LINK,),
    )
    texts = [t for out in render(reply) for t in embed_texts(out.embeds)]
    assert not [t for t in texts if live_links(t)]
    assert sum(t.count("free nitro") for t in texts) == 5, "the words are still shown"


@pytest.mark.parametrize("shift", range(8))
def test_a_quote_longer_than_one_description_stays_inert_when_split(shift: int) -> None:
    """A cut between a backslash and the bracket it escapes would make the link live again."""
    said = "a" * shift + "[[x](https://evil.example)" * 300
    reply = Reply(intent="recommend", paragraphs=(said,), quoted=(said,))
    descriptions = [e["description"] for out in render(reply) for e in out.embeds]
    assert len(descriptions) > 1 and all(len(d) <= 4096 for d in descriptions)
    assert not [d for d in descriptions if live_links(d)]


async def test_a_new_request_quoting_a_link_is_inert(advisor: DiscordAdvisor) -> None:
    """A second /pyframework recommend while a private flow has answers asks "Start a new
    selection?" and quotes the description: that quote must not be a live link."""
    first = await private_flow(advisor)
    answer = next(i for i in ids(first) if ":answer:" in i)
    await click(advisor, answer, ephemeral=True)
    interaction = make_interaction(advisor, channel=text_channel(new_thread()))
    await command(advisor, "recommend").callback(interaction, description=LINK)
    embeds = last_message(interaction)["embeds"]
    assert "Start a new selection?" in shown(embeds) and "free nitro" in shown(embeds)
    assert not live_links(shown(embeds))


async def test_the_exported_decision_record_keeps_the_description_in_a_code_span(
    advisor: DiscordAdvisor,
) -> None:
    first = await private_flow(advisor, description=LINK)
    done = await walk_to_recommendation(advisor, first, CHANNEL, ephemeral=True)
    export = next(i for i in ids(done) if ":cmd:export" in i)
    embeds = last_message(await click(advisor, export, ephemeral=True))["embeds"]
    record = shown(embeds)
    assert "Decision record" in record and "free nitro" in record
    assert f"`recommend {LINK}`" in record and not live_links(record)


_PIECES = st.sampled_from(
    ["[", "]", "(", ")", "](https://evil.example)", LINK, "\\", "`", "*", "_", " ", "nitro", "<"]
)
_MARKDOWNISH = st.lists(_PIECES | st.text(max_size=3), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(said=_MARKDOWNISH)
def test_any_quoted_words_render_without_a_live_masked_link(said: str) -> None:
    reply = Reply(
        intent="recommend",
        title="Start a new selection?",
        paragraphs=(f"Start a new one from “{said}”, or keep the current one?",),
        notices=(f'"{said}" is not a framework I know.',),
        quoted=(said,),
    )
    for out in render(reply):
        for text in embed_texts(out.embeds):
            assert not live_links(text), text


@settings(max_examples=60, deadline=None)
@given(ticks=st.integers(min_value=0, max_value=1500), said=_MARKDOWNISH)
def test_any_description_in_a_decision_record_renders_without_a_live_masked_link(
    ticks: int, said: str
) -> None:
    """Even a description long and full of backticks (a code span longer than one embed
    description) never turns into a live link when the record is split."""
    description = "`" * ticks + said + "`" * ticks
    record = f"# Decision record\n\n## Question\n\n> {code_span(description)}\n\n## Answers\n"
    reply = Reply(
        intent="recommend",
        title="Decision record (Markdown)",
        paragraphs=(record,),
        markdown=record,
    )
    for out in render(reply):
        for text in embed_texts(out.embeds):
            assert not live_links(text), text[:200]


# --------------------------------------------------------------------------- 14/15. share


def with_button(body: dict[str, Any], cid: str) -> dict[str, Any]:
    """``body`` of a message with one button ``cid`` (discord.py finds pressed items there)."""
    button = {"type": 2, "style": 2, "label": "Share to channel", "custom_id": cid}
    return body | {"components": [{"type": 1, "components": [button]}]}


async def press_through(
    fake: FakeDiscord,
    cid: str,
    *,
    user_id: str = USER_ID,
    channel: dict[str, Any] | None = None,
    message: dict[str, Any],
) -> None:
    await fake.dispatch(
        "INTERACTION_CREATE",
        fake.interaction(
            3,
            {"custom_id": cid, "component_type": 2},
            user_id=user_id,
            channel=channel,
            message=message,
        ),
    )


async def test_share_pressed_in_a_thread_posts_to_the_threads_parent_channel(
    fake: FakeDiscord, kb: KnowledgeBase
) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        thread = thread_channel("8800")
        cid = f"pf:{USER_ID}:share"
        recommendation = {"embeds": [{"type": "rich", "title": "My recommendation"}]}
        message = fake.message(with_button(recommendation, cid), "8800")
        await press_through(fake, cid, channel=thread, message=message)
        [post] = await fake.wait_for("POST", f"channels/{CHANNEL_ID}/messages")
        assert post.body["embeds"][0]["title"] == "My recommendation"
        assert not fake.of("POST", "channels/8800/messages"), "nothing posted in the thread"
        [done] = await fake.wait_for("POST", "webhooks/")
        assert f"<#{CHANNEL_ID}>" in done.body["content"] and done.body["flags"] & 64
    finally:
        await disconnect(client, task)


async def test_shared_by_is_a_plain_mention_that_pings_nobody(
    fake: FakeDiscord, kb: KnowledgeBase
) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        cid = f"pf:{SNOWFLAKE}:share"
        answer = {"embeds": [{"type": "rich", "title": "Flask vs Django"}], "flags": 64}
        message = fake.message(with_button(answer, cid), CHANNEL_ID)
        await press_through(fake, cid, user_id=SNOWFLAKE, message=message)
        [post] = await fake.wait_for("POST", f"channels/{CHANNEL_ID}/messages")
        assert post.body["content"] == f"Shared by <@{SNOWFLAKE}>"
        assert post.body["allowed_mentions"] == {"parse": []}
    finally:
        await disconnect(client, task)


async def test_a_private_flows_recommendation_can_be_shared_publicly(
    advisor: DiscordAdvisor,
) -> None:
    first = await private_flow(advisor)
    done = await walk_to_recommendation(advisor, first, CHANNEL, ephemeral=True)
    share = [i for i in ids(done) if i.endswith(":share")]
    assert share, "the private recommendation has a Share button"
    channel = MagicMock(spec=discord.TextChannel)
    channel.send = AsyncMock()
    channel.mention = f"<#{CHANNEL}>"
    await click(advisor, share[0], ephemeral=True, embeds=done["embeds"], channel=channel)
    kw = channel.send.await_args.kwargs
    assert kw["content"] == f"Shared by <@{OWNER}>"
    assert kw["embeds"][0].title == done["embeds"][0].title


# --------------------------------------------------------------------------- 16. autocomplete


def typing_in(command_name: str) -> dict[str, Any]:
    return sub(command_name, {"name": "first", "type": 3, "value": "fl", "focused": True})


async def test_autocomplete_of_a_stale_command_gets_empty_choices_and_a_warning(
    fake: FakeDiscord, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        with caplog.at_level(logging.INFO):
            await fake.dispatch("INTERACTION_CREATE", fake.interaction(4, typing_in("versus")))
            [call] = await fake.wait_for("POST", "interactions/")
        assert call.body == {"type": 8, "data": {"choices": []}}
        assert any(r.levelno == logging.WARNING for r in caplog.records)
        assert not tracebacks(caplog)
    finally:
        await disconnect(client, task)


async def test_autocomplete_that_fails_gets_empty_choices(
    fake: FakeDiscord, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(kb, MemoryStore())
    client, task = await connect(fake, engine)

    def broken(current: str) -> Any:
        raise RuntimeError("matcher down")

    monkeypatch.setattr(client.advisor, "framework_choices", broken)
    try:
        await fake.dispatch("INTERACTION_CREATE", fake.interaction(4, typing_in("compare")))
        [call] = await fake.wait_for("POST", "interactions/")
        assert call.body == {"type": 8, "data": {"choices": []}}
    finally:
        await disconnect(client, task)


async def test_a_stale_command_is_a_warning_not_an_incident(
    fake: FakeDiscord, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        with caplog.at_level(logging.INFO):
            await fake.dispatch("INTERACTION_CREATE", fake.interaction(2, sub("versus")))
            [call] = await fake.wait_for("POST", "interactions/")
        assert call.body["type"] == 4 and call.body["data"]["flags"] & 64
        assert "incident" not in call.body["data"]["content"]
        assert any(r.levelno == logging.WARNING for r in caplog.records)
        assert not tracebacks(caplog)
    finally:
        await disconnect(client, task)


# --------------------------------------------------------------------------- 17. threads


async def test_no_permission_to_create_a_thread_falls_back_to_a_private_flow(
    fake: FakeDiscord, kb: KnowledgeBase
) -> None:
    fake.refuse("POST", rf"channels/{CHANNEL_ID}/threads", status=403, code=50013)
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        await fake.dispatch("INTERACTION_CREATE", fake.interaction(2, sub("recommend")))
        [followup] = await fake.wait_for("POST", "webhooks/")
        assert followup.body["flags"] & 64, "private"
        text = json.dumps(followup.body["embeds"])
        assert NO_THREAD in text and "Question 1 of" in text
        assert any(":answer:" in c for c in custom_ids(followup.body))
    finally:
        await disconnect(client, task)


async def test_a_thread_that_cannot_be_posted_in_is_deleted_and_the_flow_runs_privately(
    fake: FakeDiscord, kb: KnowledgeBase
) -> None:
    fake.refuse("POST", rf"channels/(?!{CHANNEL_ID}/)\d+/messages", status=403, code=50001)
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        await fake.dispatch("INTERACTION_CREATE", fake.interaction(2, sub("recommend")))
        [followup] = await fake.wait_for("POST", "webhooks/")
        thread = fake.threads[-1]["id"]
        assert fake.of("DELETE", f"channels/{thread}"), "the empty thread is removed"
        assert followup.body["flags"] & 64
        text = json.dumps(followup.body["embeds"])
        assert NO_THREAD in text and "Question 1 of" in text
    finally:
        await disconnect(client, task)


# --------------------------------------------------------------------------- 18. stale presses


async def restarted(advisor: DiscordAdvisor) -> tuple[list[str], Any]:
    """A thread flow to its recommendation, then Restart pressed on it: (the recommendation's
    button ids, the Restart press)."""
    done = await walk_to_recommendation(advisor, await thread_flow(advisor), 9999, ephemeral=False)
    restart = next(i for i in ids(done) if ":cmd:restart" in i)
    return ids(done), await click(advisor, restart, channel_id=9999)


async def test_restart_takes_the_flow_buttons_off_the_old_recommendation(
    advisor: DiscordAdvisor,
) -> None:
    _, pressed = await restarted(advisor)
    [(kind, kw)] = pressed.response.calls
    assert kind == "edit" and not [i for i in ids(kw) if ":cmd:" in i], "old buttons removed"
    assert "Question 1 of" in shown(last_message(pressed)["embeds"])


async def test_an_old_recommendations_export_does_not_act_on_the_restarted_flow(
    advisor: DiscordAdvisor,
) -> None:
    old, pressed = await restarted(advisor)
    export = next(i for i in old if ":cmd:export" in i)
    again = shown(last_message(await click(advisor, export, channel_id=9999))["embeds"])
    assert OLD_BUTTON_TEXT in again and "didn't catch" not in again
    first = next(i for i in ids(last_message(pressed)) if ":answer:" in i)
    after = last_message(await click(advisor, first, channel_id=9999))
    assert "Question 2 of" in shown(after["embeds"]), "the new flow was not touched"


async def test_a_mention_in_the_channel_does_not_reask_a_private_flows_question(
    advisor: DiscordAdvisor,
) -> None:
    first = await private_flow(advisor)
    assert "Question 1 of" in shown(first["embeds"])
    me = SimpleNamespace(id=42)
    mention = make_message("<@42> what's sanic?", mentions=[me])
    await advisor.on_message(mention, me)  # type: ignore[arg-type]
    public = shown(mention.reply.await_args.kwargs["embeds"])
    assert "Sanic" in public and "Question" not in public
    answer = next(i for i in ids(first) if ":answer:" in i)
    after = last_message(await click(advisor, answer, ephemeral=True))
    assert "Question 2 of" in shown(after["embeds"])


# --------------------------------------------------------------------------- 19. ignored messages


async def test_a_mention_together_with_everyone_is_answered(
    fake: FakeDiscord, kb: KnowledgeBase
) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        body = {"content": f"@everyone <@{BOT_ID}> flask vs django?"}
        message = fake.message(body, CHANNEL_ID, author=user()) | {
            "mentions": [BOT],
            "mention_everyone": True,
            "member": member(),
        }
        await fake.dispatch("MESSAGE_CREATE", message)
        [reply] = await fake.wait_for("POST", f"channels/{CHANNEL_ID}/messages")
        assert "Flask" in reply.body["embeds"][0]["title"]
        assert reply.body["allowed_mentions"]["parse"] == []
    finally:
        await disconnect(client, task)


async def test_a_direct_message_is_a_conversation(fake: FakeDiscord, kb: KnowledgeBase) -> None:
    client, task = await connect(fake, Engine(kb, MemoryStore()))
    try:
        for n, text in enumerate(["help me pick", "2"], 1):
            dm = fake.message({"content": text}, "6600", author=user())
            del dm["guild_id"]
            await fake.dispatch("MESSAGE_CREATE", dm)
            await fake.wait_for("POST", "channels/6600/messages", n)
        first, second = (c.body for c in fake.of("POST", "channels/6600/messages"))
        assert "Question 1 of" in json.dumps(first["embeds"])
        assert "Question 2 of" in json.dumps(second["embeds"])
    finally:
        await disconnect(client, task)
