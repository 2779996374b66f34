"""Understanding a message: clean it, resolve framework names, detect the intent.

Framework names are resolved part by part, never against the whole sentence: exact names and
aliases first (n-grams of up to three words, also with the spaces removed, so "fast api" and
"bottle py" resolve), then rapidfuzz's ``fuzz.ratio`` on the words left over, with a high cutoff.
Words of the knowledge base's own vocabulary ("event", "server") are never fuzzed into
frameworks, and two close candidates give a did-you-mean instead of a guess.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process

from bot.knowledge import KnowledgeBase

#: Longest message, in characters, that is understood; longer ones get a polite refusal.
MAX_MESSAGE_CHARS = 4000
#: How many understood texts :meth:`Matcher.understand` remembers.
UNDERSTOOD_CACHE = 2048
#: fuzz.ratio score (0-100) at or above which a word is taken as a framework name.
MATCH_CUTOFF = 85
#: fuzz.ratio score at or above which a word is offered as "did you mean".
SUGGEST_CUTOFF = 70
#: A fuzzy winner must beat a different framework by this many points, or we ask.
AMBIGUITY_GAP = 4

STOPWORDS = frozenset(
    """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing done down during each few for from further
had has have having he her here hers him his how i if in into is it its itself just me more most
my no nor not now of off on once only or other our ours out over own same she should so some such
than that the their them then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours yourself
us vs versus v compare comparison difference differences between better best which one
tell know about please thanks thank hi hello hey ok okay want need use using used get got
framework frameworks python web library libraries really much many like also lot lots good
""".split()
)

_MARKUP = re.compile(
    r"<[!@#][^>]*>"  # Slack <!channel> <!here> <@U123> <#C1|x>; Discord <@123>
    r"|<a?:\w+:\d+>"  # Discord custom emoji
    r"|@(?:everyone|here|channel)\b",  # plain-text mass mentions
    re.IGNORECASE,
)
_SLACK_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_WORD = re.compile(r"[a-z0-9][a-z0-9.+#-]*[a-z0-9+#]|[a-z0-9]")

_CATEGORY_WORDS = {
    "micro": (
        "micro",
        "microframework",
        "microframeworks",
        "micro-framework",
        "micro-frameworks",
        "lightweight",
        "minimal",
    ),
    "full-stack": (
        "full-stack",
        "fullstack",
        "full stack",
        "batteries-included",
        "batteries included",
    ),
    "async": ("async", "asynchronous", "asyncio", "non-blocking"),
    "library": ("networking libraries", "async libraries", "networking library"),
}
_LIST_CUES = (
    "list",
    "which frameworks",
    "what frameworks",
    "which are",
    "show me",
    "show all",
    "all the",
    "are there",
    "frameworks are",
    "kinds of",
    "types of",
    "name the",
    "which python",
    "what are the",
    "what python",
)
_NEED_CUES = (
    "best",
    "need",
    "needs",
    "should",
    "recommend",
    "suggest",
    "want",
    "looking for",
    "building",
    "build",
    "for a",
    "for my",
    "for our",
    "for an",
    "good for",
    "ideal",
    "right for",
    "which one",
    "help me pick",
    "help me choose",
    "help me decide",
    "what to use",
    "which to use",
    "choose",
    "pick",
)
_FLOW_CUES = (
    "help me pick",
    "help me choose",
    "help me decide",
    "recommend",
    "recommendation",
    "which should i",
    "what should i use",
    "pick a framework",
    "choose a framework",
    "start over",
    "selection",
)
_HELP_WORDS = {
    "help",
    "?",
    "usage",
    "commands",
    "what can you do",
    "how does this work",
    "hi",
    "hello",
    "hey",
    "start",
    "menu",
    "options",
    "how do i use this",
}


def clean(text: str) -> str:
    """Strip platform mentions and markup, fold Unicode (NFKC) and collapse white space.

    ``<!channel>``, ``<!here>``, ``<@U123>``, ``@everyone`` and ``@here`` are removed so they can
    never be echoed back live. Slack links keep their label. Returns at most
    :data:`MAX_MESSAGE_CHARS` + 1 characters so that callers can still tell a message was long.
    """
    text = unicodedata.normalize("NFKC", text[: MAX_MESSAGE_CHARS * 4])
    text = _SLACK_LINK.sub(r"\2", text)
    text = _MARKUP.sub(" ", text)
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return " ".join(text.split())[: MAX_MESSAGE_CHARS + 1]


def words(text: str) -> list[str]:
    """Lower-case word tokens of ``text`` (letters, digits and ``.+#-`` inside a word)."""
    return _WORD.findall(text.lower().replace("’", "'"))


def stem(word: str) -> str:
    """A crude, consistent stem: lower case, trailing plural ``s`` dropped from long words."""
    word = word.lower()
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=4096)
def _phrase_words(phrase: str) -> tuple[str, ...]:
    return tuple(words(phrase))


def has_phrase(tokens: Sequence[str], phrase: str) -> bool:
    """True when the words of ``phrase`` appear consecutively in ``tokens``."""
    target = _phrase_words(phrase)
    n = len(target)
    if n == 0:
        return False
    first = target[0]
    if n == 1:
        return first in tokens
    return any(
        tokens[i] == first and tuple(tokens[i : i + n]) == target
        for i in range(len(tokens) - n + 1)
    )


T = TypeVar("T")


class PhraseIndex(Generic[T]):
    """Finds known phrases in a token list, longest first, without overlaps.

    Matching is on :func:`stem` of each word, so "websockets" finds "websocket". Lookup costs
    grow with the message, not with the number of phrases.
    """

    def __init__(self, items: Iterable[tuple[str, T]]) -> None:
        by_first: dict[str, list[tuple[tuple[str, ...], T]]] = {}
        for phrase, payload in items:
            key = tuple(stem(w) for w in words(phrase))
            if key:
                by_first.setdefault(key[0], []).append((key, payload))
        for entries in by_first.values():
            entries.sort(key=lambda e: -len(e[0]))
        self._by_first = by_first

    def find(self, tokens: Iterable[str]) -> list[tuple[int, int, T]]:
        """Return ``(start, length, payload)`` for each match, left to right."""
        stems = [stem(t) for t in tokens]
        out: list[tuple[int, int, T]] = []
        i = 0
        while i < len(stems):
            for key, payload in self._by_first.get(stems[i], ()):
                if tuple(stems[i : i + len(key)]) == key:
                    out.append((i, len(key), payload))
                    i += len(key)
                    break
            else:
                i += 1
        return out


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A word that looks like a misspelled framework, with candidate framework ids."""

    word: str
    candidates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Understanding:
    """What a message is about.

    Attributes:
        intent: compare, about, recommend, list, help or unknown.
        frameworks: resolved framework ids, in the order they appear.
        category: for ``list``, the category asked about (micro, full-stack, async, library).
        suggestions: did-you-mean candidates for words that nearly matched.
        not_covered: names of frameworks the knowledge base does not cover (e.g. "Laravel").
        tokens: the cleaned message's words; ``text``: the cleaned message.
        flow: True when the message asks to be walked through the selection questions.
        too_long: True when the message was over :data:`MAX_MESSAGE_CHARS`.
    """

    intent: str
    frameworks: tuple[str, ...]
    text: str
    tokens: tuple[str, ...]
    category: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    not_covered: tuple[str, ...] = ()
    flow: bool = False
    too_long: bool = False


class Matcher:
    """Resolves framework names and intents against one knowledge base.

    Built once per knowledge base: an exact index of names and aliases (with and without
    spaces), the choices for rapidfuzz, and the set of ordinary words never fuzzed.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._understood = functools.lru_cache(maxsize=UNDERSTOOD_CACHE)(self._understand)
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
        name_words = {w for k in self._exact for w in k.split()}
        vocab: set[str] = set(STOPWORDS)
        for text in _knowledge_texts(kb):
            vocab.update(words(text))
        self._vocabulary = frozenset(vocab - name_words)
        self._max_words = max((len(k.split()) for k in self._exact), default=1)
        self.needs: PhraseIndex[tuple[str, str]] = PhraseIndex(
            [(t, (q.id, o.id)) for q in kb.questions for o in q.options for t in o.terms]
            + [(t, ("signal", s.id)) for s in kb.signals for t in s.terms]
        )

    # ------------------------------------------------------------------ entities

    def resolve(self, tokens: list[str]) -> tuple[list[str], list[Suggestion], list[str]]:
        """Find frameworks in ``tokens``.

        Returns ``(framework ids in order of appearance, suggestions, not-covered names)``.
        """
        used = [False] * len(tokens)
        found: list[tuple[int, str]] = []
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
                    found.append((i, fid))
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
                found.append((i, fid))
                used[i] = True
            elif cands:
                suggestions.append(Suggestion(token, cands))
        ordered = list(dict.fromkeys(fid for _, fid in sorted(found)))
        return ordered, suggestions, list(dict.fromkeys(n for _, n in sorted(not_covered)))

    def _fuzzable(self, token: str) -> bool:
        return (
            len(token) >= 4
            and not token.isdecimal()
            and token not in self._vocabulary
            and stem(token) not in self._vocabulary
        )

    def _fuzzy(self, token: str) -> tuple[str | None, tuple[str, ...]]:
        hits = process.extract(
            token, self._choices, scorer=fuzz.ratio, limit=6, score_cutoff=SUGGEST_CUTOFF
        )
        best: dict[str, float] = {}
        for _choice, score, idx in hits:
            owner = self._choice_owner[idx]
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
        hits = process.extract(
            key.replace(" ", ""),
            self._choices,
            scorer=fuzz.WRatio,
            limit=limit * 2,
            score_cutoff=50,
        )
        out += [self._choice_owner[idx] for _c, _s, idx in hits]
        return list(dict.fromkeys(out))[:limit]

    # ------------------------------------------------------------------ intent

    def understand(self, raw: str) -> Understanding:
        """Clean ``raw`` and work out its intent and entities. Never raises.

        Results are pure functions of ``raw`` and the knowledge base, so the last
        :data:`UNDERSTOOD_CACHE` texts are remembered (a repeated question costs a lookup).
        """
        return self._understood(raw)

    def _understand(self, raw: str) -> Understanding:
        text = clean(raw)
        if len(text) > MAX_MESSAGE_CHARS:
            return Understanding("help", (), text[:200], (), too_long=True)
        tokens = words(text)
        if not tokens:
            return Understanding("help", (), text, ())
        joined = " ".join(tokens)
        fws, suggestions, not_covered = self.resolve(tokens)
        flow = any(has_phrase(tokens, c) for c in _FLOW_CUES) or tokens[0] == "recommend"
        category = self._category(tokens)

        def make(intent: str, category: str | None = None) -> Understanding:
            return Understanding(
                intent,
                tuple(fws),
                text,
                tuple(tokens),
                category=category,
                suggestions=tuple(suggestions),
                not_covered=tuple(not_covered),
                flow=flow and not fws,
            )

        if (joined in _HELP_WORDS or tokens[0] == "help" and not flow) and not fws:
            return make("help")
        if len(fws) >= 2:
            return make("compare")
        need = any(has_phrase(tokens, c) for c in _NEED_CUES)
        if len(fws) == 1:
            return make("about")
        if (
            category
            and not need
            and (any(has_phrase(tokens, c) for c in _LIST_CUES) or len(tokens) <= 3)
        ):
            return make("list", category=category)
        if flow or need or self._mentions_needs(tokens):
            if not_covered and not flow:
                return make("unknown")
            return make("recommend")
        if category:
            return make("list", category=category)
        return make("unknown")

    def _category(self, tokens: list[str]) -> str | None:
        for cat, phrases in _CATEGORY_WORDS.items():
            if any(has_phrase(tokens, p) for p in phrases):
                return cat
        return None

    def prefill(self, tokens: Iterable[str]) -> tuple[dict[str, str], list[str]]:
        """Answers and need signals that a sentence already gives.

        Returns ``(question id -> option id, signal ids)``; the first option found for a
        question wins. "small async API, team knows asyncio" answers what, size, concurrency
        and asyncio_exp.
        """
        answers: dict[str, str] = {}
        signals: list[str] = []
        for _start, _n, (qid, oid) in self.needs.find(tokens):
            if qid == "signal":
                signals.append(oid)
            else:
                answers.setdefault(qid, oid)
        return answers, list(dict.fromkeys(signals))

    def _mentions_needs(self, tokens: list[str]) -> bool:
        return bool(self.needs.find(tokens))


def _knowledge_texts(kb: KnowledgeBase) -> Iterable[str]:
    for fw in kb.frameworks.values():
        yield fw.summary.text
        for claim in (
            *fw.facts,
            *fw.history,
            *fw.strengths,
            *fw.weaknesses,
            *fw.best_for,
            *fw.avoid_when,
        ):
            yield claim.text
    for q in kb.questions:
        yield q.prompt
        for opt in q.options:
            yield opt.label
            yield from opt.terms
            yield from opt.replies
    for sig in kb.signals:
        yield from sig.terms
    yield from kb.synonyms
    yield from kb.traits.values()
