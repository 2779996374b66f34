"""What a sentence asks for, as scoring inputs for :func:`bot.recommend.rank`.

- wanted needs become causes through :func:`bot.recommend.causes_from`;
- negated needs push the other way (:func:`negated_causes`: "nothing real-time");
- a reference framework passes on its trait profile (:func:`reference_causes`: "like flask");
- the frameworks' own best_for and strength claims that match the description earn points
  (:func:`description_boosts`: "mediator between two slow legacy systems" -> Sanic).

Pure functions of the knowledge base and the understanding; nothing here does I/O.
"""

from __future__ import annotations

from bot.knowledge import Claim, KnowledgeBase
from bot.matching import Understanding
from bot.recommend import Boost, Cause
from bot.search import ClaimIndex

#: Most points a description earns a framework through its own best_for/strength claims.
BOOST_POINTS = 6.0
#: Summed BM25 relevance (best_for x1, strength x0.6, avoid_when x-0.8, weakness x-0.5) that
#: earns all of BOOST_POINTS; weaker matches earn their share, under BOOST_MIN points none.
BOOST_FULL = 20.0
BOOST_MIN = 1.0
#: Share of BOOST_POINTS a framework known only from its own docs can earn: its own claims
#: are self-description, which the articles have not weighed against the others.
DOCS_ONLY_SHARE = 0.5
#: A negated need pushes the other way with this share of its weights ("nothing real-time").
NEGATED_SHARE = 0.5
#: Share of a trait's scores a reference framework passes on ("like flask": flask's traits).
REFERENCE_SHARE = 0.5
_MATCH_SECTIONS = {"best_for": 1.0, "strength": 0.6, "avoid_when": -0.8, "weakness": -0.5}


def negated_causes(kb: KnowledgeBase, u: Understanding) -> list[Cause]:
    """Causes that push the other way, one per negated need, with NEGATED_SHARE of its weights."""
    out = []
    for n in u.needs:
        if not n.negated:
            continue
        if n.question == "signal":
            sig = next((x for x in kb.signals if x.id == n.option), None)
            if sig is None:
                continue
            label, weights = sig.label, sig.weights
        else:
            opt = kb.question(n.question).option(n.option)
            label, weights = opt.label.split(" (")[0], opt.weights
        out.append(
            Cause(
                "negated",
                f"not:{n.question}={n.option}",
                f"you do not want {label[:1].lower() + label[1:]}",
                {t: -NEGATED_SHARE * w for t, w in weights.items()},
            )
        )
    return list({c.key: c for c in out}.values())


def reference_causes(kb: KnowledgeBase, u: Understanding) -> list[Cause]:
    """One cause per reference framework with a trait profile: REFERENCE_SHARE of how far each
    of its trait scores is from neutral ("like flask" wants what Flask is strong at)."""
    out = []
    for fid in u.references:
        fw = kb.frameworks[fid]
        if not fw.traits:
            continue
        weights = {
            t: REFERENCE_SHARE * (ts.score - 2.5) for t, ts in fw.traits.items() if ts.score != 2.5
        }
        out.append(Cause("reference", f"like={fid}", f"like {fw.name}", weights))
    return out


def description_boosts(index: ClaimIndex, u: Understanding) -> list[Boost]:
    """Points from the frameworks' own claims that match the words of the description,
    leaving out names and every word in a negation scope."""
    skip = {i for n in u.needs if n.negated for i in range(n.start, n.start + n.length)}
    skip.update(u.negated_words)
    index = index
    words_ = [t for i, t in enumerate(u.tokens) if i not in skip]
    terms = [t for t in index.terms(words_) if index.specific(t)]
    # "like flask": other frameworks' claims that mention the reference ("Flask-like").
    terms += [fid for fid in u.references if fid not in terms]
    if not terms:
        return []
    totals: dict[str, float] = {}
    best: dict[str, tuple[float, Claim]] = {}
    for h in index.search(terms, limit=40):
        factor = _MATCH_SECTIONS.get(h.item.section)
        if factor is None:
            continue
        totals[h.framework] = totals.get(h.framework, 0.0) + factor * h.score
        if factor > 0 and h.score > best.get(h.framework, (0.0, None))[0]:
            best[h.framework] = (h.score, Claim(h.item.text, h.item.sources))
    out = []
    for fid, total in totals.items():
        points = BOOST_POINTS * max(-1.0, min(1.0, total / BOOST_FULL))
        if fid in index.docs_only:
            points *= DOCS_ONLY_SHARE
        if abs(points) < BOOST_MIN or fid not in best:
            continue
        claim = best[fid][1]
        out.append(Boost(fid, round(points, 2), claim.text, claim.sources))
    return out
