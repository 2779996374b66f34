"""The person's own words never come back as live links, mentions or formatting (``verbatim``
mrkdwn, code spans), and the Markdown decision record is rendered as native Block Kit
(header, sections, fields) instead of raw ``#`` and ``|``. Checked with slack_sdk's block
models (https://api.slack.com/reference/block-kit/blocks).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from adapters.slack import render as r
from bot.engine import Engine, Incoming
from bot.replies import Reply
from bot.sessions import ConversationKey
from tests.slack.fake_slack import Call
from tests.slack.harness import USER, Harness

LINKISH = "djangoo.com"
DESCRIPTION = (
    "help me pick: a site like djangoo.com (see https://evil.example/x) with *bold* | pipes, "
    "large website, admin built in, synchronous, strong python, team knows asyncio, "
    "community, monolith"
)
_flows = itertools.count(1)
#: Block Kit's section-field limits (slack_sdk checks the count, not the length).
FIELDS_MAX, FIELD_TEXT_MAX = 10, 2000


def parsed(blocks: list[dict[str, Any]]) -> list[Block]:
    """``blocks`` as slack_sdk models, each validated (lengths, counts) the way the SDK does."""
    assert 0 < len(blocks) <= r.BLOCKS_MAX
    out = []
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        out.append(block)
    return out


def mrkdwn_texts(blocks: list[Block]) -> Iterator[MarkdownTextObject]:
    """Every mrkdwn text object: section text and fields, context elements."""
    for block in blocks:
        if isinstance(block, SectionBlock):
            for text in [block.text, *(block.fields or [])]:
                if isinstance(text, MarkdownTextObject):
                    yield text
        elif isinstance(block, ContextBlock):
            yield from (e for e in block.elements if isinstance(e, MarkdownTextObject))


def carrying(blocks: list[Block], words: str) -> list[MarkdownTextObject]:
    """The mrkdwn texts that show ``words`` (escaped as Slack text)."""
    found = [t for t in mrkdwn_texts(blocks) if r.escape(words) in t.text]
    assert found, f"{words!r} is shown nowhere"
    return found


def all_text(blocks: list[Block]) -> str:
    """Every text a person sees in ``blocks``, one piece per line."""
    pieces = [t.text for t in mrkdwn_texts(blocks)]
    pieces += [b.text.text for b in blocks if isinstance(b, HeaderBlock)]
    return "\n".join(pieces)


def as_call(ack: dict[str, Any]) -> Call:
    return Call("response", ack)


# ---- 11: a person's text is never a live link ------------------------------------------------


async def test_a_domain_in_a_slash_question_is_verbatim_in_the_ack_and_in_share(
    slack: Harness,
) -> None:
    ack = await slack.command(f"what is {LINKISH}")
    blocks = parsed(ack["blocks"])
    for text in carrying(blocks, LINKISH):
        assert text.verbatim is True, text.text
        assert f"`{LINKISH}`" in text.text, "the person's word is shown as code"

    assert await slack.press(as_call(ack), "Share to channel") == 200
    [shared] = slack.fake.of("chat.postMessage")
    blocks = parsed(shared.params["blocks"])
    for text in carrying(blocks, LINKISH):
        assert text.verbatim is True, text.text


def test_every_mrkdwn_text_the_renderer_makes_is_verbatim(engine: Engine) -> None:
    """All of the core's text is plain, so nothing it says is ever auto-linked; deliberate
    links and mentions are written out (``<url|label>``, ``<@U…>``)."""
    replies = [*engine.answer_once(f"what is {LINKISH}"), *engine.answer_once("flask vs django")]
    for reply in replies:
        for message in r.render(reply, byline=f"Shared by <@{USER}>"):
            for text in mrkdwn_texts(parsed(message["blocks"])):
                assert text.verbatim is True, text.text
    home = r.home_view(replies[0], f"1. {LINKISH}")
    for text in mrkdwn_texts(parsed(home["blocks"])):
        assert text.verbatim is True, text.text


def test_a_shared_copy_is_verbatim_even_when_slack_echoes_blocks_without_the_flag() -> None:
    echoed = [
        {"type": "header", "text": {"type": "plain_text", "text": "Start a new selection?"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"from “{LINKISH}”"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": LINKISH}]},
        {"type": "actions", "elements": []},
    ]
    blocks = parsed(r.shared_copy(echoed, f"Shared by <@{USER}>"))
    for text in carrying(blocks, LINKISH):
        assert text.verbatim is True, text.text


def test_quoted_words_become_code_spans_and_stay_inert() -> None:
    reply = Reply(
        intent="unknown",
        title="I'm not sure what you mean",
        paragraphs=(f'"{LINKISH}" is not a framework I know. Did you mean Django?',),
        notices=("*bold* <!here> is what you typed",),
        quoted=(LINKISH, "*bold* <!here>"),
    )
    [message] = r.render(reply)
    blocks = parsed(message["blocks"])
    [paragraph] = carrying(blocks, LINKISH)
    assert paragraph.text.startswith(f"`{LINKISH}` is not a framework I know")
    [notice] = carrying(blocks, "*bold* <!here>")
    assert "`*bold* &lt;!here&gt;`" in notice.text and "<!here>" not in notice.text


# ---- 11 and 12: the decision record ----------------------------------------------------------


async def record_reply(engine: Engine, description: str = DESCRIPTION) -> Reply:
    """The decision record after a flow that ``description`` answers in full (a conversation
    of its own, so the shared engine has no flow running there yet)."""
    key = ConversationKey(platform="slack", workspace=f"T{next(_flows)}", user=USER)
    replies = await engine.handle(Incoming(key=key, text=description))
    assert replies[-1].kind == "recommendation", [x.title for x in replies]
    [record] = await engine.handle(Incoming(key=key, action="cmd:export"))
    assert record.markdown.startswith("# Decision record")
    return record


def assert_native(messages: list[dict[str, Any]]) -> list[Block]:
    """Every message within Block Kit's limits and free of Markdown syntax; all blocks."""
    blocks: list[Block] = []
    for message in messages:
        assert message["text"].strip()
        some = parsed(message["blocks"])
        for block in some:
            if isinstance(block, SectionBlock):
                assert block.text is not None and len(block.text.text) <= r.SECTION_TEXT_MAX
                assert len(block.fields or []) <= FIELDS_MAX
                assert all(len(f.text) <= FIELD_TEXT_MAX for f in block.fields or [])
        blocks += some
        for line in [message["text"], *all_text(some).splitlines()]:
            for piece in line.splitlines():
                assert not piece.lstrip().startswith("#"), piece
                assert not piece.lstrip().startswith("|"), piece
        assert "|---" not in all_text(some) and "**" not in all_text(some)
    return blocks


async def test_the_decision_record_renders_as_native_blocks(engine: Engine) -> None:
    record = await record_reply(engine)
    blocks = assert_native(r.render(record, extra_buttons=[("Share to channel", "share")]))
    headers = [b.text.text for b in blocks if isinstance(b, HeaderBlock)]
    assert headers[0] == "Decision record: choosing a Python web framework"
    answers = [b for b in blocks if isinstance(b, SectionBlock) and b.fields]
    assert answers, "the answers table is shown as fields"
    fields = "\n".join(f.text for b in answers for f in b.fields)
    assert "*What are you building?*" in fields and "A website with pages and forms" in fields
    text = all_text(blocks)
    assert "1. *Django*" in text, "ranking names in Slack bold"
    assert "<https://docs.litestar.dev/|docs.litestar.dev>" in text, "source links written out"


async def test_the_description_in_the_decision_record_is_inert(engine: Engine) -> None:
    record = await record_reply(engine)
    blocks = assert_native(r.render(record))
    [question] = carrying(blocks, LINKISH)
    assert question.verbatim is True
    assert "<https://evil" not in question.text and "<http" not in question.text
    shown = re.search(r"`([^`]*djangoo\.com[^`]*)`", question.text)
    assert shown, "the description sits in a code span (no formatting, no links)"
    assert "*bold* | pipes" in shown.group(1)


async def test_a_shared_decision_record_stays_native_and_verbatim(slack: Harness) -> None:
    await slack.command(f"recommend {DESCRIPTION.removeprefix('help me pick: ')}")
    result = slack.posted()[-1]
    assert await slack.press(result, "Export decision record") == 200
    exported = slack.posted()[-1]
    assert_native([exported.params])
    assert await slack.press(exported, "Share to channel") == 200
    shared = slack.posted()[-1]
    assert not shared.params.get("thread_ts") and "Shared by" in json.dumps(shared.params)
    blocks = assert_native([shared.params])
    for text in carrying(blocks, LINKISH):
        assert text.verbatim is True, text.text


def test_a_huge_record_splits_within_block_kit_limits() -> None:
    rows = [
        f"| Question {i} {'q' * 300}? | Answer {i} {'a' * 2500} | answered |" for i in range(25)
    ]
    ranking = [
        f"{i}. **Name{i}**: 50% match (1 point)\n"
        + "\n".join(f"   - For: {'x' * 400}" for _ in range(9))
        for i in range(1, 20)
    ]
    markdown = "\n".join(
        [
            "# Decision record: " + "t" * 400,
            "",
            "- Date: 2025-01-01 00:00 UTC",
            "",
            "## Question",
            "",
            "> `" + "d" * 5000 + "`",
            "",
            "## Answers",
            "",
            "| Question | Answer | How |",
            "|---|---|---|",
            *rows,
            "",
            "## Ranking",
            "",
            *ranking,
            "",
            "## Sources",
            "",
            *(f'- [s{i}] P, "T" <https://example.org/{i}>' for i in range(200)),
        ]
    )
    reply = Reply(
        intent="recommend",
        title="Decision record (Markdown)",
        markdown=markdown,
        paragraphs=(markdown,),
    )
    messages = r.render(reply)
    assert len(messages) > 1
    blocks = assert_native(messages)
    fields = [f for b in blocks if isinstance(b, SectionBlock) for f in b.fields or []]
    assert len(fields) == 25, "every answer row is shown"
