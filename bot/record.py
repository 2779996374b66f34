"""The Markdown decision record a team can paste into its docs or wiki.

It holds the question, every answer and how it was given, the ranking with reasons, the
sources and the knowledge version, so a later reader can reproduce the ranking.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping

from bot.answers import plural
from bot.knowledge import KnowledgeBase
from bot.recommend import Ranking


def _md(text: str) -> str:
    """Escape table pipes and fold newlines so text stays inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def code_span(text: str) -> str:
    """``text`` (a person's words) as one inline Markdown code span: never a link, mention,
    heading or formatting in any Markdown renderer. Newlines fold to spaces; the fence is one
    backtick longer than the longest run of backticks inside (CommonMark, "Code spans")."""
    text = " ".join(text.split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def decision_record(
    kb: KnowledgeBase,
    answers: Mapping[str, str],
    prefilled: Iterable[str],
    skipped: Iterable[str],
    description: str,
    ranking: Ranking,
    now: float,
    top: int = 3,
) -> str:
    """Render the decision record.

    Args:
        answers: question id -> option id; ``prefilled`` and ``skipped`` are question ids.
        description: the opening request, quoted as the question in a code span (it is the
            person's text, so it must never render as a link or formatting).
        now: seconds since the epoch, shown as a UTC date.
    """
    pre, skip = set(prefilled), set(skipped)
    when = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Decision record: choosing a Python web framework",
        "",
        f"- Date: {when}",
        f"- Knowledge version: {kb.version}",
        "",
        "## Question",
        "",
        f"> {code_span(description) if description else 'Help me pick.'}",
        "",
        "## Answers",
        "",
        "| Question | Answer | How |",
        "|---|---|---|",
    ]
    for q in kb.questions:
        if q.id in answers:
            label = q.option(answers[q.id]).label
            how = "from the opening request" if q.id in pre else "answered"
        else:
            label, how = "-", "skipped (neutral)" if q.id in skip else "not asked"
        out.append(f"| {_md(q.prompt)} | {_md(label)} | {how} |")
    out += ["", "## Ranking", ""]
    used: list[str] = []
    for r in ranking.top(top):
        out.append(f"{r.rank}. **{r.name}**: {r.match}% match ({plural(r.score, 'point')})")
        for sign, reasons in (("For", r.pros), ("Against", r.cons)):
            for x in reasons:
                out.append(
                    f'   - {sign}: {x.trait_label}, because of "{x.cause_tags}": '
                    f"{x.why} [{', '.join(x.sources)}]"
                )
                used += x.sources
    verdict = "close call" if ranking.close else "clear lead"
    out += [
        "",
        f"Margin between first and second: {ranking.margin:g} points ({verdict}).",
        "",
        "## Sources",
        "",
    ]
    for sid in dict.fromkeys(used):
        s = kb.sources.get(sid)
        if s is not None:
            extra = f", {s.when}" if s.date != "undated" else ""
            link = f" <{s.url}>" if s.url else ""
            out.append(f'- [{s.id}] {s.publisher}, "{s.title}"{extra}{link}')
    return "\n".join(out) + "\n"
