"""Render core replies as Slack Block Kit messages that Slack always accepts.

Slack's limits are named constants here and enforced by splitting (more messages) or
truncating (one over-long text), never by sending an invalid payload. Every message carries a
plain-text fallback ``text``. All text from the core is escaped (``&``, ``<``, ``>``), so a
``<!channel>`` or ``<@U123>`` a person typed can never come back as a live mention, and every
mrkdwn text object is ``verbatim`` (all of the core's text is plain), so Slack never turns a
domain or URL someone typed into a link; deliberate links are written out as ``<url|label>``.
The person's own words (:attr:`Reply.quoted`) are shown as code spans, so they are not
formatted either. A decision record (:attr:`Reply.markdown`) is rendered natively
(:func:`record_blocks`), never as raw Markdown.
Limits: https://api.slack.com/reference/block-kit/blocks
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
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
#: Fields in one section block, and characters in one field.
FIELDS_MAX, FIELD_TEXT_MAX = 10, 2000
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


def mrkdwn(text: str) -> Block:
    """A ``verbatim`` mrkdwn text object: formatting applies, but Slack does not turn bare
    URLs, domains, channel names or ``@names`` into links or mentions."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> list[Block]:
    return [
        {"type": "section", "text": mrkdwn(piece)}
        for piece in chunks(text, SECTION_TEXT_MAX)
        if piece.strip()
    ]


def _code(text: str) -> list[Block]:
    fence = 8  # two ``` fences and their newlines
    return [
        {"type": "section", "text": mrkdwn(f"```\n{piece}\n```")}
        for piece in chunks(escape(text), SECTION_TEXT_MAX - fence)
        if piece.strip()
    ]


def inert(text: str, quoted: Iterable[str]) -> str:
    """``text`` (already escaped) with each of the person's ``quoted`` words shown as a code
    span (its quote marks, if any, dropped), so none of it is formatted. Words that hold a
    backtick or a line break cannot be a Slack code span and are left as they are."""
    words = {escape(q) for q in quoted if q.strip() and "`" not in q and "\n" not in q}
    if not words:
        return text
    either = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = re.compile(rf'"({either})"|“({either})”|(?<![\w`])({either})(?![\w`])')
    return pattern.sub(lambda m: f"`{next(g for g in m.groups() if g)}`", text)


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
    """All blocks for ``reply`` before splitting: header, byline, notices, table, text,
    decision record, code, buttons, sources.

    A decision record (``reply.markdown``) is shown by :func:`record_blocks` in place of the
    paragraph that repeats it; its own heading is the header and its own "Sources" part
    replaces the sources footer.

    Args:
        extra_buttons: (label, value) pairs the adapter adds, e.g. Share.
        owner: a user id; button rows get a block_id naming them (see :func:`owner_block_id`).
        byline: trusted mrkdwn (not escaped) shown under the title, e.g. "Shared by <@U1>".
    """
    reply, record = _with_record(reply)
    blocks: list[Block] = []
    if reply.title:
        blocks.append(
            {
                "type": "header",
                "text": {"type": "plain_text", "text": truncate(reply.title, HEADER_TEXT_MAX)},
            }
        )
    if byline:
        blocks.append({"type": "context", "elements": [mrkdwn(byline[:SECTION_TEXT_MAX])]})
    for notice in reply.notices:
        blocks += _section(f":information_source: {inert(escape(notice), reply.quoted)}")
    if reply.table is not None:
        blocks += _code(render_table(reply.table))
    for paragraph in reply.paragraphs:
        blocks += _section(inert(escape(paragraph), reply.quoted))
    blocks += record
    for f in reply.fields:
        blocks += _section(f"*{escape(f.name)}*\n{escape(f.value)}")
    if reply.code:
        if reply.code_title:
            blocks += _section(f"*{escape(reply.code_title)}*")
        blocks += _code(reply.code)
    blocks += _buttons(reply, extra_buttons, owner)
    if reply.sources:
        elements = [
            mrkdwn(truncate(escape(f"[{s.id}] {s.label()}"), SECTION_TEXT_MAX))
            for s in reply.sources
        ]
        blocks.append({"type": "context", "elements": [mrkdwn("Sources:")]})
        for i in range(0, len(elements), CONTEXT_ELEMENTS_MAX):
            blocks.append({"type": "context", "elements": elements[i : i + CONTEXT_ELEMENTS_MAX]})
    return blocks


def _block_chars(block: Block) -> int:
    if "text" in block:
        return len(block["text"]["text"]) + sum(len(f["text"]) for f in block.get("fields", ()))
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
    reply, _ = _with_record(reply)
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
    mrkdwn) added under the header. Never longer than the original when it had buttons.
    Every mrkdwn text is made ``verbatim`` again: the blocks are ours, but Slack may echo them
    back without the flag."""
    kept = [_verbatim(b) for b in blocks if b.get("type") != "actions"]
    at = 1 if kept and kept[0].get("type") == "header" else 0
    kept.insert(at, {"type": "context", "elements": [mrkdwn(byline)]})
    return kept[:BLOCKS_MAX]


def _verbatim(block: Block) -> Block:
    def fix(text: Any) -> Any:
        is_mrkdwn = isinstance(text, dict) and text.get("type") == "mrkdwn"
        return {**text, "verbatim": True} if is_mrkdwn else text

    out = {**block}
    for key in ("text", "fields", "elements"):
        if isinstance(out.get(key), list):
            out[key] = [fix(t) for t in out[key]]
        elif key in out:
            out[key] = fix(out[key])
    return out


def apology(incident: str) -> dict[str, Any]:
    """The message shown when handling failed: short, with the incident id, no details."""
    text = (
        f"Sorry, something went wrong on my side (incident `{escape(incident)}`). Please try "
        "again; if it keeps happening, give that id to whoever runs me."
    )
    return {"text": text, "blocks": _section(text)}


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


# ---- the decision record (bot/record.py's Markdown) as Block Kit ---------------------------

_HEADING = re.compile(r"^(#{1,6}) +(.*?)\s*$")
#: An inline code span (CommonMark: a run of backticks closed by an equal run) or an autolink.
_INLINE = re.compile(
    r"(?P<fence>`+)(?P<code>.+?)(?<!`)(?P=fence)(?!`)|<(?P<url>https?://[^\s<>|]+)>"
)
_STRONG = re.compile(r"\*\*(.+?)\*\*")
_RULE = re.compile(r":?-+:?")


def record_blocks(markdown: str) -> tuple[str, list[Block]]:
    """A decision record (the Markdown of ``bot.record.decision_record``) as Block Kit.

    Returns its title (the first "# " heading, "" when none; meant for a header block) and
    its blocks: each "## " part one or more sections led by the heading in bold, a table as
    section fields (one field a row, at most :data:`FIELDS_MAX` per section and
    :data:`SECTION_TEXT_MAX` characters of fields; :data:`FIELD_TEXT_MAX` per field), lists
    with bullets, ``**bold**`` as Slack bold, autolinks as ``<url|label>``, code spans (the
    person's question) as Slack code. No text is left starting with "#" or "|".
    """
    title, heading, lines = "", "", []
    parts: list[tuple[str, list[str]]] = []
    for line in markdown.splitlines():
        found = _HEADING.match(line)
        if found is None:
            lines.append(line)
        elif found.group(1) == "#" and not title and not parts and not "".join(lines).strip():
            title = found.group(2)
        else:
            parts.append((heading, lines))
            heading, lines = found.group(2), []
    parts.append((heading, lines))
    return title, [block for heading, lines in parts for block in _record_part(heading, lines)]


def _record_part(heading: str, lines: list[str]) -> list[Block]:
    table = [_cells(line) for line in lines if line.lstrip().startswith("|")]
    text = "\n".join(_record_line(line) for line in lines if not line.lstrip().startswith("|"))
    head = f"*{escape(heading)}*" if heading else ""
    blocks: list[Block] = []
    rows = [row for row in table[1:] if not all(_RULE.fullmatch(cell) for cell in row)]
    if rows:
        label = head or "*" + escape(" · ".join(table[0])) + "*"
        groups: list[list[Block]] = [[]]
        for field in (mrkdwn(_field(row)) for row in rows):
            size = sum(len(f["text"]) for f in groups[-1]) + len(field["text"])
            if groups[-1] and (len(groups[-1]) >= FIELDS_MAX or size > SECTION_TEXT_MAX):
                groups.append([])
            groups[-1].append(field)
        for i, group in enumerate(groups):
            more = f"{label} (continued)" if i else label
            blocks.append({"type": "section", "text": mrkdwn(more), "fields": group})
        head = ""
    return blocks + _section("\n".join(p for p in (head, text.strip("\n")) if p))


def _cells(line: str) -> list[str]:
    """A Markdown table row's cells, ``\\|`` unescaped."""
    cells = re.split(r"(?<!\\)\|", line.strip().removeprefix("|").removesuffix("|"))
    return [cell.replace("\\|", "|").strip() for cell in cells]


def _field(row: list[str]) -> str:
    """One table row as a field: the first cell bold, the second as is, the rest in italics."""
    name, value, rest = row[0], row[1] if len(row) > 1 else "", " · ".join(row[2:])
    text = f"*{truncate(escape(name), 400)}*\n{truncate(escape(value), 1400)}"
    return text + (f"\n_{truncate(escape(rest), 150)}_" if rest else "")


def _record_line(line: str) -> str:
    """One Markdown line as mrkdwn: quotes, bullets (indented ones hollow) and inline parts."""
    stripped = line.lstrip(" ")
    indent = " " * (len(line) - len(stripped))
    if stripped.startswith("> "):
        return f"> {_inline(stripped[2:])}"
    if stripped.startswith(("- ", "* ")):
        return f"{indent}{'◦' if indent else '•'} {_inline(stripped[2:])}"
    return indent + _inline(stripped)


def _inline(text: str) -> str:
    out, at = [], 0
    for found in _INLINE.finditer(text):
        out.append(_STRONG.sub(r"*\1*", escape(text[at : found.start()])))
        url, code = found.group("url"), found.group("code")
        if url:
            label = url.removeprefix("https://").removeprefix("http://").rstrip("/")
            out.append(f"<{escape(url)}|{escape(label)}>")
        else:
            out.append(_slack_code(code[1:-1] if code[:1] == code[-1:] == " " else code))
        at = found.end()
    out.append(_STRONG.sub(r"*\1*", escape(text[at:])))
    return "".join(out)


def _slack_code(text: str) -> str:
    """``text`` as Slack code: inline when it has no backtick, else a preformatted span (which
    allows single backticks), else plain (still escaped and verbatim, so never a link)."""
    if "`" not in text:
        return f"`{escape(text)}`"
    if "```" not in text:
        return f"```{escape(text)}```"
    return escape(text)


def _with_record(reply: Reply) -> tuple[Reply, list[Block]]:
    """``reply`` as Slack shows it, and its decision record's blocks (none without one): the
    record's title replaces the reply's, and its paragraph and sources footer are dropped
    (the record holds both)."""
    if not reply.markdown:
        return reply, []
    title, blocks = record_blocks(reply.markdown)
    shown = replace(
        reply,
        title=title or reply.title,
        paragraphs=tuple(p for p in reply.paragraphs if p != reply.markdown),
        sources=(),
    )
    return shown, blocks
