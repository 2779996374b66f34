"""Pure, explainable scoring: answers and need signals -> a ranked list of frameworks.

Every input is a :class:`Cause` (an answered question, a need phrase) with trait weights
(-5..5, from questions.yaml or lexicon.yaml). A framework earns, for each cause and trait,
``weight x (score - 2.5)`` points, where ``score`` is its 0-5 trait score: a strong trait
under a wanted weight gains, a weak one loses. Each trait's contribution is kept as one
:class:`Reason` that names the causes, the framework's reason for its score and that reason's
own sources (never the question's: a reason cites exactly the claim it shows).
The same inputs always give the same output (ties break on the framework name).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.knowledge import KnowledgeBase

#: A trait score of exactly this value neither gains nor loses points.
NEUTRAL_SCORE = 2.5
#: Below this gap in points (or this share of the winner's points) the top two are "close".
CLOSE_POINTS = 3.0
CLOSE_SHARE = 0.15


@dataclass(frozen=True, slots=True)
class Cause:
    """Why weights apply: an answer (``question`` + ``option``) or a need ``signal``.

    ``label`` reads well in a sentence, e.g. "project type: An API"; ``short`` names the
    cause once its full label has been given, e.g. "project type" (empty: the label itself).
    """

    kind: str
    key: str
    label: str
    weights: Mapping[str, float]
    question: str = ""
    option: str = ""
    short: str = ""

    @property
    def tag(self) -> str:
        """``short`` when there is one, else ``label``."""
        return self.short or self.label


@dataclass(frozen=True, slots=True)
class Reason:
    """One trait's contribution to one framework's score (``points`` may be negative).

    ``cause`` moved the trait most; ``also`` are the other causes that moved the same trait
    (their points are summed in, so a framework shows each trait's reason once). ``why`` is
    the framework's own claim for its score and ``sources`` exactly that claim's sources.
    """

    trait: str
    trait_label: str
    cause: Cause
    points: float
    why: str
    sources: tuple[str, ...]
    also: tuple[Cause, ...] = ()

    @property
    def cause_label(self) -> str:
        """Every cause's label, strongest first: "Building: an API; you asked for speed"."""
        return "; ".join(c.label for c in (self.cause, *self.also))

    @property
    def cause_tags(self) -> str:
        """Every cause's :attr:`Cause.tag`, strongest first: "batteries; you asked for speed".
        For a reply that gives the full labels once elsewhere (a "Based on:" line)."""
        return "; ".join(c.tag for c in (self.cause, *self.also))


@dataclass(frozen=True, slots=True)
class Boost:
    """Points a framework earns because its own claims match the description (``points`` may
    be negative when the match is in what to avoid it for); ``why`` is the claim."""

    framework: str
    points: float
    why: str
    sources: tuple[str, ...]


#: The cause every :class:`Boost` is reported under.
MATCHED = Cause("search", "search", "what you described", {})


@dataclass(frozen=True, slots=True)
class Ranked:
    """A framework's place: ``rank`` from 1, ``score`` in points, ``match`` in percent (0-100)."""

    framework: str
    name: str
    rank: int
    score: float
    match: int
    pros: tuple[Reason, ...]
    cons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Ranking:
    """The result of :func:`rank`. ``margin`` is the points between first and second."""

    items: tuple[Ranked, ...]
    causes: tuple[Cause, ...]
    margin: float
    close: bool

    def position(self, framework_id: str) -> Ranked | None:
        """The entry for ``framework_id``, or None when it was not ranked."""
        return next((r for r in self.items if r.framework == framework_id), None)

    def top(self, n: int = 3) -> tuple[Ranked, ...]:
        """The first ``n`` entries."""
        return self.items[:n]


def causes_from(
    kb: KnowledgeBase, answers: Mapping[str, str], signals: Iterable[str] = ()
) -> list[Cause]:
    """Turn answers (question id -> option id) and signal ids into causes, in question order.

    Unknown question, option or signal ids are skipped rather than raised, so that an old
    session keeps working after the knowledge changes.
    """
    out: list[Cause] = []
    for q in kb.questions:
        oid = answers.get(q.id)
        if oid is None:
            continue
        try:
            opt = q.option(oid)
        except KeyError:
            continue
        out.append(
            Cause(
                "answer",
                f"{q.id}={opt.id}",
                f"{q.short}: {opt.label}",
                opt.weights,
                q.id,
                opt.id,
                q.short,
            )
        )
    by_id = {s.id: s for s in kb.signals}
    for sid in dict.fromkeys(signals):
        sig = by_id.get(sid)
        if sig is not None:
            out.append(
                Cause("signal", f"signal={sig.id}", f"you asked for {sig.label}", sig.weights)
            )
    return out


def rank(
    kb: KnowledgeBase,
    causes: Sequence[Cause],
    *,
    limit_reasons: int = 3,
    explain: int = 20,
    boosts: Sequence[Boost] = (),
    leave_out: Iterable[str] = (),
) -> Ranking:
    """Rank every full framework of ``kb`` under ``causes``.

    Returns a :class:`Ranking` sorted by score (then name). The first ``explain`` entries keep
    their ``limit_reasons`` strongest reasons for and against; the rest carry only their score
    (:func:`why_not` explains any of them on demand). ``boosts`` add points where a framework's
    own claims match the description; frameworks in ``leave_out`` (ruled out by the person)
    are not ranked. Cost: one pass over the frameworks with one multiplication per wanted trait.
    """
    skip = set(leave_out)
    extra = {b.framework: b for b in boosts}
    wanted: dict[str, float] = {}
    for cause in causes:
        for tid, weight in cause.weights.items():
            wanted[tid] = wanted.get(tid, 0.0) + weight
    wanted = {t: w for t, w in wanted.items() if w}
    spread = sum(abs(w) for c in causes for w in c.weights.values()) * NEUTRAL_SCORE
    spread += max((abs(b.points) for b in boosts), default=0.0)
    scored: list[tuple[float, str, str]] = []
    for fw in kb.full_frameworks():
        if fw.id in skip:
            continue
        traits = fw.traits or {}
        total = extra[fw.id].points if fw.id in extra else 0.0
        for tid, weight in wanted.items():
            ts = traits.get(tid)
            if ts is not None:
                total += weight * (ts.score - NEUTRAL_SCORE)
        scored.append((round(total, 6), fw.name, fw.id))
    scored.sort(key=lambda s: (-s[0], s[1].lower()))
    items = []
    for i, (total, name, fid) in enumerate(scored, 1):
        match = 50 if spread == 0 else round(50 + 50 * total / spread)
        pros: tuple[Reason, ...] = ()
        cons: tuple[Reason, ...] = ()
        if i <= explain:
            reasons = list(_contributions(kb, causes, fid).values())
            if fid in extra:
                b = extra[fid]
                reasons.append(Reason("search", "matches", MATCHED, b.points, b.why, b.sources))
            pros = tuple(
                sorted((r for r in reasons if r.points > 0), key=lambda r: (-r.points, r.trait))[
                    :limit_reasons
                ]
            )
            cons = tuple(
                sorted((r for r in reasons if r.points < 0), key=lambda r: (r.points, r.trait))[
                    :limit_reasons
                ]
            )
        items.append(Ranked(fid, name, i, total, max(0, min(100, match)), pros, cons))
    margin = items[0].score - items[1].score if len(items) > 1 else 0.0
    close = len(items) > 1 and (margin < CLOSE_POINTS or margin < CLOSE_SHARE * abs(items[0].score))
    return Ranking(tuple(items), tuple(causes), round(margin, 2), close)


def why_not(kb: KnowledgeBase, ranking: Ranking, framework_id: str) -> list[Reason]:
    """Where ``framework_id`` lost ground against the winner, biggest gap first.

    Each returned reason is one of the framework's own contributions whose points trail the
    winner's points for the same cause and trait. Empty when it is the winner or unranked.
    """
    me, top = ranking.position(framework_id), ranking.items[0] if ranking.items else None
    if me is None or top is None or me.framework == top.framework:
        return []
    mine = _contributions(kb, ranking.causes, me.framework)
    theirs = _contributions(kb, ranking.causes, top.framework)
    gaps = [
        (theirs[k].points - r.points, r)
        for k, r in mine.items()
        if k in theirs and theirs[k].points > r.points
    ]
    gaps.sort(key=lambda g: (-g[0], g[1].trait))
    return [r for _, r in gaps]


def _contributions(
    kb: KnowledgeBase, causes: Sequence[Cause], framework_id: str
) -> dict[str, Reason]:
    """Trait id -> the framework's one :class:`Reason` for it under ``causes``: the points of
    every cause that weighs the trait summed, cited to the framework's own trait claim only."""
    fw = kb.frameworks[framework_id]
    moved: dict[str, list[tuple[float, Cause]]] = {}
    for cause in causes:
        for tid, weight in cause.weights.items():
            if weight and tid in (fw.traits or {}):
                moved.setdefault(tid, []).append((weight, cause))
    out: dict[str, Reason] = {}
    for tid, pulls in moved.items():
        ts = (fw.traits or {})[tid]
        total = sum(w for w, _c in pulls)
        if not total:
            continue
        ordered = [c for _w, c in sorted(pulls, key=lambda p: -abs(p[0]))]
        out[tid] = Reason(
            tid,
            kb.traits.get(tid, tid),
            ordered[0],
            total * (ts.score - NEUTRAL_SCORE),
            ts.why,
            ts.sources,
            tuple(ordered[1:]),
        )
    return out


@dataclass(frozen=True, slots=True)
class Move:
    """A framework whose place changed between two rankings (``before``/``after`` from 1)."""

    framework: str
    name: str
    before: int
    after: int


def moves(before: Ranking, after: Ranking, *, top: int = 5) -> list[Move]:
    """Frameworks that moved and were in the first ``top`` places before or after, best first."""
    old = {r.framework: r.rank for r in before.items}
    out = [
        Move(r.framework, r.name, old.get(r.framework, 0), r.rank)
        for r in after.items
        if old.get(r.framework) != r.rank and (r.rank <= top or old.get(r.framework, 99) <= top)
    ]
    return sorted(out, key=lambda m: (m.after, m.name))
