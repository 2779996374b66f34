"""Framework names in a message: exact names and aliases, then rapidfuzz, then did-you-mean.

Names are resolved part by part, never against the whole sentence: exact names and aliases
first (n-grams of up to three words, also with the spaces removed, so "fast api" and "bottle
py" resolve), then rapidfuzz on the words left over: ``fuzz.ratio`` with a high cutoff, one
swapped pair of letters (OSA distance 1, "djnago"), or one wrong letter in a name of six
letters or more ("web2pi"). Words of the knowledge's own vocabulary ("event", "server",
"framework", "python") are never fuzzed, and two close candidates give a did-you-mean instead
of a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.knowledge import KnowledgeBase
from bot.roles import Mention
from bot.text import stem, words

#: fuzz.ratio score (0-100) at or above which a word is taken as a framework name.
MATCH_CUTOFF = 85
#: fuzz.ratio score at or above which a word is offered as "did you mean".
SUGGEST_CUTOFF = 70
#: A fuzzy winner must beat a different framework by this many points, or we ask.
AMBIGUITY_GAP = 4


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A word that looks like a misspelled framework, with candidate framework ids."""

    word: str
    candidates: tuple[str, ...]


class Names:
    """Resolves framework names against one knowledge base.

    Args:
        kb: the knowledge base; ``vocabulary``: ordinary words that are never fuzzed into a
            name (names themselves are taken out of it here).
    """

    def __init__(self, kb: KnowledgeBase, vocabulary: Iterable[str]) -> None:
        self.kb = kb
        self._exact: dict[str, str] = {}
        for fw in kb.frameworks.values():
            for name in (fw.name, fw.id, *fw.aliases):
                key = " ".join(words(name))
                self._exact[key] = fw.id
                self._exact.setdefault(key.replace(" ", ""), fw.id)
        self._not_covered: dict[str, str] = {}
        for nc in kb.not_covered:
            for name in (nc.name, *nc.aliases):
                key = " ".join(words(name))
                self._not_covered[key] = nc.name
                self._not_covered.setdefault(key.replace(" ", ""), nc.name)
        self._choices = sorted(k for k in self._exact if " " not in k)
        self._choice_owner = [self._exact[k] for k in self._choices]
        names = set(self._choices)
        # Only whole one-word names leave the vocabulary: "framework" in the alias "pecan
        # framework" stays an ordinary word that is never fuzzed.
        # Porter's forms of a name ("web2py" -> web2pi, "bottle" -> bottl) leave it as well.
        forms = names | {stem(n) for n in names} | {n[:-1] for n in names}
        forms |= {n[:-1] + "i" for n in names if n.endswith("y")}
        self._vocabulary = frozenset(set(vocabulary) - forms)
        self._max_words = max((len(k.split()) for k in self._exact), default=1)

    def known(self, token: str) -> bool:
        """True when ``token`` (or its stem) is an ordinary word of the knowledge or cues."""
        return token in self._vocabulary or stem(token) in self._vocabulary

    def resolve(self, tokens: list[str]) -> tuple[list[str], list[Suggestion], list[str]]:
        """Find frameworks in ``tokens``.

        Returns ``(framework ids in order of appearance, suggestions, not-covered names)``.
        """
        mentions, suggestions, not_covered = self.mentions(tokens)
        return list(dict.fromkeys(m.framework for m in mentions)), suggestions, not_covered

    def mentions(self, tokens: list[str]) -> tuple[list[Mention], list[Suggestion], list[str]]:
        """Every framework mention with its word position, plus suggestions and not-covered
        names, in order of appearance."""
        used = [False] * len(tokens)
        found: list[Mention] = []
        not_covered: list[tuple[int, str]] = []
        for n in range(min(self._max_words, 3), 0, -1):
            for i in range(len(tokens) - n + 1):
                if any(used[i : i + n]):
                    continue
                phrase = " ".join(tokens[i : i + n])
                fid = self._exact.get(phrase) or (
                    self._exact.get(phrase.replace(" ", "")) if n > 1 else None
                )
                if fid is not None:
                    found.append(Mention(fid, i, n))
                else:
                    name = self._not_covered.get(phrase)
                    if name is None:
                        continue
                    not_covered.append((i, name))
                for j in range(i, i + n):
                    used[j] = True
        suggestions: list[Suggestion] = []
        for i, token in enumerate(tokens):
            if used[i] or not self._fuzzable(token):
                continue
            fid, cands = self._fuzzy(token)
            if fid is not None:
                found.append(Mention(fid, i, 1))
                used[i] = True
            elif cands:
                suggestions.append(Suggestion(token, cands))
        found.sort(key=lambda m: m.start)
        return found, suggestions, list(dict.fromkeys(n for _, n in sorted(not_covered)))

    def _fuzzable(self, token: str) -> bool:
        return (
            len(token) >= 4
            and not token.isdecimal()
            and token not in self._vocabulary
            and stem(token) not in self._vocabulary
        )

    def _fuzzy(self, token: str) -> tuple[str | None, tuple[str, ...]]:
        # rapidfuzz is imported on first use: a message of known words never needs it, and
        # ``advisor ask`` saves its import (~10 ms).
        from rapidfuzz import fuzz, process

        hits = process.extract(
            token, self._choices, scorer=fuzz.ratio, limit=6, score_cutoff=SUGGEST_CUTOFF
        )
        best: dict[str, float] = {}
        for choice, score, idx in hits:
            owner = self._choice_owner[idx]
            if _swapped(token, choice) or _one_letter_off(token, choice):
                score = max(score, float(MATCH_CUTOFF + AMBIGUITY_GAP))
            best[owner] = max(best.get(owner, 0.0), score)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
        if not ranked:
            return None, ()
        top_id, top = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if top >= MATCH_CUTOFF and top - runner_up >= AMBIGUITY_GAP:
            return top_id, ()
        return None, tuple(fid for fid, _ in ranked[:3])

    def suggest(self, prefix: str, limit: int = 25) -> list[str]:
        """Framework ids for autocomplete: prefix matches, then fuzzy ones; at most ``limit``."""
        key = " ".join(words(prefix))
        if not key:
            return list(self.kb.frameworks)[:limit]
        out = [
            fid
            for fid, fw in self.kb.frameworks.items()
            if any(" ".join(words(n)).startswith(key) for n in (fw.name, *fw.aliases))
        ]
        from rapidfuzz import fuzz, process

        hits = process.extract(
            key.replace(" ", ""),
            self._choices,
            scorer=fuzz.WRatio,
            limit=limit * 2,
            score_cutoff=50,
        )
        out += [self._choice_owner[idx] for _c, _s, idx in hits]
        return list(dict.fromkeys(out))[:limit]


def _swapped(a: str, b: str) -> bool:
    """True when ``a`` is ``b`` with one pair of neighbouring letters swapped ("djnago")."""
    from rapidfuzz.distance import OSA

    return (
        len(a) == len(b)
        and len(a) >= 4
        and a != b
        and OSA.distance(a, b) == 1
        and (sorted(a) == sorted(b))
    )


def _one_letter_off(a: str, b: str) -> bool:
    """True for a word of six letters or more with one letter wrong ("web2pi", "djangi")."""
    from rapidfuzz.distance import OSA

    return len(a) == len(b) >= 6 and OSA.distance(a, b) == 1
