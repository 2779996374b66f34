"""Discord rendering: every core reply within Discord's limits, splitting, defused mentions."""

from __future__ import annotations

import discord
import pytest

from adapters.discord.render import (
    BUTTONS_PER_ROW,
    CONTENT_MAX,
    EMBED_DESCRIPTION_MAX,
    EMBED_FIELDS_MAX,
    EMBED_TITLE_MAX,
    EMBEDS_PER_MESSAGE,
    EMBEDS_TOTAL_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FOOTER_TEXT_MAX,
    LABEL_MAX,
    ROWS_MAX,
    Button,
    Outgoing,
    embed_size,
    plain,
    render,
)
from bot.engine import Engine
from bot.replies import Choice, Field, Reply, SourceRef, Table


def valid(message: Outgoing) -> list[str]:
    """What Discord would reject in ``message``."""
    problems = []
    if len(message.content) > CONTENT_MAX:
        problems.append("content")
    if len(message.embeds) > EMBEDS_PER_MESSAGE:
        problems.append("embeds")
    if sum(embed_size(e) for e in message.embeds) > EMBEDS_TOTAL_MAX:
        problems.append("total")
    for e in message.embeds:
        if len(e.get("title", "")) > EMBED_TITLE_MAX:
            problems.append("title")
        if len(e.get("description", "")) > EMBED_DESCRIPTION_MAX:
            problems.append("description")
        if len(e.get("footer", {}).get("text", "")) > FOOTER_TEXT_MAX:
            problems.append("footer")
        fields = e.get("fields", [])
        if len(fields) > EMBED_FIELDS_MAX:
            problems.append("fields")
        for f in fields:
            if (
                not 0 < len(f["name"]) <= FIELD_NAME_MAX
                or not 0 < len(f["value"]) <= FIELD_VALUE_MAX
            ):
                problems.append("field")
        if not (e.get("title") or e.get("description") or fields):
            problems.append("empty embed")
        discord.Embed.from_dict(e)  # discord.py can build it
    if len(message.buttons) > ROWS_MAX * BUTTONS_PER_ROW:
        problems.append("buttons")
    if any(len(b.label) > LABEL_MAX for b in message.buttons):
        problems.append("label")
    return problems


QUESTIONS = [
    "help",
    "flask vs pyramid",
    "django vs flask vs fastapi vs tornado",
    "about sanic",
    "what event loop does sanic use",
    "which is best for websockets",
    "list microframeworks",
    "rails vs flask",
    "flsk",
    "x" * 5000,
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_one_shot_reply_fits(engine: Engine, question: str) -> None:
    for reply in engine.answer_once(question):
        messages = render(reply, extra_buttons=[Button("Share to channel", "share")])
        assert all(valid(m) == [] for m in messages), question
        assert messages[-1].buttons[-1].value == "share"


def test_a_reply_beyond_every_limit_splits_into_valid_messages() -> None:
    huge = Reply(
        intent="about",
        title="T" * 400,
        notices=("n" * 5000,),
        table=Table(columns=("a", "b"), rows=tuple((str(i), "x" * 90) for i in range(200))),
        paragraphs=tuple("word " * 1500 for _ in range(12)),
        fields=tuple(Field(name="n" * 300, value="v" * 2000) for _ in range(80)),
        code="print(1)\n" * 2000,
        choices=tuple(Choice(label="L" * 100, value=f"answer:q:{i}") for i in range(40)),
        sources=tuple(SourceRef(id=f"s{i}", title="t" * 200, publisher="p") for i in range(30)),
    )
    messages = render(huge)
    assert len(messages) > 3
    assert all(valid(m) == [] for m in messages)
    assert sum(embed_size(e) for m in messages for e in m.embeds) > 6 * EMBEDS_TOTAL_MAX
    assert len(messages[-1].buttons) == 25 and all(not m.buttons for m in messages[:-1])
    shown = [f for m in messages for e in m.embeds for f in e.get("fields", [])]
    assert len(shown) == 80, "no field is lost"


def test_mentions_are_defused() -> None:
    reply = Reply(
        intent="unknown",
        title="@everyone",
        paragraphs=("ping @here and <@123456789012345678> and <@&42>",),
        fields=(Field(name="@everyone", value="@here"),),
    )
    [message] = render(reply)
    text = str(message.embeds)
    assert "@everyone" not in text.replace("@\u200beveryone", "")
    assert "@here" not in text.replace("@\u200bhere", "")
    assert "<@123456789012345678>" not in text
    assert "@everyone" not in plain("hi @everyone").replace("@\u200beveryone", "")


def test_flow_question_has_its_options_as_buttons(engine: Engine) -> None:
    replies = engine.answer_once("help")
    [message] = render(replies[0])
    assert [b.value for b in message.buttons] == [c.value for c in replies[0].choices]
