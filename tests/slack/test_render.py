"""Block Kit rendering: every reply type fits Slack's limits, long replies split, text escaped."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack import render as r
from bot.engine import Engine, Incoming
from bot.replies import Choice, Reply, Table
from bot.sessions import ConversationKey, MemoryStore


def assert_valid(message: dict[str, Any]) -> None:
    """Check one payload against the Block Kit limits the renderer promises."""
    assert message["text"].strip() and len(message["text"]) <= r.FALLBACK_TEXT_MAX
    blocks = message["blocks"]
    assert 0 < len(blocks) <= r.BLOCKS_MAX
    total = 0
    action_ids: set[str] = set()
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            assert len(block["text"]["text"]) <= r.HEADER_TEXT_MAX
        elif kind == "section":
            assert 0 < len(block["text"]["text"]) <= r.SECTION_TEXT_MAX
            total += len(block["text"]["text"])
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= r.ACTIONS_PER_BLOCK
            for button in block["elements"]:
                assert len(button["text"]["text"]) <= r.BUTTON_TEXT_MAX
                assert len(button["value"]) <= r.BUTTON_VALUE_MAX
                assert len(button["action_id"]) <= r.ACTION_ID_MAX
                assert button["action_id"] not in action_ids
                action_ids.add(button["action_id"])
        elif kind == "context":
            assert 0 < len(block["elements"]) <= r.CONTEXT_ELEMENTS_MAX
        else:
            raise AssertionError(f"unexpected block type {kind}")
    assert total <= r.MESSAGE_TEXT_MAX


QUESTIONS = [
    "help",
    "flask vs pyramid vs django vs bottle",
    "what event loop does sanic use",
    "list microframeworks",
    "which is best for websockets",
    "flaks",
    "laravel",
    "x" * 5000,
    "tell me about gevent",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_every_one_shot_reply_renders_within_limits(engine: Engine, text: str) -> None:
    for reply in engine.answer_once(text):
        for message in r.render(reply, extra_buttons=[("Share to channel", "share")]):
            assert_valid(message)


async def test_flow_replies_render_within_limits(kb: Any) -> None:
    engine = Engine(kb, MemoryStore())
    key = ConversationKey(platform="slack", user="U1")
    lines = [
        "help me pick: large website, admin built in, synchronous, strong python, "
        "team knows asyncio, community, monolith",
        "what if it's real-time chat",
        "what if it's real-time chat",  # nothing changes: a notice
        "why not flask",
        "compare top two",
        "export",
        "restart",
        "why",
        "nonsense",
    ]
    seen = set()
    for line in lines:
        for reply in await engine.handle(Incoming(key=key, text=line)):
            seen.add(reply.kind)
            for message in r.render(reply):
                assert_valid(message)
    assert {"question", "recommendation", "answer", "notice"} <= seen


def test_long_reply_splits_into_valid_messages() -> None:
    reply = Reply(
        intent="about",
        title="T" * 400,
        paragraphs=tuple(f"para {i} " + "word " * 900 for i in range(30)),
        table=Table(columns=("a", "b"), rows=tuple((str(i), "v" * 80) for i in range(100))),
        choices=tuple(Choice(label=f"choice {i} " * 20, value="v" * 3000) for i in range(60)),
    )
    messages = r.render(reply)
    assert len(messages) > 2
    for message in messages:
        assert_valid(message)
    assert messages[1]["text"].endswith("(continued)")
    assert (
        sum(len(b["elements"]) for m in messages for b in m["blocks"] if b["type"] == "actions")
        == 60
    )


def test_user_text_is_escaped_and_never_a_live_mention() -> None:
    reply = Reply(
        intent="unknown",
        title="<!channel> hi",
        paragraphs=('"<!here>" and <@U123> & <https://evil|click>',),
        notices=("<!everyone>",),
    )
    message = r.render(reply)[0]
    flat = str(message)
    for live in ("<!channel>", "<!here>", "<@U123>", "<!everyone>", "<https://evil"):
        assert live not in flat.replace("'text': '<!channel> hi'", "")
    section = next(
        b for b in message["blocks"] if b["type"] == "section" and "here" in b["text"]["text"]
    )
    assert "&lt;!here&gt;" in section["text"]["text"] and "&amp;" in section["text"]["text"]


def test_chunks_respect_the_limit_and_keep_text() -> None:
    text = "\n".join(f"line {i} " + "y" * (i * 37 % 500) for i in range(200)) + "z" * 7000
    pieces = r.chunks(text, 3000)
    assert all(len(p) <= 3000 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
