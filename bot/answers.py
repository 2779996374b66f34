"""One-shot answers: turn an :class:`~bot.matching.Understanding` into replies.

Every statement shown carries its source ids in brackets, and every reply lists the sources
it used in its footer. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import partial

from bot.facts import figure_text
from bot.knowledge import Claim, Criterion, Framework, KnowledgeBase, KnownError
from bot.matching import MAX_MESSAGE_CHARS, Matcher, Understanding
from bot.queries import Queries, cite

__all__ = ["Answerer", "cite", "with_cite"]
from bot.advice import description_boosts, negated_causes, reference_causes
from bot.recommend import MATCHED, Ranking, Reason, causes_from, rank
from bot.replies import Choice, Field, Reply, SourceRef, Table

#: How an interface value reads in a table cell.
INTERFACE_LABELS = {"wsgi": "WSGI", "asgi": "ASGI", "own-server": "own server", "cgi": "CGI"}

EXAMPLES = (
    "flask vs pyramid",
    "what event loop does Sanic use?",
    "which is best for websockets?",
    "list microframeworks",
    "help me pick",
)


def with_cite(claim: Claim) -> str:
    """A claim's text followed by its source ids."""
    return f"{claim.text} {cite(claim.sources)}"


def error_cited(e: KnownError) -> str:
    """A known error: what the source says with its id, then the correction with its evidence."""
    return f"{e.says} {cite(e.sources)} That is an error: {e.correction} {cite(e.evidence)}"


class Answerer:
    """Builds replies for the one-shot intents from one knowledge base."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher) -> None:
        self.kb = kb
        self.matcher = matcher
        self.queries = Queries(kb, matcher.index, self.refs)
        #: Frameworks no seed article speaks of: everything about them is from their own docs.
        self.docs_only = matcher.index.docs_only

    # ------------------------------------------------------------------ helpers

    def docs_note(self, fids: Iterable[str], *, ranked: bool = False) -> list[str]:
        """One notice naming the frameworks in ``fids`` that the articles do not cover, saying
        where their facts come from instead (empty when every one is covered)."""
        names = [self.name(f) for f in dict.fromkeys(fids) if f in self.docs_only]
        if not names:
            return []
        them = " and ".join(names) if len(names) < 3 else ", ".join(names)
        how = "scored from" if ranked else "described from"
        return [
            f"The five articles do not cover {them}; {'they are' if len(names) > 1 else 'it is'} "
            f"{how} {'their' if len(names) > 1 else 'its'} own documentation, so comparisons "
            "with the others are not covered by the articles."
        ]

    def refs(self, ids: Iterable[str]) -> tuple[SourceRef, ...]:
        """Source references for ``ids`` (unknown ids are skipped), article sources first."""
        out = []
        for sid in dict.fromkeys(ids):
            s = self.kb.sources.get(sid)
            if s is not None:
                out.append(
                    SourceRef(id=s.id, title=s.title, publisher=s.publisher, date=s.when, url=s.url)
                )
        return tuple(sorted(out, key=lambda r: (self.kb.sources[r.id].kind != "article", r.id)))

    def name(self, framework_id: str) -> str:
        """Canonical name of a framework id."""
        return self.kb.frameworks[framework_id].name

    # ------------------------------------------------------------------ dispatch

    def answer(self, u: Understanding) -> Reply:
        """The reply for a one-shot understanding (the flow is handled by the conversation)."""
        if u.too_long:
            return Reply(
                intent="help",
                kind="error",
                title="That message is too long",
                paragraphs=(
                    f"Please keep questions under {MAX_MESSAGE_CHARS:,} "
                    'characters, e.g. "flask vs django".',
                ),
            )
        if u.intent == "compare":
            return self.compare(u.frameworks, u.not_covered, u.criteria)
        if u.intent == "about" and u.frameworks:
            short = self.queries.facts(u.frameworks[0], u.tokens)
            if short is not None:
                return replace(short, notices=tuple(self._not_covered_notes(u.not_covered)))
            return self.about(u.frameworks[0], u.tokens, u.not_covered)
        if u.intent == "about" and u.lookup:
            return self.queries.lookup(u)
        if u.intent == "list" and u.figure:
            return self.queries.figures(u)
        if u.intent == "list" and u.lookup and not u.selectors:
            return self.queries.lookup(u)
        if u.intent == "list":
            return self.queries.listing(u)
        if u.intent == "recommend":
            return self.recommend(u)
        if u.intent == "help":
            return self.help(off_topic=u.off_topic)
        return self.unknown(u)

    # ------------------------------------------------------------------ intents

    def help(self, *, off_topic: bool = False) -> Reply:
        """Usage, with example questions as buttons; ``off_topic`` first says kindly that the
        message did not look like a question about Python web frameworks."""
        covered = ", ".join(f.name for f in self.kb.full_frameworks())
        lead = (
            ("That doesn't look like a question about Python web frameworks, which is all I know.",)
            if off_topic
            else ()
        )
        return Reply(
            intent="help",
            title="framework-advisor: choosing a Python web framework",
            paragraphs=(
                *lead,
                'Ask me to compare frameworks ("flask vs pyramid"), about one framework '
                '("what event loop does Sanic use?"), for the best fit for a need ("which is '
                'best for websockets?"), or to list a category ("list microframeworks").',
                'Say "help me pick" and I will ask a few questions, then rank the frameworks '
                "and show which answer moved which one.",
                f"I cover {covered}, plus short notes on Zope, Pylons, Pecan, webapp2, Diesel, "
                "Twisted, gevent and Pulsar. Every answer names its sources.",
            ),
            choices=tuple(Choice(label=e, value=f"ask:{e}") for e in EXAMPLES),
        )

    def about(self, fid: str, tokens: Sequence[str], not_covered: Sequence[str] = ()) -> Reply:
        """A framework's summary, the facts matching the question, figures and hello-world."""
        fw = self.kb.frameworks[fid]
        index = self.matcher.index
        hits = [h.item for h in index.search(index.terms(tokens), frameworks=[fid], limit=3)]
        used: list[str] = list(fw.summary.sources)
        paragraphs = [with_cite(fw.summary)]
        if hits:
            lines = [f"- {h.text} {cite(h.sources)}" for h in hits]
            paragraphs.append("On your question:\n" + "\n".join(lines))
            used += [s for h in hits for s in h.sources]
        fields = [Field(name="Category", value=self._categories(fw))]
        used += [s for c in fw.categories for s in c.sources]
        for label, claims in (("Best for", fw.best_for), ("Avoid when", fw.avoid_when)):
            if claims:
                fields.append(Field(name=label, value="; ".join(with_cite(c) for c in claims)))
                used += [s for c in claims for s in c.sources]
        if fw.community:
            fields.append(
                Field(
                    name="Community",
                    value="; ".join(f"{figure_text(f)} {cite(f.sources)}" for f in fw.community),
                )
            )
            used += [s for f in fw.community for s in f.sources]
        if fw.bootstrap:
            fields.append(Field(name="Get started", value=with_cite(fw.bootstrap)))
            used += fw.bootstrap.sources
        if not fw.is_full:
            shown = {h.text for h in hits}
            paragraphs += [with_cite(c) for c in fw.facts if c.text not in shown][:3]
            used += [s for c in fw.facts for s in c.sources]
        if fw.disagreements:
            fields.append(
                Field(
                    name="Where the sources disagree",
                    value="; ".join(with_cite(d) for d in fw.disagreements),
                )
            )
            used += [s for d in fw.disagreements for s in d.sources]
        if fw.errors:
            fields.append(
                Field(
                    name="Known errors in the sources", value=" ".join(map(error_cited, fw.errors))
                )
            )
            used += [s for e in fw.errors for s in (*e.sources, *e.evidence)]
        notices = self._not_covered_notes(not_covered) + self.docs_note([fw.id])
        code = fw.hello_world.code if fw.hello_world else ""
        if fw.hello_world:
            used += fw.hello_world.sources
        return Reply(
            intent="about",
            title=fw.name,
            paragraphs=tuple(paragraphs),
            fields=tuple(fields),
            code=code,
            code_title=f"Hello world (run: {fw.hello_world.run})" if fw.hello_world else "",
            notices=tuple(notices),
            sources=self.refs(used),
            frameworks=(fw.name,),
        )

    def _categories(self, fw: Framework) -> str:
        parts = [f"{c.value} {cite(c.sources)}" for c in fw.categories]
        text = "; ".join(parts)
        if any(
            a.value != b.value and not set(a.sources) & set(b.sources)
            for a in fw.categories
            for b in fw.categories
        ):
            text += " (the sources disagree)"
        return text

    def _not_covered_notes(self, names: Sequence[str], *, reference: bool = False) -> list[str]:
        """One line per framework not covered; with ``reference``, says it was taken as a
        reference point for the recommendation instead."""
        langs = {n.name: n.language for n in self.kb.not_covered}
        tail = " I took it as a reference point for what you described." if reference else ""
        return [
            (
                f"{n} is not covered here ({langs.get(n, 'another')} framework); I only know "
                "Python web frameworks."
                if langs.get(n) != "Python"
                else f"{n} is a Python framework I do not cover yet."
            )
            + tail
            for n in names
        ]

    def compare(
        self, fids: Sequence[str], not_covered: Sequence[str] = (), criteria: Sequence[str] = ()
    ) -> Reply:
        """A side-by-side table of the same attributes, the main differences and a verdict.

        With ``criteria`` (ids from understanding.yaml: "speed", "realtime"...), the reply leads
        with that criterion: each framework's trait scores and reasons, the claims on it, and
        which one leads; the table gains those trait rows.
        """
        fws = [self.kb.frameworks[f] for f in fids[:4]]
        used: list[str] = []
        lead = self._on_criteria(fws, criteria, used)
        rows = [self._row("Category", fws, lambda f: "/".join(f.category_values()))]
        rows.append(
            self._row(
                "Interface",
                fws,
                lambda f: (
                    " + ".join(INTERFACE_LABELS.get(i.value, i.value) for i in f.interface) or "-"
                ),
            )
        )
        rows.append(
            self._row("Async", fws, lambda f: f.async_support.value if f.async_support else "-")
        )
        for key, label in (
            ("orm", "ORM built in"),
            ("admin", "Admin built in"),
            ("templates", "Templates built in"),
        ):
            rows.append(self._row(label, fws, partial(_builtin_cell, key=key)))
        for metric, label in (
            ("github_stars", "GitHub stars"),
            ("stackoverflow_questions", "Stack Overflow questions"),
        ):
            rows.append(self._row(label, fws, partial(_figure_cell, metric=metric)))
        for f in fws:
            used += [s for c in f.categories for s in c.sources]
            used += [s for x in f.community for s in x.sources]
            used += [s for i in f.interface for s in i.sources]
        rows[:0] = [
            self._row(self.kb.traits.get(tid, tid), fws, partial(_trait_cell, tid=tid))
            for c in self._criteria(criteria)
            for tid in c.traits
        ]
        paragraphs = lead + self._differences(fws, used)
        verdict = []
        for f in fws:
            if f.best_for:
                verdict.append(
                    f"Pick {f.name} for {f.best_for[0].text} {cite(f.best_for[0].sources)}."
                )
                used += f.best_for[0].sources
            else:
                verdict.append(f"{f.name}: {with_cite(f.summary)}")
                used += f.summary.sources
        paragraphs.append(" ".join(verdict))
        disputed = [f"- {f.name}, {with_cite(d)}" for f in fws for d in f.disagreements]
        if disputed:
            paragraphs.append("Where the sources disagree:\n" + "\n".join(disputed))
            used += [s for f in fws for d in f.disagreements for s in d.sources]
        wrong = [f"- {f.name}: {error_cited(e)}" for f in fws for e in f.errors]
        if wrong:
            paragraphs.append("Known errors in the sources:\n" + "\n".join(wrong))
            used += [s for f in fws for e in f.errors for s in (*e.sources, *e.evidence)]
        notices = self._not_covered_notes(not_covered) + self.docs_note(f.id for f in fws)
        if len(fids) > 4:
            notices.append("I compare at most four frameworks at a time; showing the first four.")
        table = Table(columns=("", *(f.name for f in fws)), rows=tuple(rows))
        return Reply(
            intent="compare",
            title=" vs ".join(f.name for f in fws),
            paragraphs=tuple(paragraphs),
            table=table,
            notices=tuple(notices),
            sources=self.refs(used),
            frameworks=tuple(f.name for f in fws),
        )

    def _criteria(self, ids: Sequence[str]) -> list[Criterion]:
        by_id = {c.id: c for c in self.kb.cues.criteria}
        return [by_id[i] for i in ids if i in by_id][:2]

    def _on_criteria(
        self, fws: Sequence[Framework], criteria: Sequence[str], used: list[str]
    ) -> list[str]:
        """Paragraphs that answer the comparison's criterion first (see :meth:`compare`)."""
        out = []
        for c in self._criteria(criteria):
            scored = []
            lines = []
            for f in fws:
                traits = [(tid, (f.traits or {}).get(tid)) for tid in c.traits]
                known = [(tid, t) for tid, t in traits if t is not None]
                total = sum(t.score for _tid, t in known)
                scored.append((total if known else -1, f))
                parts = [
                    f"{self.kb.traits.get(tid, tid)} {t.score}/5 ({t.why} {cite(t.sources)})"
                    for tid, t in known
                ]
                used += [s for _tid, t in known for s in t.sources]
                hits = self.matcher.index.search(c.topics, frameworks=[f.id], limit=1)
                if hits:
                    parts.append(f"{hits[0].item.text} {cite(hits[0].item.sources)}")
                    used += hits[0].item.sources
                lines.append(f"- {f.name}: " + "; ".join(parts or ["no claim on this"]))
            scored.sort(key=lambda x: -x[0])
            if len(scored) > 1 and scored[0][0] > scored[1][0]:
                verdict = f"On {c.label}, {scored[0][1].name} comes out ahead."
            else:
                verdict = f"On {c.label}, the sources put them level."
            out.append(f"{verdict}\n" + "\n".join(lines))
        return out

    @staticmethod
    def _row(
        label: str, fws: Sequence[Framework], cell: Callable[[Framework], str]
    ) -> tuple[str, ...]:
        return (label, *(cell(f) for f in fws))

    def _differences(self, fws: Sequence[Framework], used: list[str]) -> list[str]:
        full = [f for f in fws if f.traits]
        if len(full) < 2:
            return []
        gaps = []
        for tid, label in self.kb.traits.items():
            scores = [(f.traits[tid].score, f) for f in full if f.traits and tid in f.traits]
            if len(scores) < 2:
                continue
            hi, lo = max(scores, key=lambda s: s[0]), min(scores, key=lambda s: s[0])
            if hi[0] - lo[0] >= 2:
                gaps.append((hi[0] - lo[0], tid, label, hi[1], lo[1]))
        gaps.sort(key=lambda g: (-g[0], g[1]))
        lines = []
        for _gap, tid, label, hi_fw, lo_fw in gaps[:3]:
            assert hi_fw.traits is not None and lo_fw.traits is not None
            hi_t, lo_t = hi_fw.traits[tid], lo_fw.traits[tid]
            lines.append(
                f"- {label}: {hi_fw.name} {hi_t.score}/5 ({hi_t.why} {cite(hi_t.sources)})"
                f" vs {lo_fw.name} {lo_t.score}/5 ({lo_t.why} {cite(lo_t.sources)})"
            )
            used += [*hi_t.sources, *lo_t.sources]
        return ["Where they differ most:\n" + "\n".join(lines)] if lines else []

    def recommend(self, u: Understanding) -> Reply:
        """A one-shot ranking from what the sentence asks for; neutral for everything else.

        Wanted needs count for, negated ones ("nothing real-time") against; a reference
        ("like flask") passes on its own trait profile; the frameworks' own best_for and
        strength claims that match the description add points (:class:`~bot.recommend.Boost`).
        Excluded and reference frameworks are not ranked.
        """
        wanted = [n for n in u.needs if not n.negated]
        answers: dict[str, str] = {}
        for n in wanted:
            if n.question != "signal":
                answers.setdefault(n.question, n.option)
        signals = [n.option for n in wanted if n.question == "signal"]
        causes = causes_from(self.kb, answers, signals)
        causes += negated_causes(self.kb, u)
        causes += reference_causes(self.kb, u)
        boosts = description_boosts(self.matcher.index, u)
        leave_out = (*u.excluded, *u.references)
        notices = self._not_covered_notes(u.not_covered, reference=bool(causes or boosts))
        notices += [
            f"{lang} frameworks are not covered here; I only know Python web frameworks."
            for lang in u.languages
        ]
        if u.excluded:
            notices.append("Left out as you asked: " + ", ".join(map(self.name, u.excluded)) + ".")
        if not causes and not boosts:
            return Reply(
                intent="recommend",
                title="Tell me a bit more",
                paragraphs=(
                    "I could not find a need I know in that. Describe the project "
                    '("real-time chat", "API with validation", "admin-heavy site", '
                    '"tiny prototype for a beginner") or let me ask a few questions.',
                ),
                notices=tuple(notices),
                choices=(Choice(label="Help me pick", value="ask:help me pick", primary=True),),
            )
        if boosts:
            causes.append(MATCHED)
        ranking = rank(self.kb, causes, boosts=boosts, leave_out=leave_out)
        reply = self.ranking_reply(ranking, title="Best fits for what you described")
        return replace(reply, notices=(*notices, *reply.notices))

    def ranking_reply(
        self,
        ranking: Ranking,
        *,
        title: str,
        top: int = 3,
        answered: tuple[int, int] | None = None,
    ) -> Reply:
        """The top ``top`` of a ranking with the reasons that moved each, margin and sources.

        The ranking comes first; each reason names its causes by :attr:`Reason.cause_tags`
        ("project type"), and one closing "Based on:" line gives every cause's full label
        once ("project type: An API"), so no answer is repeated per reason.
        ``answered`` is (questions answered, questions asked) for a selection conversation: the
        reply then leads with a confidence line from what is known (:func:`confidence`) and
        each match says how many answers it rests on."""
        used: list[str] = []
        paragraphs = []
        given = "; ".join(c.label for c in ranking.causes)
        based_on = f"Based on: {given}." if given else "Based on: no answers yet."
        if answered is not None:
            paragraphs.append(confidence(ranking, *answered))
        basis = ""
        if answered is not None and answered[0] < answered[1]:
            basis = f" on {plural(answered[0], 'answer')}"
        for r in ranking.top(top):
            tag = "; from its own docs" if r.framework in self.docs_only else ""
            lines = [f"{r.rank}. {r.name} ({r.match}% match{basis}{tag})"]
            lines += [f"   + {_reason(x)}" for x in r.pros]
            lines += [f"   - {_reason(x)}" for x in r.cons]
            used += [s for x in (*r.pros, *r.cons) for s in x.sources]
            paragraphs.append("\n".join(lines))
        notices = self.docs_note((r.framework for r in ranking.top(top)), ranked=True)
        if len(ranking.items) > 1:
            a, b = ranking.items[0], ranking.items[1]
            paragraphs.append(
                f"Margin between first and second: {plural(ranking.margin, 'point')}."
            )
            if ranking.close:
                notices.append(
                    f"Close call: {a.name} leads {b.name} by only "
                    f"{plural(ranking.margin, 'point')}; either is a reasonable choice."
                )
        paragraphs.append(based_on)
        return Reply(
            intent="recommend",
            kind="recommendation",
            title=title,
            paragraphs=tuple(paragraphs),
            notices=tuple(notices),
            sources=self.refs(used),
            frameworks=tuple(r.name for r in ranking.top(top)),
        )

    def unknown(self, u: Understanding) -> Reply:
        """Not-covered names, did-you-mean suggestions, or a pointer to help."""
        notices = self._not_covered_notes(u.not_covered)
        notices += [
            f"{lang} frameworks are not covered here; I only know Python web frameworks."
            for lang in u.languages
        ]
        choices: list[Choice] = []
        paragraphs: list[str] = []
        quoted: list[str] = []
        for s in u.suggestions[:3]:
            names = [self.name(c) for c in s.candidates]
            paragraphs.append(
                f'"{s.word}" is not a framework I know. Did you mean {" or ".join(names)}?'
            )
            choices += [Choice(label=n, value=f"ask:{n}") for n in names]
            quoted.append(s.word)
        if not paragraphs and notices:
            paragraphs.append(
                "I can compare and recommend these: "
                + ", ".join(f.name for f in self.kb.full_frameworks())
                + "."
            )
        if not paragraphs:
            paragraphs.append(
                'I did not catch a framework or a need in that. Try one of these, or say "help".'
            )
            choices = [Choice(label=e, value=f"ask:{e}") for e in EXAMPLES[:3]]
        return Reply(
            intent="unknown",
            title="I'm not sure what you mean" if not notices else "Not covered",
            paragraphs=tuple(paragraphs),
            notices=tuple(notices),
            choices=tuple(dict.fromkeys(choices)),
            quoted=tuple(dict.fromkeys(quoted)),
        )


def plural(n: float, noun: str) -> str:
    """``n`` and ``noun``, with an "s" unless ``n`` is exactly 1: "1 point", "2.5 points"."""
    return f"{n:g} {noun}" + ("" if n == 1 else "s")


def confidence(ranking: Ranking, answered: int, asked: int) -> str:
    """One line on how far to trust a ranking, from what is known: low with fewer than 3 of
    the questions answered (or under 5 with a close call), high with 6 or more and a clear
    lead, medium otherwise. Says how many were answered and the lead in points."""
    if answered < 3 or (answered < 5 and ranking.close):
        level = "low"
    elif answered >= 6 and not ranking.close:
        level = "high"
    else:
        level = "medium"
    line = f"Confidence: {level} ({answered} of {asked} questions answered"
    if len(ranking.items) > 1:
        a, b = ranking.items[0], ranking.items[1]
        line += f"; {a.name} leads {b.name} by {plural(ranking.margin, 'point')}"
    return line + ")."


def _reason(r: Reason) -> str:
    return f"{r.trait_label} ({r.cause_tags}): {r.why} {cite(r.sources)}"


def _trait_cell(fw: Framework, tid: str) -> str:
    t = (fw.traits or {}).get(tid)
    return f"{t.score}/5" if t is not None else "no claim"


def _builtin_cell(fw: Framework, key: str) -> str:
    if fw.builtins is None:
        return "-"
    return "yes" if fw.builtins[key].included else "no"


def _figure_cell(fw: Framework, metric: str) -> str:
    figs = [f for f in fw.community if f.metric == metric]
    if not figs:
        return "not given"
    return "; ".join(f"{f.value:,.0f}, {f.when}" for f in figs)
