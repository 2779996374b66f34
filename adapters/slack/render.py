"""Render core replies as Slack Block Kit messages that Slack always accepts.

Slack's limits are named constants here and enforced by splitting (more messages) or
truncating (one over-long text), never by sending an invalid payload. Every message carries a
plain-text fallback ``text``. All text from the core is escaped (``&``, ``<``, ``>``), so a
``<!channel>`` or ``<@U123>`` a person typed can never come back as a live mention.
Limits: https://api.slack.com/reference/block-kit/blocks
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.text import chunks, truncate
from bot.replies import Reply, render_table, render_text

#: Characters in one section block's text.
SECTION_TEXT_MAX = 3000
#: Characters in a header block's plain text.
HEADER_TEXT_MAX = 150
#: Characters in a button's label.
BUTTON_TEXT_MAX = 75
#: Characters in a button's value.
BUTTON_VALUE_MAX = 2000
#: Characters in an action_id.
ACTION_ID_MAX = 255
#: Characters in a block_id.
BLOCK_ID_MAX = 255
#: Elements in one actions block.
ACTIONS_PER_BLOCK = 25
#: Elements in one context block.
CONTEXT_ELEMENTS_MAX = 10
#: Blocks in one message.
BLOCKS_MAX = 50
#: Characters of block text we put in one message (Slack rejects much beyond this).
MESSAGE_TEXT_MAX = 12000
#: Characters of the fallback ``text`` we send (notifications show the start of it).
FALLBACK_TEXT_MAX = 3000
#: Blocks in a Home tab view.
VIEW_BLOCKS_MAX = 100
#: Prefix of every action_id this app renders, so handlers can match them with one regex.
ACTION_PREFIX = "advisor"

Block = dict[str, Any]


def escape(text: str) -> str:
    """Escape Slack's control characters: ``&`` ``<`` ``>`` become ``&amp;`` ``&lt;`` ``&gt;``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> list[Block]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in chunks(text, SECTION_TEXT_MAX)
        if piece.strip()
    ]


def _code(text: str) -> list[Block]:
    fence = 8  # two ``` fences and their newlines
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```\n{piece}\n```"}}
        for piece in chunks(escape(text), SECTION_TEXT_MAX - fence)
        if piece.strip()
    ]


def owner_block_id(owner: str, index: int) -> str:
    """The block_id of a flow's ``index``-th button row, naming the person whose flow it is."""
    return f"{ACTION_PREFIX}:{owner}:{index}"[:BLOCK_ID_MAX]


def _buttons(reply: Reply, extra: Iterable[tuple[str, str]], owner: str) -> list[Block]:
    buttons = []
    pairs = [(c.label, c.value, c.primary) for c in reply.choices]
    pairs += [(label, value, False) for label, value in extra]
    for i, (label, value, primary) in enumerate(pairs):
        button: Block = {
            "type": "button",
            "text": {"type": "plain_text", "text": truncate(label, BUTTON_TEXT_MAX)},
            "value": value[:BUTTON_VALUE_MAX],
            "action_id": f"{ACTION_PREFIX}:{i}"[:ACTION_ID_MAX],
        }
        if primary:
            button["style"] = "primary"
        buttons.append(button)
    rows: list[Block] = []
    for n, i in enumerate(range(0, len(buttons), ACTIONS_PER_BLOCK)):
        row: Block = {"type": "actions", "elements": buttons[i : i + ACTIONS_PER_BLOCK]}
        if owner:
            row["block_id"] = owner_block_id(owner, n)
        rows.append(row)
    return rows


def blocks_for(
    reply: Reply,
    *,
    extra_buttons: Iterable[tuple[str, str]] = (),
    owner: str = "",
    byline: str = "",
) -> list[Block]:
    """All blocks for ``reply`` before splitting: header, byline, notices, table, text, code,
    buttons, sources.

    Args:
        extra_buttons: (label, value) pairs the adapter adds, e.g. Share.
        owner: a user id; button rows get a block_id naming them (see :func:`owner_block_id`).
        byline: trusted mrkdwn (not escaped) shown under the title, e.g. "Shared by <@U1>".
    """
    blocks: list[Block] = []
    if reply.title:
        blocks.append(
            {
                "type": "header",
                "text": {"type": "plain_text", "text": truncate(reply.title, HEADER_TEXT_MAX)},
            }
        )
    if byline:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": byline[:SECTION_TEXT_MAX]}]}
        )
    for notice in reply.notices:
        blocks += _section(f":information_source: {escape(notice)}")
    if reply.table is not None:
        blocks += _code(render_table(reply.table))
    for paragraph in reply.paragraphs:
        blocks += _section(escape(paragraph))
    for f in reply.fields:
        blocks += _section(f"*{escape(f.name)}*\n{escape(f.value)}")
    if reply.code:
        if reply.code_title:
            blocks += _section(f"*{escape(reply.code_title)}*")
        blocks += _code(reply.code)
    blocks += _buttons(reply, extra_buttons, owner)
    if reply.sources:
        elements = [
            {"type": "mrkdwn", "text": truncate(escape(f"[{s.id}] {s.label()}"), SECTION_TEXT_MAX)}
            for s in reply.sources
        ]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Sources:"}]})
        for i in range(0, len(elements), CONTEXT_ELEMENTS_MAX):
            blocks.append({"type": "context", "elements": elements[i : i + CONTEXT_ELEMENTS_MAX]})
    return blocks


def _block_chars(block: Block) -> int:
    if "text" in block:
        return len(block["text"]["text"])
    return sum(
        len(e["text"]["text"] if isinstance(e.get("text"), dict) else e.get("text", ""))
        for e in block.get("elements", ())
    )


def render(
    reply: Reply,
    *,
    extra_buttons: Iterable[tuple[str, str]] = (),
    owner: str = "",
    byline: str = "",
) -> list[dict[str, Any]]:
    """Render ``reply`` as one or more message payloads ``{"text": ..., "blocks": [...]}``.

    Each payload has at most :data:`BLOCKS_MAX` blocks and :data:`MESSAGE_TEXT_MAX` characters
    of block text; the first carries the fallback text of the whole reply, later ones say
    "(continued)". Arguments as for :func:`blocks_for`.
    """
    messages: list[list[Block]] = [[]]
    size = 0
    for block in blocks_for(reply, extra_buttons=extra_buttons, owner=owner, byline=byline):
        chars = _block_chars(block)
        if messages[-1] and (len(messages[-1]) >= BLOCKS_MAX or size + chars > MESSAGE_TEXT_MAX):
            messages.append([])
            size = 0
        messages[-1].append(block)
        size += chars
    fallback = truncate(escape(render_text(reply, numbered_choices=False)), FALLBACK_TEXT_MAX)
    return [
        {
            "text": fallback if i == 0 else f"{truncate(escape(reply.title), 100)} (continued)",
            "blocks": blocks,
        }
        for i, blocks in enumerate(messages)
    ]


def shared_copy(blocks: Iterable[Block], byline: str) -> list[Block]:
    """A message's blocks re-posted for the channel: buttons dropped, ``byline`` (trusted
    mrkdwn) added under the header. Never longer than the original when it had buttons."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    at = 1 if kept and kept[0].get("type") == "header" else 0
    kept.insert(at, {"type": "context", "elements": [{"type": "mrkdwn", "text": byline}]})
    return kept[:BLOCKS_MAX]


def apology(incident: str) -> dict[str, Any]:
    """The message shown when handling failed: short, with the incident id, no details."""
    text = (
        f"Sorry, something went wrong on my side (incident `{escape(incident)}`). Please try "
        "again; if it keeps happening, give that id to whoever runs me."
    )
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def home_view(usage: Reply, last: str) -> dict[str, Any]:
    """The App Home tab: ``usage`` rendered without buttons, then ``last`` (plain text, escaped
    here) about the person's last recommendation. At most :data:`VIEW_BLOCKS_MAX` blocks."""
    blocks = [b for b in blocks_for(usage) if b["type"] != "actions"]
    blocks.append({"type": "divider"})
    blocks.append(
        {"type": "header", "text": {"type": "plain_text", "text": "Your last recommendation"}}
    )
    blocks += _section(escape(last))
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS_MAX]}
