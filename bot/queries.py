"""Answers read straight from the claims and structured fields: fact questions about one
framework, reverse look-ups ("which framework came out of FriendFeed"), attribute lists ("which
ones are ASGI?", "async and full-stack ones", "full-stack besides Django") and figure rankings
("most GitHub stars").

Every line shown carries the source ids of the claim it comes from; figures keep the date their
source gives. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from bot.facts import figure_text
from bot.knowledge import Framework, KnowledgeBase, Selector
from bot.matching import Understanding
from bot.replies import Choice, Reply, SourceRef
from bot.search import ClaimIndex, Hit

#: A hit is shown when its relevance is at least this share of the best hit's.
SHOWN_SHARE = 0.5
#: Most claims a fact answer shows before "more about".
SHOWN_FACTS = 5
#: A framework's trait score at or above which a ``trait`` selector picks it.
TRAIT_SELECTED = 4
_CATEGORY_TITLE = {
    "micro": "microframeworks",
    "full-stack": "full-stack frameworks",
    "async": "asynchronous frameworks",
    "library": "async networking libraries",
}
_METRIC_TITLE = {
    "github_stars": "GitHub stars",
    "stackoverflow_questions": "Stack Overflow questions",
}


def cite(ids: Iterable[str]) -> str:
    """``[netguru, svitla]`` for a list of source ids."""
    return "[" + ", ".join(dict.fromkeys(ids)) + "]"


class Queries:
    """Builds the replies above for one knowledge base.

    Args:
        kb: the knowledge base; ``index``: its claim index; ``refs``: turns source ids into
            the footer's :class:`~bot.replies.SourceRef` values.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        index: ClaimIndex,
        refs: Callable[[Iterable[str]], tuple[SourceRef, ...]],
    ) -> None:
        self.kb = kb
        self.index = index
        self.refs = refs
        self._selectors = {s.id: s for s in kb.cues.selectors}

    # ------------------------------------------------------------------ facts

    def facts(self, fid: str, tokens: Sequence[str]) -> Reply | None:
        """The claims of ``fid`` that answer the question, best first, or None when the
        question has no content words ("tell me about flask") or nothing matches."""
        terms = self.index.terms(tokens)
        if not terms:
            return None
        found = self.index.search(terms, frameworks=[fid], limit=8)
        hits = _strong(found)[:SHOWN_FACTS]
        # Where the sources disagree on what was asked, both sides are shown.
        hits += [h for h in found if h.item.section == "disagreement" and h not in hits][:1]
        if not hits:
            return None
        fw = self.kb.frameworks[fid]
        lines = [f"- {h.item.text} {cite(h.item.sources)}" for h in hits]
        return Reply(
            intent="about",
            title=fw.name,
            paragraphs=("\n".join(lines),),
            choices=(Choice(label=f"More about {fw.name}", value=f"ask:more about {fw.name}"),),
            sources=self.refs(s for h in hits for s in h.item.sources),
            frameworks=(fw.name,),
        )

    def lookup(self, u: Understanding) -> Reply:
        """A reverse look-up: which framework the claims point to, and the claims that say so.
        With intent ``list`` ("which frameworks go with sqlalchemy"), every framework found."""
        terms = self.index.terms(u.tokens)
        hits = self.index.search(terms, frameworks=u.lookup, limit=12)
        by_fw: dict[str, list[Hit]] = {}
        for h in hits:
            by_fw.setdefault(h.framework, []).append(h)
        order = [f for f in u.lookup if f in by_fw]
        lead = order[0]
        best = _strong(by_fw[lead])[:2]
        name = self.kb.frameworks[lead].name
        paragraphs = [f"{name}: " + " ".join(f"{h.item.text} {cite(h.item.sources)}" for h in best)]
        used = [s for h in best for s in h.item.sources]
        others = [
            f
            for f in order[1:]
            if u.intent == "list" or by_fw[f][0].score >= SHOWN_SHARE * best[0].score
        ]
        for f in others:
            h = by_fw[f][0]
            paragraphs.append(
                f"Also: {self.kb.frameworks[f].name}: {h.item.text} {cite(h.item.sources)}"
            )
            used += h.item.sources
        return Reply(
            intent="list" if u.intent == "list" else "about",
            title=name,
            paragraphs=tuple(paragraphs),
            choices=(Choice(label=f"More about {name}", value=f"ask:more about {name}"),),
            sources=self.refs(used),
            frameworks=(name, *(self.kb.frameworks[f].name for f in others)),
        )

    # ------------------------------------------------------------------ lists

    def listing(self, u: Understanding) -> Reply:
        """Frameworks with any of the wanted attributes, without the unwanted ones and the
        excluded frameworks; every framework covered for "what frameworks do you know"."""
        if u.list_all and not u.selectors and not u.unwanted:
            return self._everything(u.excluded)
        wanted = [self._selectors[s] for s in u.selectors if s in self._selectors]
        unwanted = [self._selectors[s] for s in u.unwanted if s in self._selectors]
        lines: list[str] = []
        used: list[str] = []
        names: list[str] = []
        for fw in self.kb.frameworks.values():
            if fw.id in u.excluded:
                continue
            evidence = [e for sel in wanted if (e := _evidence(fw, sel)) is not None]
            if wanted and not evidence:
                continue
            if not u.union and len(evidence) < len(wanted):
                continue
            if any(_evidence(fw, sel) is not None for sel in unwanted):
                continue
            if not wanted and (not fw.is_full or not _known(fw, unwanted)):
                continue
            text, srcs = evidence[0] if evidence else (fw.summary.text, fw.summary.sources)
            lines.append(f"- {fw.name}: {text} {cite(srcs)}")
            used += srcs
            names.append(fw.name)
        lead: list[str] = []
        if len(wanted) == 1 and not unwanted and wanted[0].field == "category":
            title = f"Python {_CATEGORY_TITLE.get(wanted[0].value, wanted[0].label)}"
            meant = self.kb.category_definitions.get(wanted[0].value, ())
            if meant:
                lead.append(
                    "What the articles mean by it:\n"
                    + "\n".join(f"- {c.text} {cite(c.sources)}" for c in meant)
                )
                used += [s for c in meant for s in c.sources]
        else:
            label = (" or " if u.union else " and ").join(
                s.label for s in wanted
            ) or "any framework"
            if unwanted:
                label += " without " + " or ".join(s.label for s in unwanted)
            title = f"Python web frameworks: {label}"
        notices = []
        if u.excluded:
            notices.append("Left out as you asked: " + ", ".join(self._names(u.excluded)) + ".")
        return Reply(
            intent="list",
            title=title,
            paragraphs=(*lead, "\n".join(lines) if lines else "None in my knowledge base."),
            notices=tuple(notices),
            sources=self.refs(used),
            frameworks=tuple(names),
        )

    def _everything(self, excluded: Sequence[str]) -> Reply:
        full = [f for f in self.kb.frameworks.values() if f.is_full and f.id not in excluded]
        short = [f for f in self.kb.frameworks.values() if not f.is_full and f.id not in excluded]
        lines = [f"- {f.name}: {f.summary.text} {cite(f.summary.sources)}" for f in full]
        paragraphs = ["In depth:\n" + "\n".join(lines)]
        if short:
            paragraphs.append("Short notes: " + ", ".join(f.name for f in short) + ".")
        return Reply(
            intent="list",
            title="The Python web frameworks I know",
            paragraphs=tuple(paragraphs),
            sources=self.refs(s for f in full for s in f.summary.sources),
            frameworks=tuple(f.name for f in (*full, *short)),
        )

    def figures(self, u: Understanding) -> Reply:
        """Frameworks ranked by one community figure, each with the date its source gives."""
        metric = u.figure
        wanted = [self._selectors[s] for s in u.selectors if s in self._selectors]
        rows = []
        for fw in self.kb.frameworks.values():
            if fw.id in u.excluded:
                continue
            if wanted and all(_evidence(fw, sel) is None for sel in wanted):
                continue
            figs = [f for f in fw.community if f.metric == metric]
            if figs:
                rows.append((max(f.value for f in figs), fw, figs))
        rows.sort(key=lambda r: (r[0], r[1].name), reverse=not u.least)
        lines = [
            f"{i}. {fw.name}: " + "; ".join(f"{figure_text(f)} {cite(f.sources)}" for f in figs)
            for i, (_v, fw, figs) in enumerate(rows, 1)
        ]
        title = _METRIC_TITLE.get(metric, metric)
        among = " among " + " or ".join(s.label for s in wanted) + " frameworks" if wanted else ""
        return Reply(
            intent="list",
            title=f"{'Fewest' if u.least else 'Most'} {title}{among}",
            paragraphs=("\n".join(lines) or "No figures in my knowledge base.",),
            notices=(
                "Figures are as the sources give them, with their dates; they are snapshots, "
                "not today's counts.",
            ),
            sources=self.refs(s for _v, _fw, figs in rows for f in figs for s in f.sources),
            frameworks=tuple(fw.name for _v, fw, _f in rows),
        )

    def _names(self, fids: Iterable[str]) -> list[str]:
        return [self.kb.frameworks[f].name for f in fids if f in self.kb.frameworks]


def _strong(hits: Sequence[Hit]) -> list[Hit]:
    if not hits:
        return []
    return [h for h in hits if h.score >= SHOWN_SHARE * hits[0].score]


def _known(fw: Framework, selectors: Sequence[Selector]) -> bool:
    """True when ``fw`` has the fields the selectors read (short entries often do not)."""
    for sel in selectors:
        if sel.field == "interface" and not fw.interface:
            return False
        if sel.field == "builtin" and fw.builtins is None:
            return False
    return True


def _evidence(fw: Framework, sel: Selector) -> tuple[str, tuple[str, ...]] | None:
    """The claim that shows ``fw`` has the attribute, as (text, sources), or None."""
    if sel.field == "interface":
        for i in fw.interface:
            if i.value == sel.value:
                return i.text, i.sources
    elif sel.field == "category":
        for c in fw.categories:
            if c.value == sel.value:
                return c.text or f"Classed as {c.value}.", c.sources
    elif sel.field == "async":
        if fw.async_support is not None and fw.async_support.value == sel.value:
            return fw.async_support.text, fw.async_support.sources
        for c in fw.categories:
            if c.value == "async":
                return c.text or "Classed as asynchronous.", c.sources
    elif sel.field == "sync":
        is_async = any(c.value == "async" for c in fw.categories)
        level = fw.async_support.value if fw.async_support is not None else ""
        if level in ("none", "partial") and not is_async and fw.async_support is not None:
            return fw.async_support.text, fw.async_support.sources
    elif sel.field == "builtin":
        b = (fw.builtins or {}).get(sel.value)
        if b is not None and b.included:
            return b.text, b.sources
    elif sel.field == "trait":
        t = (fw.traits or {}).get(sel.value)
        if t is not None and t.score >= TRAIT_SELECTED:
            return t.why, t.sources
    return None
