"""Understanding a message: a short pipeline of small, pure stages.

clean -> words and clauses -> framework mentions (:mod:`bot.names`) -> roles -> needs with
negation scopes (:mod:`bot.roles`) -> attributes, criteria and figures asked about -> look-up
over the claims (:mod:`bot.search`) -> intent. Every cue word lives in
``knowledge/understanding.yaml``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from bot.knowledge import KnowledgeBase
from bot.names import Names, Suggestion
from bot.roles import EXCLUDED, ORDINARY, REFERENCE, SUBJECT, Cueing, Negation, split_clauses
from bot.search import ClaimIndex
from bot.text import (
    MAX_MESSAGE_CHARS,
    STOPWORDS,
    PhraseIndex,
    clean,
    stem,
    words,
)

__all__ = [
    "MAX_MESSAGE_CHARS",
    "STOPWORDS",
    "Matcher",
    "Need",
    "Names",
    "PhraseIndex",
    "Suggestion",
    "Understanding",
    "clean",
    "stem",
    "words",
]

#: Words that ask for several frameworks ("which frameworks go with sqlalchemy").
_PLURAL_WORDS = frozenset({"frameworks", "ones", "libraries", "libs", "toolkits"})
#: Words that name what a look-up seeks ("which framework ..."), as opposed to "which one".
_FRAMEWORK_WORDS = frozenset({"framework", "frameworks", "lib", "library", "toolkit"})
#: A message that ends in one of these words asks a question ("... started as a joke, which").
_TRAILING_QUESTION = frozenset({"which", "who", "what", "name", "anyone"})
#: Summed BM25 relevance of one framework's best_for/strength claims that makes a statement
#: a project description ("mediator between legacy systems" -> Sanic's own words).
DESCRIBES_SCORE = 8.0
#: Words of a bare request to be walked through ("help me pick a new framework please").
_REQUEST_WORDS = frozenset(
    "help me pick choose decide new another one something please pls us framework frameworks "
    "lib library select selection start fresh again go ahead let let's lets now".split()
)
#: How many understood texts :meth:`Matcher.understand` remembers.
UNDERSTOOD_CACHE = 2048


@dataclass(frozen=True, slots=True)
class Need:
    """A need the message names: an answer (``question`` id, ``option`` id) or, with
    ``question == "signal"``, a need signal id in ``option``. ``negated``: "nothing real-time"."""

    question: str
    option: str
    negated: bool = False
    start: int = 0
    length: int = 0


@dataclass(frozen=True, slots=True)
class Understanding:
    """What a message is about.

    Attributes:
        intent: compare, about, recommend, list, help or unknown.
        frameworks: the subjects: framework ids in the order they appear.
        text: the cleaned message; ``tokens``: its words.
        excluded: frameworks the message rules out ("not django").
        references: frameworks it uses as a reference point ("like flask but async").
        ordinary: frameworks whose name is used as an ordinary word ("a flask of tea").
        needs: the needs it names, negated or not; ``negated_words``: indexes of the words
            that stand in a negation scope ("don't want to spend weeks *wiring components*").
        selectors: attribute selector ids asked for ("asgi", "full_stack"); ``unwanted``: the
            ones it negates ("don't support WSGI"); ``union``: frameworks with any of them
            ("async and full-stack ones") rather than all ("sync-only microframeworks").
        list_all: it asks for every framework covered.
        figure: a community metric to rank by ("github_stars"); ``least``: lowest first.
        criteria: what a comparison should lead with ("speed", "realtime").
        lookup: frameworks whose own claims answer the question, best first (reverse look-up).
        languages: other programming languages named ("JavaScript").
        suggestions: did-you-mean candidates for words that nearly matched.
        not_covered: names of frameworks the knowledge base does not cover (e.g. "Laravel").
        flow: True when the message asks to be walked through the selection questions.
        too_long: True when the message was over :data:`MAX_MESSAGE_CHARS`.
        off_topic: True when it is not about Python web frameworks at all (intent ``help``).
    """

    intent: str
    frameworks: tuple[str, ...]
    text: str
    tokens: tuple[str, ...]
    excluded: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    ordinary: tuple[str, ...] = ()
    needs: tuple[Need, ...] = ()
    negated_words: tuple[int, ...] = ()
    selectors: tuple[str, ...] = ()
    unwanted: tuple[str, ...] = ()
    union: bool = False
    list_all: bool = False
    figure: str = ""
    least: bool = False
    criteria: tuple[str, ...] = ()
    lookup: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    not_covered: tuple[str, ...] = ()
    flow: bool = False
    too_long: bool = False
    off_topic: bool = False


class Matcher:
    """Understands messages against one knowledge base.

    Built once per knowledge base: an exact index of names and aliases (with and without
    spaces), the choices for rapidfuzz, the words never fuzzed, the cue indexes of
    ``understanding.yaml`` and the claim search index.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        cues = kb.cues
        self._understood = functools.lru_cache(maxsize=UNDERSTOOD_CACHE)(self._understand)
        self.index = ClaimIndex(kb)
        vocab: set[str] = set(STOPWORDS) | self.index.vocabulary
        for text in _vocabulary_texts(kb):
            vocab.update(words(text))
        for phrases in (*cues.roles.values(), *cues.negation.values(), *cues.intents.values()):
            vocab.update(w for p in phrases for w in words(p))
        self.names = Names(kb, vocab)
        self.needs: PhraseIndex[tuple[str, str]] = PhraseIndex(
            [(t, (q.id, o.id)) for q in kb.questions for o in q.options for t in o.terms]
            + [(t, ("signal", s.id)) for s in kb.signals for t in s.terms]
        )
        self.cueing = Cueing(cues)
        self._selectors: PhraseIndex[str] = PhraseIndex(
            (t, sel.id) for sel in cues.selectors for t in sel.terms
        )
        self._criteria: PhraseIndex[str] = PhraseIndex(
            (t, c.id) for c in cues.criteria for t in c.terms
        )
        self._metrics: PhraseIndex[str] = PhraseIndex(
            (t, m) for m, ts in cues.metrics.items() for t in ts
        )
        self._languages: PhraseIndex[str] = PhraseIndex(
            (t, lang) for lang, ts in cues.languages.items() for t in ts
        )
        self._phrases = {k: tuple(v) for k, v in cues.intents.items()}
        self._phrases.update(
            list_all=cues.list_all,
            all_words=cues.list_all_words,
            rank=cues.rank_cues,
            least=cues.least_cues,
            python_context=cues.python_context,
            union_words=cues.union,
            one_of=("one of", "which one", "what one", "the one"),
        )
        self._language_context = frozenset(cues.language_context)
        self._language_before = frozenset(w for p in cues.language_context_before for w in words(p))
        self._cue_index = {k: PhraseIndex((p, k) for p in v) for k, v in self._phrases.items()}
        self._help = frozenset(" ".join(words(p)) for p in self._phrases["help"]) | {"?"}

    def __getstate__(self) -> dict[str, object]:
        """Picklable state (see :func:`load_matcher`): everything but the memo of
        understood messages."""
        return {k: v for k, v in self.__dict__.items() if k != "_understood"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._understood = functools.lru_cache(maxsize=UNDERSTOOD_CACHE)(self._understand)

    # ------------------------------------------------------------------ entities

    def resolve(self, tokens: list[str]) -> tuple[list[str], list[Suggestion], list[str]]:
        """Framework ids in order of appearance, suggestions and not-covered names
        (see :meth:`bot.names.Names.resolve`)."""
        return self.names.resolve(tokens)

    def suggest(self, prefix: str, limit: int = 25) -> list[str]:
        """Framework ids for autocomplete (see :meth:`bot.names.Names.suggest`)."""
        return self.names.suggest(prefix, limit)

    # ------------------------------------------------------------------ needs

    def prefill(self, text: str | Iterable[str]) -> tuple[dict[str, str], list[str]]:
        """Answers and need signals that a sentence already gives, leaving out negated ones.

        ``text`` is the cleaned sentence (its punctuation bounds negation scopes) or its words.
        Returns ``(question id -> option id, signal ids)``; the first option found for a
        question wins. "small async API, team knows asyncio" answers what, size, concurrency
        and asyncio_exp; "not an API" answers nothing.
        """
        if isinstance(text, str):
            toks, clause = split_clauses(text)
        else:
            toks = list(text)
            clause = [0] * len(toks)
        return _wanted(self.find_needs(toks, clause))

    def find_needs(
        self, tokens: list[str], clause: list[int], negation: Negation | None = None
    ) -> list[Need]:
        """Every need phrase in ``tokens`` with its negation (``clause``: see
        :func:`bot.roles.split_clauses`; ``negation``: the message's cues, if already found)."""
        found = self.needs.find(tokens)
        negation = negation or self.cueing.negation(tokens, clause)
        negated = negation.negated([(s, n) for s, n, _ in found])
        return [Need(q, o, neg, s, n) for (s, n, (q, o)), neg in zip(found, negated, strict=True)]

    # ------------------------------------------------------------------ intent

    def understand(self, raw: str) -> Understanding:
        """Clean ``raw`` and work out its intent, entities and needs. Never raises.

        Results are pure functions of ``raw`` and the knowledge base, so the last
        :data:`UNDERSTOOD_CACHE` texts are remembered (a repeated question costs a lookup).
        """
        return self._understood(raw)

    def _has(self, tokens: list[str], kind: str) -> bool:
        return bool(self._cue_index[kind].find(tokens))

    def opens_flow(self, tokens: list[str]) -> bool:
        """True when one of the first three words opens a request to be walked through the
        questions ("recommend ...", "ok, help me pick ...")."""
        found = self._cue_index["flow"].find(tokens[:6])
        return bool(found) and found[0][0] <= 2

    def describes(self, tokens: list[str]) -> bool:
        """True when a request says something about the project beyond asking for help
        ("recommend something for a chat app", not "help me pick a framework")."""
        spans = {i for s, n, _ in self._cue_index["flow"].find(tokens) for i in range(s, s + n)}
        return any(
            i not in spans and t not in STOPWORDS and t not in _REQUEST_WORDS
            for i, t in enumerate(tokens)
        )

    def _starts(self, tokens: list[str], kind: str) -> bool:
        found = self._cue_index[kind].find(tokens[:4])
        return bool(found) and found[0][0] == 0

    def _understand(self, raw: str) -> Understanding:
        text = clean(raw)
        if len(text) > MAX_MESSAGE_CHARS:
            return Understanding("help", (), text[:200], (), too_long=True)
        tokens, clause = split_clauses(text)
        if not tokens:
            return Understanding("help", (), text, ())
        mentions, suggestions, not_covered = self.names.mentions(tokens)
        mentions = self.cueing.roles(tokens, clause, mentions)

        def role(r: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(m.framework for m in mentions if m.role == r))

        excluded, references, ordinary = role(EXCLUDED), role(REFERENCE), role(ORDINARY)
        # A name that is ruled out or used as a reference anywhere is not also the subject.
        subjects = tuple(f for f in role(SUBJECT) if f not in excluded and f not in references)
        named = {i for m in mentions for i in range(m.start, m.end)}
        rest = [t for i, t in enumerate(tokens) if i not in named]
        negation = self.cueing.negation(tokens, clause)
        needs = tuple(self.find_needs(tokens, clause, negation))
        sel_spans = self._selectors.find(tokens)
        sel_neg = negation.negated([(s, n) for s, n, _ in sel_spans])
        picked = list(zip(sel_spans, sel_neg, strict=True))
        selectors = tuple(dict.fromkeys(x for (_s, _n, x), neg in picked if not neg))
        unwanted = tuple(dict.fromkeys(x for (_s, _n, x), neg in picked if neg))
        sel_words = {i for st, n, _x in sel_spans for i in range(st, st + n)}
        criteria = tuple(dict.fromkeys(c for _s, _n, c in self._criteria.find(rest)))
        metrics = [m for _s, _n, m in self._metrics.find(rest)]
        spoken = self._languages.find(rest)
        languages = tuple(dict.fromkeys(lang for _s, _n, lang in spoken))
        # "ex-java folks": a language followed by a background word is context, not the ask.
        background = all(
            self._language_context & set(rest[st + n : st + n + 2])
            or self._language_before & set(rest[max(0, st - 2) : st])
            for st, n, _lang in spoken
        )
        flow = self._has(tokens, "flow") or tokens[0] == "recommend"
        strong = self._has(rest, "recommend")
        seeks = self._has(tokens, "lookup")
        # "can't ..." opens a statement, not a question.
        opens_question = self._starts(tokens, "question") and tokens[1:2] != ["t"]
        question = (
            opens_question
            or raw.rstrip().endswith("?")
            or tokens[-1] in _TRAILING_QUESTION
            or seeks
        )
        needy = self._has(rest, "need")
        # "which ones ..." at the start, or "... which ones?" at the end, asks for a list.
        list_lead = (self._has(tokens[:3], "list") and not needy) or (
            self._has(tokens[-2:], "list") and tokens[-1] in _PLURAL_WORDS
        )
        list_all = self._has(tokens, "list_all") or (
            self._has(tokens, "all_words") and self._has(tokens, "list") and not subjects
        )
        figure = metrics[0] if metrics and self._has(rest, "rank") else ""
        alternative = len(subjects) == 1 and self._has(rest, "alternative") and not figure
        if alternative:
            # "aiohttp is nice but ..., similar alternatives?": the name is a reference point.
            references, subjects = (*references, *subjects), ()
        base = Understanding(
            "unknown",
            subjects,
            text,
            tuple(tokens),
            excluded=excluded,
            references=references,
            ordinary=ordinary,
            needs=needs,
            negated_words=tuple(i for i, neg in enumerate(negation.scope()) if neg),
            selectors=selectors,
            unwanted=unwanted,
            union=len(selectors) > 1 and self._has(tokens, "union_words"),
            list_all=list_all,
            figure=figure,
            least=bool(figure) and self._has(rest, "least"),
            criteria=criteria,
            languages=languages,
            suggestions=tuple(suggestions),
            not_covered=tuple(not_covered),
            flow=flow and not subjects,
        )

        def make(intent: str, **changes: object) -> Understanding:
            return replace(base, intent=intent, **changes)  # type: ignore[arg-type]

        joined = " ".join(tokens)
        if not subjects and (joined in self._help or (tokens[0] == "help" and not flow)):
            return make("help")
        if ordinary and not subjects and not needs and not selectors:
            return make("help", off_topic=True)
        if (
            subjects
            and (seeks or tokens[-1] in _TRAILING_QUESTION)
            and _FRAMEWORK_WORDS & set(tokens)
        ):
            # "which framework was born when repoze.bfg merged with pylons?": the names are
            # context; a distinctive claim answers.
            found, spread = self._lookup(rest)
            if found and spread == 1:
                return make("about", lookup=found)
        if len(subjects) >= 2:
            return make("compare")
        if len(subjects) == 1:
            return make("about")
        if list_all and not needs:
            return make("list")
        python = self._has(tokens, "python_context") or (languages and background and needs)
        if (not_covered or languages) and not python:
            return make("unknown")
        if figure and not strong:
            return make("list")
        seeking = seeks or tokens[-1] in _TRAILING_QUESTION
        # A look-up seeks a name; a question that states needs without seeking one ("how do I
        # serve my sklearn model?") or asks for an alternative asks for a recommendation.
        wanted = references or excluded or any(not n.negated for n in needs)
        asks_lookup = question and not strong and not alternative and (seeking or not wanted)
        # Names, attribute words and negated words say what is wanted, not which framework a
        # claim names: rare words are taken from the rest; relevance reads the whole question.
        skip = named | sel_words | set(base.negated_words)
        if not seeking:
            # "how do I put my sklearn model behind an endpoint": the need words say what is
            # wanted; only a message that seeks a name ("which one was built for c10k") keeps them.
            skip |= {i for n in needs for i in range(n.start, n.start + n.length)}
        unlisted = [t for i, t in enumerate(tokens) if i not in skip]
        lookup, spread = self._lookup(unlisted, rest) if asks_lookup else ((), 0)
        plural = (
            bool(_PLURAL_WORDS & set(unlisted)) and not seeks and not self._has(tokens, "one_of")
        )
        if lookup and spread == 1 and not plural:
            return make("about", lookup=lookup)
        # Needs other than the attributes themselves ("admin screens, security matters") make
        # the message a description to recommend for, unless it opens as a list question.
        described = any(n.start not in sel_words for n in needs)
        listing = list_lead or (
            not described and not needy and (self._has(tokens, "list") or len(tokens) <= 5)
        )
        if (selectors or unwanted) and listing and not strong and not references:
            return make("list")
        if lookup:
            return make("list" if plural else "about", lookup=lookup)
        if flow and not excluded and not references:
            return make("recommend")
        if needs or references or excluded or strong or not_covered or languages:
            return make("recommend")
        if not suggestions:
            if self._describes(rest):
                return make("recommend")
            if seeks and (found := self._lookup(rest)[0]):
                return make("about", lookup=found)
        if selectors:
            return make("list")
        if not_covered or languages or suggestions or not self._known(tokens):
            return make("unknown")
        return make("help", off_topic=True)

    def _known(self, tokens: list[str]) -> bool:
        """True when some word is one the knowledge or the cues use (not "asdkjh qwe")."""
        return any(self.names.known(t) for t in tokens)

    def _lookup(
        self, tokens: list[str], context: list[str] | None = None
    ) -> tuple[tuple[str, ...], int]:
        """Frameworks whose claims hold a rare word of ``tokens``, best first (at most 3), ranked
        by BM25 over ``context`` (default: ``tokens``), and how many frameworks hold the rarest
        of those words (1 or 2; 0 when none). Article-covered frameworks come first."""
        terms = self.index.terms(tokens)
        groups = [self.index.primary(self.index.frameworks_with(t)) for t in terms]
        # Two neighbouring content words are a phrase ("app engine"), rarer than either word.
        content = [t for t in tokens if t in terms]
        groups += [
            self.index.primary(self.index.phrase_owners(pair))
            for pair in zip(content, content[1:], strict=False)
            if " ".join(pair) in " ".join(tokens)
        ]
        rare = [g for g in groups if 1 <= len(g) <= 2]
        if not rare:
            return (), 0
        # Frameworks holding the rarest words of the question first (a word found in one
        # framework counts 1, in two 1/2), then BM25 over all the question's words.
        weight: dict[str, float] = {}
        for owners in rare:
            for fid in owners:
                weight[fid] = weight.get(fid, 0.0) + 1 / len(owners)
        wider = self.index.terms(context) if context is not None else terms
        hits = self.index.search(wider, frameworks=weight, limit=30)
        # The best two claims of each framework over all the question's words (BM25 weighs
        # the rare ones up), then the rare-word weight.
        best: dict[str, list[float]] = {}
        for h in hits:
            best.setdefault(h.framework, []).append(h.score)
        relevance = {f: sum(sorted(v, reverse=True)[:2]) for f, v in best.items()}
        # The articles' frameworks before those known only from their own docs.
        docs_only = self.index.docs_only
        ranked = sorted(
            weight, key=lambda f: (f in docs_only, -relevance.get(f, 0.0), -weight[f], f)
        )
        return tuple(ranked[:3]), min(len(g) for g in rare)

    def _describes(self, tokens: list[str]) -> bool:
        """True when a statement of several content words matches what frameworks are best for."""
        terms = self.index.terms(tokens)
        if len(terms) < 3:
            return False
        return any(
            h.item.section in ("best_for", "strength") for h in self.index.search(terms, limit=5)
        )


def _wanted(needs: Iterable[Need]) -> tuple[dict[str, str], list[str]]:
    answers: dict[str, str] = {}
    signals: list[str] = []
    for n in needs:
        if n.negated:
            continue
        if n.question == "signal":
            signals.append(n.option)
        else:
            answers.setdefault(n.question, n.option)
    return answers, list(dict.fromkeys(signals))


def _vocabulary_texts(kb: KnowledgeBase) -> Iterable[str]:
    """The knowledge's own words outside the claims (those come from the claim index)."""
    for fw in kb.frameworks.values():
        yield fw.summary.text
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


def load_matcher(kb: KnowledgeBase, cache_dir: Path | None) -> Matcher:
    """A :class:`Matcher` for ``kb``, from ``cache_dir`` when an earlier process built one for
    the same knowledge and the same code, else built (about 50 ms) and cached there.

    The cache file is named by ``kb.version`` and a digest of the core's source files, pickled
    and signed like the knowledge cache (:func:`bot.knowledge.write_signed`: a private folder,
    this install's key), with ``kb`` itself left out and given back on load. ``None`` always
    builds. Never raises for a bad or missing cache.
    """
    from bot.knowledge import cache_key, read_signed, write_signed

    if cache_dir is None:
        return Matcher(kb)
    digest = hashlib.sha256(kb.version.encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    path = Path(cache_dir) / f"matcher-{digest.hexdigest()[:32]}.pickle"
    key = cache_key(path.parent)
    if key is not None:
        cached = read_signed(path, key, shared=kb)
        if isinstance(cached, Matcher) and cached.kb is kb:
            return cached
    matcher = Matcher(kb)
    if key is not None:
        write_signed(path, key, matcher, shared=kb)
    return matcher
