"""The platform-neutral reply model, and its plain-text rendering.

A :class:`Reply` is one rich message: a title, paragraphs, a table or fields, a code block,
choices (buttons), notices and a sources footer. The console prints :func:`render_text`;
Slack renders Block Kit and Discord renders embeds from the same value, and both use
:func:`render_text` as their fallback text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

INTENTS = ("compare", "about", "recommend", "list", "help", "unknown")


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """A name/value pair, shown side by side where the platform allows."""

    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """A table: ``columns`` headers and ``rows`` of cells (each row as long as ``columns``)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """A button. ``value`` is an action string the engine understands when it comes back,
    e.g. ``"answer:size:large"``, ``"cmd:back"``, ``"share"``; ``label`` is what people see."""

    label: str
    value: str
    primary: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRef:
    """A source cited by a reply (from knowledge/sources.yaml)."""

    id: str
    title: str
    publisher: str
    date: str = "undated"
    url: str = ""

    def label(self) -> str:
        """One line: ``Publisher, "Title" (date)``."""
        when = "" if self.date == "undated" else f" ({self.date})"
        return f'{self.publisher}, "{self.title}"{when}'


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """One message from the core.

    Attributes:
        intent: one of :data:`INTENTS`.
        kind: ``answer``, ``question`` (a flow question waiting for an answer),
            ``recommendation``, ``notice`` or ``error``.
        frameworks: canonical names the reply is about, most relevant first.
        code: preformatted text (a hello-world), shown in a code block; ``code_title`` heads it.
        markdown: an attached document (a decision record), empty when none.
        quoted: the person's own words that this reply repeats (in a title, paragraph or
            notice), each exactly as it appears there. Adapters render these inert: never a
            link, mention or formatting (Slack ``verbatim``, Discord escaped Markdown).
    """

    intent: str
    kind: str = "answer"
    title: str = ""
    paragraphs: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    table: Table | None = None
    code: str = ""
    code_title: str = ""
    choices: tuple[Choice, ...] = ()
    notices: tuple[str, ...] = ()
    sources: tuple[SourceRef, ...] = ()
    frameworks: tuple[str, ...] = field(default=())
    markdown: str = ""
    quoted: tuple[str, ...] = ()


def render_table(table: Table) -> str:
    """Render a table as aligned plain text (monospace), one row a line."""
    widths = [len(c) for c in table.columns]
    for row in table.rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(table.columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in table.rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def render_text(reply: Reply, *, numbered_choices: bool = True) -> str:
    """Render a reply as plain text: the console's output and every platform's fallback text."""
    parts: list[str] = []
    if reply.title:
        parts.append(reply.title)
    parts.extend(f"Note: {n}" for n in reply.notices)
    if reply.table is not None:
        parts.append(render_table(reply.table))
    parts.extend(reply.paragraphs)
    if reply.fields:
        parts.append("\n".join(f"{f.name}: {f.value}" for f in reply.fields))
    if reply.code:
        header = f"{reply.code_title}:\n" if reply.code_title else ""
        parts.append(header + "\n".join("    " + line for line in reply.code.rstrip().splitlines()))
    if reply.choices:
        if numbered_choices:
            parts.append("\n".join(f"  {i}. {c.label}" for i, c in enumerate(reply.choices, 1)))
        else:
            parts.append(" | ".join(c.label for c in reply.choices))
    if reply.sources:
        parts.append("Sources:\n" + "\n".join(f"  [{s.id}] {s.label()}" for s in reply.sources))
    return "\n\n".join(p for p in parts if p)


def fold_notices(replies: Sequence[Reply]) -> list[Reply]:
    """Fold each button-less notice into the reply after it, so a lead-in such as "From what
    you said: …" travels with its question as one message (which can then be updated in
    place)."""
    out: list[Reply] = []
    pending: list[str] = []
    quoted: list[str] = []
    for i, reply in enumerate(replies):
        if reply.kind == "notice" and not reply.choices and i + 1 < len(replies):
            pending += [t for t in (reply.title, *reply.paragraphs, *reply.notices) if t]
            quoted += reply.quoted
            continue
        if pending:
            reply = replace(
                reply,
                notices=(*pending, *reply.notices),
                quoted=tuple(dict.fromkeys((*quoted, *reply.quoted))),
            )
        out.append(reply)
        pending, quoted = [], []
    return out
