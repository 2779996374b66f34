"""Reading a message in the selection conversation: slots, dialogue acts and commands.

A message can answer the question being asked, answer other questions as well ("large, and we
want everything built in"), correct an earlier answer ("actually it's small"), carry a dialogue
act (affirm, deny, unsure: "yep", "nah", "no idea"), name two options at once ("both, a site and
an API"), rule an option out ("we're not beginners"), or be a command in plain words ("oops, go
back"). :class:`Dialogue` turns it into a :class:`Reading`; :mod:`bot.conversation` decides what
to do with it. Pure and data-driven: the phrases are in ``understanding.yaml`` (``dialogue``)
and ``questions.yaml`` (options' ``terms``, ``replies`` and ``means``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from bot.knowledge import KnowledgeBase, Question
from bot.matching import Matcher, Need
from bot.roles import Negation, split_clauses
from bot.text import STOPWORDS, PhraseIndex, stem, words

#: OSA similarity (0-1) at or above which a short answer is taken as an option with a typo
#: ("meduim" -> medium); only for answers of at least :data:`TYPO_MIN_CHARS` characters.
TYPO_SIMILARITY = 0.8
TYPO_MIN_CHARS = 5
#: An act phrase counts anywhere in an answer of at most this many non-filler words, otherwise
#: only when it opens the answer ("no, we ..."), so "any" deep in a sentence is no answer.
SHORT_ANSWER_WORDS = 4
#: Words besides a command phrase of two or more words that still leave a message a command.
COMMAND_SLACK = 5
#: An option named within this many words after "not sure" / "no idea" is uncertain ("no idea
#: how big it'll get" is the not-sure answer, not "big").
UNSURE_WINDOW = 4
_OPPOSITE = {"affirm": "deny", "deny": "affirm"}


@dataclass(frozen=True, slots=True)
class Reading:
    """What one message says about the selection questions.

    Attributes:
        fills: question id -> option id the message gives (one option named, not negated; or
            the opposite of a negated yes/no option: "we don't need async" -> concurrency low).
        mixed: question id -> two or more options named at once ("both a site and an API").
        ruled_out: question id -> options negated with no other named ("not beginners").
        act: the dialogue act that answers the pending question ("affirm", "deny", "unsure",
            "indifferent", "both") or "".
        skip: the pending question was answered "not sure" and has no option for that.
        correction: the message says it changes earlier answers ("actually", "wait", "make it").
        change: a question the message asks to change without giving the new answer ("change
            the size"), or "".
    """

    fills: Mapping[str, str] = field(default_factory=dict)
    mixed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ruled_out: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    act: str = ""
    skip: bool = False
    correction: bool = False
    change: str = ""

    @property
    def empty(self) -> bool:
        """True when the message says nothing about any question."""
        return not (self.fills or self.mixed or self.ruled_out or self.skip or self.change)


class Dialogue:
    """Reads answers and plain-word commands against one knowledge base."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher) -> None:
        self.kb = kb
        self.matcher = matcher
        d = kb.cues.dialogue
        self._acts: PhraseIndex[str] = PhraseIndex(
            (p, act) for act in ("affirm", "deny", "unsure", "indifferent", "both") for p in d[act]
        )
        self._commands: PhraseIndex[str] = PhraseIndex(
            (p, c) for c, phrases in kb.cues.commands.items() for p in phrases
        )
        self._filler = frozenset(stem(w) for p in d["filler"] for w in words(p))
        self._hedges = frozenset(" ".join(words(p)) for p in d["hedges"])
        self._change: PhraseIndex[bool] = PhraseIndex((p, True) for p in d["change"])
        self._correction: PhraseIndex[bool] = PhraseIndex((p, True) for p in d["correction"])
        self._people: PhraseIndex[bool] = PhraseIndex((p, True) for p in d["people"])
        self._counted = [
            (q.id, sorted((o.people_max, o.id) for o in q.options if o.people_max is not None))
            for q in kb.questions
            if any(o.people_max is not None for o in q.options)
        ]
        self._questions: PhraseIndex[str] = PhraseIndex(
            (a, q.id)
            for q in kb.questions
            for a in (q.id, q.short, *q.aliases)
            if a.lower() not in STOPWORDS  # the id "what" is no name
        )
        self._deny = frozenset(o.id for q in kb.questions for o in q.options if "deny" in o.means)
        self._exact: dict[str, dict[str, str]] = {}
        # Per question: its terms, option ids and replies of two or more words, read when it is
        # being asked or is named; its one-word replies ("lots", "few") only in short answers.
        self._local: dict[str, PhraseIndex[tuple[str, str]]] = {}
        self._short: dict[str, PhraseIndex[tuple[str, str]]] = {}
        for q in kb.questions:
            table: dict[str, str] = {}
            local: list[tuple[str, tuple[str, str]]] = []
            short: list[tuple[str, tuple[str, str]]] = []
            for o in q.options:
                for t in (o.id, o.label, *o.terms, *o.replies):
                    table.setdefault(" ".join(words(t)), o.id)
                name = o.id.replace("_", " ")
                if not self._acts.find(words(name)):  # "yes" / "no" are read as acts
                    local.append((name, (q.id, o.id)))
                for t in o.terms:
                    local.append((t, (q.id, o.id)))
                for t in o.replies:
                    toks = words(t)
                    if len(toks) > 1:
                        local.append((t, (q.id, o.id)))
                    elif toks and len(toks[0]) > 1 and stem(toks[0]) not in self._filler:
                        short.append((t, (q.id, o.id)))
            self._exact[q.id] = table
            self._local[q.id] = PhraseIndex(local)
            self._short[q.id] = PhraseIndex(short)

    # ------------------------------------------------------------------ commands

    def command(self, tokens: list[str]) -> str:
        """The flow command a whole message is ("oops, go back" -> "back"), or "".

        Command phrases and filler words must cover every word, and all the phrases name the
        same command. A phrase of two or more words may also bring up to
        :data:`COMMAND_SLACK` other words when the message names no question and gives no
        answer ("ok this is a mess, let's start from scratch"); "go back to the size question"
        is not a plain "back".
        """
        found = self._commands.find(tokens)
        if not found or len({c for _, _, c in found}) != 1:
            return ""
        covered = {i for s, n, _ in found for i in range(s, s + n)}
        rest = [t for i, t in enumerate(tokens) if i not in covered and stem(t) not in self._filler]
        if not rest:
            return found[0][2]
        if (
            len(rest) <= COMMAND_SLACK
            and max(n for _, n, _ in found) >= 2
            and not self._questions.find(tokens)
            and not self.matcher.needs.find(tokens)
        ):
            return found[0][2]
        return ""

    def question_named(self, tokens: list[str]) -> str:
        """The question a phrase names ("the size", "batteries"), or ""."""
        found = self._questions.find(tokens)
        return found[0][2] if found else ""

    # ------------------------------------------------------------------ answers

    def read(self, text: str, pending: str = "") -> Reading:
        """Read the cleaned ``text`` as answers; ``pending`` is the question being asked ("" when
        none), the only one that plain acts ("yep"), short replies ("m") and typos can answer.
        Never raises."""
        tokens, clause = split_clauses(text)
        if not tokens:
            return Reading()
        negation = self.matcher.cueing.negation(tokens, clause)
        needs = [
            n for n in self.matcher.find_needs(tokens, clause, negation) if n.question != "signal"
        ]
        # The question being asked, and any question named in the message ("concurrency should be
        # high", "medium size"), also read their own replies and option ids near the name.
        core = [t for t in tokens if stem(t) not in self._filler]
        windows: dict[str, tuple[int, int, int]] = {}
        for start, length, qid in self._questions.find(tokens):
            if qid not in windows and qid != pending:
                lo = max(0, start - 2)
                windows[qid] = (lo, min(len(tokens), start + length + 4), clause[start])
        claimed: set[int] = set()
        for qid, (lo, hi, where) in windows.items():
            found = [
                (s + lo, n, payload)
                for s, n, payload in self._local[qid].find(tokens[lo:hi])
                if clause[s + lo] == where
            ]
            if found:
                claimed |= {i for s, n, _ in found for i in range(s, s + n)}
                needs = [n for n in needs if n.question != qid] + self._needs(found, negation)
        if pending:
            first = _first_core(tokens, self._filler)
            short = len(core) <= SHORT_ANSWER_WORDS
            found = [hit for hit in self._local[pending].find(tokens) if hit[0] not in claimed]
            claimed |= {i for s, n, _ in found for i in range(s, s + n)}
            replies = [
                hit
                for hit in self._short[pending].find(tokens)
                if hit[0] not in claimed and (short or hit[0] == first)
            ]
            if found or replies:
                needs = [n for n in needs if n.question != pending]
                needs += self._needs(found, negation) + self._needs(replies, negation, reply=True)
        unsure_ends = [
            (s + n, clause[s])
            for s, n, act in self._acts.find(tokens)
            if act == "unsure" and " ".join(tokens[s : s + n]) not in self._hedges
        ]
        named: dict[str, list[str]] = {}
        negated: dict[str, list[str]] = {}
        uncertain: set[str] = set()
        for need in needs:
            if any(
                c == clause[need.start] and 0 <= need.start - e <= UNSURE_WINDOW
                for e, c in unsure_ends
            ):
                uncertain.add(need.question)
                continue
            bucket = negated if need.negated else named
            options = bucket.setdefault(need.question, [])
            if need.option not in options:
                options.append(need.option)
        count = head_count(tokens, [s for s, _, _ in self._people.find(tokens)])
        if count is not None:
            for qid, limits in self._counted:
                if qid not in named and qid not in negated:
                    named[qid] = [next((o for top, o in limits if count <= top), limits[-1][1])]
        fills: dict[str, str] = {}
        mixed: dict[str, tuple[str, ...]] = {}
        ruled_out: dict[str, tuple[str, ...]] = {}
        skip = False
        for q in self.kb.questions:
            pos = named.get(q.id, [])
            neg = [o for o in negated.get(q.id, []) if o not in pos]
            if q.id in uncertain and not pos:
                unsure = [o.id for o in q.options if "unsure" in o.means]
                if unsure:
                    fills[q.id] = unsure[0]
                elif q.id == pending:
                    skip = True
                continue
            if len(pos) == 1:
                fills[q.id] = pos[0]
            elif len(pos) > 1:
                mixed[q.id] = tuple(pos)
            elif neg:
                other = _opposite(q, neg)
                if other:
                    fills[q.id] = other
                else:
                    ruled_out[q.id] = tuple(neg)
        act = ""
        if pending and pending not in fills and pending not in ruled_out and not skip:
            q = self.kb.question(pending)
            exact = self._exact[pending].get(" ".join(core)) or self._exact[pending].get(
                " ".join(tokens)
            )
            act = self._act(tokens, core)
            if act in ("unsure", "indifferent") and fills:
                act = ""  # "maybe 120 users": the hedge goes with the other answer
            if exact:
                fills[pending] = exact
            elif pending in mixed:
                act = "both"
            elif act:
                chosen = [o.id for o in q.options if act in o.means]
                if chosen:
                    fills[pending] = chosen[0]
                elif act in ("unsure", "indifferent"):
                    skip = True
            elif len(core) <= 3:
                typo = self._typo(q, " ".join(core))
                if typo:
                    fills[pending] = typo
        change = ""
        if self._change.find(tokens):
            named_q = self.question_named(tokens)
            if named_q and named_q not in fills:
                change = named_q
        return Reading(
            fills=fills,
            mixed={q: o for q, o in mixed.items() if q not in fills},
            ruled_out=ruled_out,
            act=act,
            skip=skip,
            correction=bool(self._correction.find(tokens)),
            change=change,
        )

    def _needs(
        self,
        found: list[tuple[int, int, tuple[str, str]]],
        negation: Negation,
        *,
        reply: bool = False,
    ) -> list[Need]:
        """Needs for local hits. A one-word reply of a "no" option stays a no after another no
        ("nope, never"); a phrase is negated as usual ("not looking to pick our own parts")."""
        flags = negation.negated([(s, n) for s, n, _ in found])
        return [
            Need(q, o, neg and not (reply and o in self._deny), s, n)
            for (s, n, (q, o)), neg in zip(found, flags, strict=True)
        ]

    def act(self, tokens: list[str]) -> str:
        """The dialogue act of a short reply ("yes please" -> affirm, "nah" -> deny), or ""."""
        return self._act(tokens, [t for t in tokens if stem(t) not in self._filler])

    def _act(self, tokens: list[str], core: list[str]) -> str:
        found = self._acts.find(tokens)
        if not found:
            return ""
        first = _first_core(tokens, self._filler)
        acts = {a for s, _, a in found if len(core) <= SHORT_ANSWER_WORDS or s == first}
        if acts == {"unsure", "indifferent"}:
            return "unsure"  # "no idea either"
        # "no idea" and "not sure" are single phrases; what is left must agree.
        return acts.pop() if len(acts) == 1 else ""

    def _typo(self, q: Question, text: str) -> str:
        if len(text) < TYPO_MIN_CHARS:
            return ""
        best, owner = 0.0, ""
        for phrase, option in self._exact[q.id].items():
            if len(phrase) < TYPO_MIN_CHARS:
                continue
            score = OSA.normalized_similarity(text, phrase)
            if score > best:
                best, owner = score, option
        return owner if best >= TYPO_SIMILARITY else ""


def _first_core(tokens: list[str], filler: frozenset[str]) -> int:
    """The index of the first word that is not filler (0 when there is none)."""
    return next((i for i, t in enumerate(tokens) if stem(t) not in filler), 0)


def _opposite(q: Question, negated: list[str]) -> str:
    """The option that negating ``negated`` leaves on a yes/no question, or ""."""
    means = {m for o in q.options if o.id in negated for m in o.means if m in _OPPOSITE}
    if len(means) != 1:
        return ""
    want = _OPPOSITE[means.pop()]
    return next((o.id for o in q.options if want in o.means), "")


_NUMBER_WORDS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
    "thirty": 30,
    "fifty": 50,
    "couple": 2,
    "few": 3,
    "several": 5,
    "handful": 5,
}
_MULTIPLIERS = {
    "dozen": 12,
    "dozens": 24,
    "hundred": 100,
    "hundreds": 200,
    "thousand": 1_000,
    "thousands": 2_000,
    "k": 1_000,
    "million": 1_000_000,
    "millions": 2_000_000,
    "m": 1_000_000,
    "tens": 10,
    "lakh": 100_000,
}
#: Words that may stand between a number and what it counts ("20 active users", "a few
#: thousand of our customers").
_BETWEEN = frozenset(
    "of our their the active daily monthly concurrent internal paying more or so".split()
)


def head_count(tokens: list[str], at: list[int]) -> float | None:
    """The number of people a message gives, read backwards from the counted words at ``at``
    ("20 people tops" -> 20, "a few thousand users" -> 3000, "20k users" -> 20000, "tens of
    thousands of users" -> 20000). None when no count stands before any of them."""
    for end in at:
        value: float | None = None
        factor = 1.0
        i = end - 1
        while i >= 0 and end - i <= 6:
            t = tokens[i]
            if t in _BETWEEN:
                i -= 1
                continue
            number = _number(t)
            if t in _MULTIPLIERS:
                factor *= _MULTIPLIERS[t]
            elif number is not None:
                if i > 0 and len(t) == 3 and t.isdigit() and tokens[i - 1].isdigit():
                    number += 1000 * float(tokens[i - 1])  # "20,000" reads as 20 000
                    i -= 1
                value = number
                break
            elif t in _NUMBER_WORDS and (factor > 1 or t not in ("a", "one")):
                value = _NUMBER_WORDS[t]  # "a" counts only in "a few thousand", "a dozen"
                break
            else:
                break
            i -= 1
        if value is None and factor > 1:
            value = 1.0
        if value is not None:
            return value * factor
    return None


def _number(token: str) -> float | None:
    """``token`` as a number: "20", "2.5", "20k", "3m"; None otherwise."""
    scale = 1.0
    if token[-1:] in ("k", "m") and token[:-1].replace(".", "", 1).isdigit():
        scale = 1_000.0 if token[-1] == "k" else 1_000_000.0
        token = token[:-1]
    if token.replace(".", "", 1).isdigit() and token.isascii() and len(token) <= 12:
        return float(token) * scale
    return None
