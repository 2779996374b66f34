"""Plain text fitted to a terminal: :class:`~bot.replies.Reply` values wrapped to a width.

The same parts in the same order as :func:`bot.replies.render_text` (which stays the fallback
text of Slack and Discord), but every line fits ``width`` columns:

- prose wraps at spaces only, never inside a word; a word wider than the line (a URL) is
  left whole and may overflow; a short bracketed citation ("[greeden, netguru]") stays on
  one line;
- list items ("1. …", "  + …", "- …", "> …", "  [id] …") keep a hanging indent under their
  text;
- a table wider than ``width`` becomes "name: value" blocks, one per row, headed by the row's
  first cell; Markdown pipe tables (a decision record) are fitted the same way;
- code is printed as it is (it must stay runnable).

Widths are in columns, counted as characters (the knowledge is Latin text, no wide glyphs).
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from typing import TextIO

from bot.replies import Reply, Table, render_table

#: The width when neither ``COLUMNS`` nor a terminal says otherwise (piped output).
DEFAULT_COLUMNS = 80
#: Narrower than this, wrapping helps nobody: lines are fitted to this many columns instead.
MIN_COLUMNS = 30

# A list item's marker: indentation, then "1.", "+", "-", "*", "•", ">" or "[id]", then spaces.
_MARKER = re.compile(r"^(\s*)(?:\d+[.)]|[+*•>-]|\[[^\]\s]{1,40}\])\s+(?=\S)")
# The rule under a Markdown pipe table's header: "|---|:---:|".
_TABLE_RULE = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+\s*$")
# A bracketed group ("[greeden, netguru]"): kept on one line when it is short.
_BRACKETS = re.compile(r"\[[^\[\]\n]+\]")
# Stands in for a space that must not break while a line is wrapped (a private-use character).
_GLUE = "\ue000"


def columns(stream: TextIO | None = None) -> int:
    """The width to fit text to, in columns (at least :data:`MIN_COLUMNS`).

    ``COLUMNS`` when it is set to a positive number; else the terminal's width when
    ``stream`` is a terminal (:func:`shutil.get_terminal_size`); else :data:`DEFAULT_COLUMNS`
    (output piped to a file or another program). Never raises.
    """
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return max(MIN_COLUMNS, int(env))
    try:
        tty = stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):  # closed or odd streams
        tty = False
    if tty:
        size = shutil.get_terminal_size((DEFAULT_COLUMNS, 24)).columns
        return max(MIN_COLUMNS, size or DEFAULT_COLUMNS)
    return DEFAULT_COLUMNS


def wrap_line(line: str, width: int) -> list[str]:
    """One line of prose as lines of at most ``width`` columns, broken at spaces only.

    A list item ("1. x", "   + x", "  [id] x") continues under its text (a hanging indent,
    at most half the width); other lines continue under their own indentation. A single word
    wider than the line (a URL, a long path) stays whole and overflows. Returns ``[""]`` for
    a blank line.
    """
    if len(line) <= width or not line.strip():
        return [line.rstrip()]
    marker = _MARKER.match(line)
    lead = len(line) - len(line.lstrip())
    hang = len(marker.group(0)) if marker else lead
    hang = min(hang, width // 2)
    wrapper = textwrap.TextWrapper(
        width=width,
        initial_indent=line[:lead],
        subsequent_indent=" " * hang,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return _unglue(wrapper.wrap(_glue(line[lead:], width))) or [line.rstrip()]


def wrap_text(text: str, width: int) -> str:
    """Every line of ``text`` wrapped by :func:`wrap_line`; Markdown pipe tables are fitted by
    :func:`fit_table`. Blank lines stay."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        table, used = _pipe_table(lines, i)
        if table is not None:
            out.append(fit_table(table, width))
            i += used
            continue
        out.extend(wrap_line(lines[i], width))
        i += 1
    return "\n".join(out)


def fit_table(table: Table, width: int) -> str:
    """``table`` as aligned columns when its widest line fits ``width`` columns, else as
    "name: value" blocks: one per row, headed by the row's first cell, each other cell on a
    line of its own as "column: cell" (wrapped, indented two columns)."""
    aligned = render_table(table)
    if max(len(line) for line in aligned.split("\n")) <= width:
        return aligned
    blocks: list[str] = []
    for row in table.rows:
        lines = [*wrap_line(row[0], width)] if row[0] else []
        for name, cell in zip(table.columns[1:], row[1:], strict=True):
            text = f"{name}: {cell}" if name else cell
            lines += _hang(f"  {text}", width, len(name) + 4 if name else 2)
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def render(reply: Reply, width: int, *, numbered_choices: bool = True) -> str:
    """``reply`` as plain text in which no line is wider than ``width`` columns, except a
    word that cannot be broken (a URL) and code lines. Same parts and order as
    :func:`bot.replies.render_text`."""
    parts: list[str] = []
    if reply.title:
        parts.append(wrap_text(reply.title, width))
    parts.extend(_notice(n, width) for n in reply.notices)
    if reply.table is not None:
        parts.append(fit_table(reply.table, width))
    parts.extend(wrap_text(p, width) for p in reply.paragraphs)
    if reply.fields:
        parts.append(
            "\n".join("\n".join(_hang(f"{f.name}: {f.value}", width, 2)) for f in reply.fields)
        )
    if reply.code:
        header = f"{reply.code_title}:\n" if reply.code_title else ""
        parts.append(header + "\n".join("    " + line for line in reply.code.rstrip().splitlines()))
    if reply.choices:
        if numbered_choices:
            items = [f"  {i}. {c.label}" for i, c in enumerate(reply.choices, 1)]
            parts.append(wrap_text("\n".join(items), width))
        else:
            parts.append(wrap_text(" | ".join(c.label for c in reply.choices), width))
    if reply.sources:
        refs = "\n".join(f"  [{s.id}] {s.label()}" for s in reply.sources)
        parts.append("Sources:\n" + wrap_text(refs, width))
    return "\n\n".join(p for p in parts if p)


def _glue(text: str, width: int) -> str:
    """``text`` with the spaces of each short bracketed group (a citation such as
    "[greeden, netguru]", at most half of ``width``) made unbreakable."""
    if _GLUE in text:  # never expected in replies; then nothing is glued
        return text
    return _BRACKETS.sub(
        lambda m: m.group(0).replace(" ", _GLUE) if len(m.group(0)) <= width // 2 else m.group(0),
        text,
    )


def _unglue(lines: list[str]) -> list[str]:
    return [line.replace(_GLUE, " ") for line in lines]


def _notice(text: str, width: int) -> str:
    """A notice as "Note: …" (its first line), continuing under its text."""
    first, *rest = text.split("\n")
    lines = _hang(f"Note: {first}", width, 6)
    for line in rest:
        lines += wrap_line(line, width)
    return "\n".join(lines)


def _hang(line: str, width: int, hang: int) -> list[str]:
    """``line`` wrapped with continuation lines indented ``hang`` columns."""
    if len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip())
    wrapper = textwrap.TextWrapper(
        width=width,
        initial_indent=" " * lead,
        subsequent_indent=" " * min(hang, width // 2),
        break_long_words=False,
        break_on_hyphens=False,
    )
    return _unglue(wrapper.wrap(_glue(line[lead:], width))) or [line]


def _pipe_table(lines: list[str], start: int) -> tuple[Table | None, int]:
    """A Markdown pipe table starting at ``lines[start]`` (header, rule, rows) and how many
    lines it spans, or ``(None, 0)``."""
    if start + 1 >= len(lines) or not lines[start].startswith("|"):
        return None, 0
    if not _TABLE_RULE.match(lines[start + 1]):
        return None, 0
    columns = _cells(lines[start])
    end = start + 2
    rows: list[tuple[str, ...]] = []
    while end < len(lines) and lines[end].startswith("|"):
        cells = _cells(lines[end])
        if len(cells) != len(columns):
            return None, 0
        rows.append(cells)
        end += 1
    return Table(columns=columns, rows=tuple(rows)), end - start


def _cells(line: str) -> tuple[str, ...]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return tuple(c.strip() for c in re.split(r"(?<!\\)\|", body))
