"""The retrievable statements of a framework entry, and how figures are written.

Each framework's claims (facts, history, built-ins, figures...) become :class:`Item` values
with their section and topic stems; :class:`bot.search.ClaimIndex` indexes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.knowledge import Figure, Framework, KnowledgeBase, KnownError, fast_pickle
from bot.text import STOPWORDS, stem, words

_BUILTIN_TOPICS = {
    "orm": ("orm", "database", "sql", "model", "models"),
    "admin": ("admin", "panel", "dashboard"),
    "auth": ("auth", "authentication", "login", "security", "permissions"),
    "templates": ("templates", "template", "html", "jinja2"),
    "forms": ("forms", "form", "validation"),
}
_METRIC_LABEL = {
    "github_stars": "GitHub stars",
    "stackoverflow_questions": "Stack Overflow questions",
    "survey_share_percent": "share of developers in a survey (%)",
}


@fast_pickle
@dataclass(frozen=True, slots=True)
class Item:
    """A retrievable statement about a framework, with the section it came from."""

    section: str
    text: str
    sources: tuple[str, ...]
    topics: frozenset[str]


def figure_text(fig: Figure) -> str:
    """``GitHub stars: 39,946, undated (article updated 2023-10-02)`` or ``..., as of 2021``;
    ``fig.note`` (e.g. how the source labelled the figure) follows after a semicolon."""
    shown = f"{fig.value:,.0f}" if float(fig.value).is_integer() else f"{fig.value:,}"
    if fig.metric.endswith("_percent"):
        shown += "%"
    note = f"; {fig.note}" if fig.note else ""
    return f"{_METRIC_LABEL.get(fig.metric, fig.metric)}: {shown}, {fig.when}{note}"


def docs_only(kb: KnowledgeBase) -> frozenset[str]:
    """Ids of the frameworks no seed article speaks of (every claim cites a ``reference``
    source): what is known of them comes from their own documentation."""
    articles = {s.id for s in kb.sources.values() if s.kind == "article"}
    return frozenset(
        fid
        for fid, fw in kb.frameworks.items()
        if not any(articles & set(item.sources) for item in items_of(fw))
    )


def error_text(e: KnownError) -> str:
    """A known error as one sentence pair, without citations: what the source says, then
    "That is an error: " and the correction (cite ``e.sources`` and ``e.evidence`` after each)."""
    return f"{e.says} That is an error: {e.correction}"


def _stems(texts: Iterable[str]) -> frozenset[str]:
    return frozenset(stem(w) for t in texts for w in words(t) if w not in STOPWORDS)


def items_of(fw: Framework) -> list[Item]:
    """All retrievable statements of ``fw``, in a stable order."""
    raw: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = [
        ("summary", fw.summary.text, fw.summary.sources, ("summary", "overview"))
    ]
    for cat in fw.categories:
        raw.append(
            (
                "category",
                cat.text or f"Classed as {cat.value}.",
                cat.sources,
                ("category", cat.value, "type", "kind"),
            )
        )
    for i in fw.interface:
        raw.append(("interface", i.text, i.sources, ("interface", "server", i.value)))
    if fw.async_support:
        raw.append(
            (
                "async",
                fw.async_support.text,
                fw.async_support.sources,
                ("async", "asyncio", "concurrency", "asynchronous"),
            )
        )
    for key, b in (fw.builtins or {}).items():
        raw.append((f"builtin:{key}", b.text, b.sources, (key, *_BUILTIN_TOPICS.get(key, ()))))
    if fw.companions:
        text = "Usual companions: " + ", ".join(f"{c.value} ({c.text})" for c in fw.companions)
        srcs = tuple(dict.fromkeys(s for c in fw.companions for s in c.sources))
        raw.append(
            (
                "companions",
                text,
                srcs,
                ("companions", "extensions", "plugins", *(c.text for c in fw.companions)),
            )
        )
    for h in fw.history:
        raw.append(("history", h.text, h.sources, ("history", *h.topics)))
    if fw.notable_users:
        text = "Used by: " + ", ".join(u.value for u in fw.notable_users)
        srcs = tuple(dict.fromkeys(s for u in fw.notable_users for s in u.sources))
        raw.append(("users", text, srcs, ("users", "companies", "who", "uses", "used")))
    for f in fw.community:
        raw.append(
            (
                "community",
                figure_text(f),
                f.sources,
                ("community", "popularity", "popular", f.metric.replace("_", " ")),
            )
        )
    if fw.bootstrap:
        raw.append(
            (
                "bootstrap",
                fw.bootstrap.text,
                fw.bootstrap.sources,
                ("bootstrap", "start", "install", "setup", "scaffold", "project"),
            )
        )
    for section, claims, topics in (
        ("strength", fw.strengths, ("strengths", "pros", "good")),
        ("weakness", fw.weaknesses, ("weaknesses", "cons", "bad", "drawbacks", "downsides")),
        ("best_for", fw.best_for, ("best", "use", "good for")),
        ("avoid_when", fw.avoid_when, ("avoid", "not", "bad for")),
        ("fact", fw.facts, ()),
        ("disagreement", fw.disagreements, ("disagree",)),
    ):
        for c in claims:
            raw.append((section, c.text, c.sources, (*topics, *c.topics)))
    for e in fw.errors:
        raw.append(
            (
                "error",
                error_text(e),
                tuple(dict.fromkeys(e.sources + e.evidence)),
                ("error", "wrong", "mistake", e.topic, *e.topics),
            )
        )
    return [Item(section, text, srcs, _stems(topics)) for section, text, srcs, topics in raw]
