"""Render core replies as Discord messages (embeds and buttons) that Discord always accepts.

discord.py checks none of Discord's size limits, so they are named constants here and enforced
by splitting (more messages) or truncating (one over-long text). Output is plain data
(:class:`Outgoing`: embed dicts in Discord's JSON shape, and buttons) so it can be checked
without a client; the client turns it into ``discord.Embed`` and views. All text from the core
goes through ``discord.utils.escape_mentions``, so ``@everyone`` typed by someone never pings,
and the person's own words a reply repeats (``Reply.quoted``) are Markdown-escaped wherever
they appear, so they never render as a link or formatting. A Markdown document (the decision
record, ``Reply.markdown``) is shown as its source in ``md`` code blocks: nothing in it renders.
Limits: https://discord.com/developers/docs/resources/message#embed-object-embed-limits and
https://discord.com/developers/docs/interactions/message-components
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from discord.utils import escape_markdown, escape_mentions

from adapters.text import chunks, truncate
from bot.replies import Reply, render_table

#: Characters in an embed title.
EMBED_TITLE_MAX = 256
#: Characters in an embed description.
EMBED_DESCRIPTION_MAX = 4096
#: Fields in one embed.
EMBED_FIELDS_MAX = 25
#: Characters in a field name.
FIELD_NAME_MAX = 256
#: Characters in a field value.
FIELD_VALUE_MAX = 1024
#: Characters in an embed footer.
FOOTER_TEXT_MAX = 2048
#: Characters over all embeds of one message (titles, descriptions, fields, footers).
EMBEDS_TOTAL_MAX = 6000
#: Embeds in one message.
EMBEDS_PER_MESSAGE = 10
#: Characters of message content.
CONTENT_MAX = 2000
#: Action rows in one message, and buttons in one row.
ROWS_MAX = 5
BUTTONS_PER_ROW = 5
#: Characters in a component's custom_id.
CUSTOM_ID_MAX = 100
#: Characters in a button label.
LABEL_MAX = 80
#: The accent colour of the advisor's embeds (0xRRGGBB).
COLOUR = 0x3775A9

Embed = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Button:
    """A button: ``label`` (≤ :data:`LABEL_MAX`), the action ``value`` it sends back to the core
    (or ``share``), and whether it is the primary one."""

    label: str
    value: str
    primary: bool = False


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Discord message: ``content`` (≤ 2,000), ``embeds`` as Discord JSON dicts, and
    ``buttons`` (at most 25, shown 5 to a row)."""

    content: str = ""
    embeds: list[Embed] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)


def safe(text: str) -> str:
    """``text`` with @everyone, @here, user and role mentions defused."""
    return escape_mentions(text)


#: A ``[`` or ``]`` not escaped yet (after an even number of backslashes, perhaps none).
_BARE_BRACKET = re.compile(r"(?<!\\)((?:\\\\)*)([\[\]])")


def inert(text: str) -> str:
    """``text`` (a person's words) with Discord Markdown escaped: shown as typed, never a
    link, heading or formatting. ``discord.utils.escape_markdown`` escapes only the first ``[``
    of ``[a [b](https://…)``, leaving the inner masked link live, so every bracket it leaves
    bare is escaped too."""
    return _BARE_BRACKET.sub(r"\1\\\2", escape_markdown(text))


def defuse(text: str, quoted: Sequence[str] = ()) -> str:
    """``text`` with each occurrence of every ``quoted`` string made :func:`inert` (longest
    first, in one pass), then mentions defused (:func:`safe`)."""
    words = sorted({q for q in quoted if q}, key=len, reverse=True)
    if words:
        found = re.compile("|".join(re.escape(w) for w in words))
        text = found.sub(lambda m: inert(m.group()), text)
    return safe(text)


def _unsplit_escapes(text: str, limit: int) -> str:
    """``text`` with each line longer than ``limit`` characters broken into lines of at most
    ``limit``, never between a backslash and the character it escapes (a hard cut there would
    make that character live again)."""
    lines: list[str] = []
    for line in text.split("\n"):
        while len(line) > limit:
            head = line[:limit]
            cut = limit - 1 if (len(head) - len(head.rstrip("\\"))) % 2 else limit
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return "\n".join(lines)


def embed_size(embed: Embed) -> int:
    """Characters Discord counts toward :data:`EMBEDS_TOTAL_MAX` for ``embed``."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", ()))
    return size


def _code_block(text: str, limit: int, lang: str = "") -> list[str]:
    fence = len(f"```{lang}\n\n```")
    pieces = chunks(text.replace("```", "'''"), limit - fence)
    return [f"```{lang}\n{piece}\n```" for piece in pieces]


def _body(reply: Reply) -> list[str]:
    """The description text of a reply as pieces that each fit one embed description."""
    parts: list[str] = [f"ℹ️ {defuse(n, reply.quoted)}" for n in reply.notices]
    if reply.table is not None:
        parts += _code_block(render_table(reply.table), EMBED_DESCRIPTION_MAX)
    for p in reply.paragraphs:
        if reply.markdown and p == reply.markdown:
            parts += _code_block(p, EMBED_DESCRIPTION_MAX, "md")
        else:
            parts.append(_unsplit_escapes(defuse(p, reply.quoted), EMBED_DESCRIPTION_MAX))
    if reply.code:
        if reply.code_title:
            parts.append(f"**{safe(reply.code_title)}**")
        parts += _code_block(reply.code, EMBED_DESCRIPTION_MAX)
    pieces: list[str] = []
    current = ""
    for part in parts:
        for piece in chunks(part, EMBED_DESCRIPTION_MAX) if not part.startswith("```") else [part]:
            candidate = f"{current}\n\n{piece}" if current else piece
            if len(candidate) > EMBED_DESCRIPTION_MAX:
                pieces.append(current)
                current = piece
            else:
                current = candidate
    if current:
        pieces.append(current)
    return pieces


def embeds_for(reply: Reply) -> list[Embed]:
    """Every embed of ``reply`` before grouping into messages: the first has the title, later
    ones continue the description, then fields (25 to an embed), then a sources footer."""
    title = truncate(defuse(reply.title, reply.quoted), EMBED_TITLE_MAX)
    embeds: list[Embed] = [
        {"type": "rich", "color": COLOUR, "description": d} for d in _body(reply)
    ]
    fields: list[dict[str, Any]] = [
        {
            "name": truncate(defuse(f.name, reply.quoted), FIELD_NAME_MAX) or "\u200b",
            "value": truncate(defuse(f.value, reply.quoted), FIELD_VALUE_MAX) or "\u200b",
            "inline": len(f.value) <= 40,
        }
        for f in reply.fields
    ]
    group: list[dict[str, Any]] = []
    size = 0
    for fd in fields:
        chars = len(fd["name"]) + len(fd["value"])
        if group and (len(group) >= EMBED_FIELDS_MAX or size + chars > EMBEDS_TOTAL_MAX):
            embeds.append({"type": "rich", "color": COLOUR, "fields": group})
            group, size = [], 0
        group.append(fd)
        size += chars
    if group:
        embeds.append({"type": "rich", "color": COLOUR, "fields": group})
    if not embeds:
        embeds.append({"type": "rich", "color": COLOUR})
    if title:
        embeds[0]["title"] = title
    if reply.sources:
        text = "Sources: " + "; ".join(f"[{s.id}] {s.label()}" for s in reply.sources)
        footer = truncate(safe(text), FOOTER_TEXT_MAX)
        if embed_size(embeds[-1]) + len(footer) > EMBEDS_TOTAL_MAX:
            embeds.append({"type": "rich", "color": COLOUR, "description": footer})
        else:
            embeds[-1]["footer"] = {"text": footer}
    return embeds


def render(reply: Reply, *, extra_buttons: Iterable[Button] = ()) -> list[Outgoing]:
    """Render ``reply`` as one or more messages within every limit above.

    Embeds are grouped so that no message has more than :data:`EMBEDS_PER_MESSAGE` embeds or
    :data:`EMBEDS_TOTAL_MAX` characters over them; the buttons (the reply's choices, then
    ``extra_buttons``, at most 25) go on the last message, next to the end of the answer.
    """
    groups: list[list[Embed]] = [[]]
    size = 0
    for embed in embeds_for(reply):
        chars = embed_size(embed)
        if groups[-1] and (
            len(groups[-1]) >= EMBEDS_PER_MESSAGE or size + chars > EMBEDS_TOTAL_MAX
        ):
            groups.append([])
            size = 0
        groups[-1].append(embed)
        size += chars
    buttons = [Button(truncate(c.label, LABEL_MAX), c.value, c.primary) for c in reply.choices]
    buttons += [Button(truncate(b.label, LABEL_MAX), b.value, b.primary) for b in extra_buttons]
    buttons = buttons[: ROWS_MAX * BUTTONS_PER_ROW]
    out = [Outgoing(embeds=g) for g in groups]
    out[-1] = Outgoing(embeds=groups[-1], buttons=buttons)
    return out


def plain(reply_text: str) -> str:
    """Message content (≤ :data:`CONTENT_MAX`) for a plain-text note, mentions defused."""
    return truncate(safe(reply_text), CONTENT_MAX)
