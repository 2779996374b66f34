"""Roles of framework mentions and negation scopes of needs, NegEx style.

Two small pure stages of the understanding pipeline, both driven by
``knowledge/understanding.yaml``:

- :meth:`Cueing.roles` gives every framework mention a role: ``subject`` (what the message is
  about), ``excluded`` ("not django", "anything but flask", "we don't want FastAPI"),
  ``reference`` ("something like flask but async") or ``ordinary`` (the name used as a word: "a
  flask of coffee", "the tornado last night").
- :meth:`Cueing.negated` tells which need phrases fall in a negation scope: a trigger before the
  need ("nothing real-time", "dont want to be locked into any orm") or after it ("an admin is
  not needed"), within one clause, not past a terminating word ("but", "however").

Clauses come from the punctuation of the cleaned text (:func:`split_clauses`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.knowledge import Cues
from bot.text import PhraseIndex, words

SUBJECT, EXCLUDED, REFERENCE, ORDINARY = "subject", "excluded", "reference", "ordinary"
_BREAK = re.compile(r"[,;:!?()\[\]\n]+|\.(?=\s|$)|\s[-–—]+\s")


@dataclass(frozen=True, slots=True)
class Mention:
    """A framework name found at ``start`` (word index), ``length`` words long."""

    framework: str
    start: int
    length: int
    role: str = SUBJECT

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True, slots=True)
class Span:
    """A phrase match: word index ``start``, ``length`` words, and what it is (``payload``)."""

    start: int
    length: int
    payload: tuple[str, ...]

    @property
    def end(self) -> int:
        return self.start + self.length


def split_clauses(text: str) -> tuple[list[str], list[int]]:
    """Words of ``text`` and, for each word, the number of the clause it stands in.

    Clauses end at , ; : ! ? brackets, a full stop followed by space, and dashes between spaces.
    The words are exactly :func:`bot.text.words` of the whole text.
    """
    toks: list[str] = []
    clause: list[int] = []
    for n, part in enumerate(_BREAK.split(text)):
        ws = words(part)
        toks += ws
        clause += [n] * len(ws)
    return toks, clause


def _index(groups: dict[str, Sequence[str]]) -> PhraseIndex[tuple[str, ...]]:
    kinds: dict[str, list[str]] = {}
    for kind, phrases in groups.items():
        for p in phrases:
            kinds.setdefault(p, []).append(kind)
    return PhraseIndex((p, tuple(k)) for p, k in kinds.items())


class Cueing:
    """Applies the role and negation cues of one knowledge base. Built once at start-up."""

    def __init__(self, cues: Cues) -> None:
        self.cues = cues
        self._role_cues = _index({k: v for k, v in cues.roles.items() if k != "verb_guard"})
        self._neg_cues = _index(dict(cues.negation))
        self._verb_guard = frozenset(cues.roles["verb_guard"])
        self._determiners = frozenset(cues.determiners)
        self._tech = PhraseIndex((t, t) for t in cues.tech)
        self._homonyms = {fid: PhraseIndex((w, w) for w in ws) for fid, ws in cues.homonyms.items()}

    # ------------------------------------------------------------------ roles

    def roles(
        self, tokens: Sequence[str], clause: Sequence[int], mentions: Sequence[Mention]
    ) -> list[Mention]:
        """The same mentions with their roles set (see the module docstring)."""
        spans = [Span(s, n, k) for s, n, k in self._role_cues.find(tokens)]
        tech = {s for s, n, _ in self._tech.find(tokens) for s in range(s, s + n)}
        own = {i for m in mentions for i in range(m.start, m.end)}
        has_tech = bool(tech - own)
        out = []
        for m in mentions:
            role = SUBJECT
            if self._ordinary(tokens, clause, m, has_tech):
                role = ORDINARY
            elif self._cued(spans, tokens, clause, m, "excluded"):
                role = EXCLUDED
            elif self._cued(spans, tokens, clause, m, "reference"):
                role = REFERENCE
            out.append(Mention(m.framework, m.start, m.length, role))
        return out

    def _cued(
        self,
        spans: Sequence[Span],
        tokens: Sequence[str],
        clause: Sequence[int],
        m: Mention,
        kind: str,
    ) -> bool:
        window = self.cues.role_window
        for s in spans:
            if f"{kind}.before" in s.payload and s.end <= m.start and m.start - s.end <= window:
                if clause[s.start] != clause[m.start]:
                    continue
                if kind == "reference" and s.start > 0 and tokens[s.start - 1] in self._verb_guard:
                    continue
                return True
            # "web2py once and hated it": a ruling-out cue may follow within the window; a
            # reference cue must follow at once ("flask-like", "tornado level").
            reach = window if kind == "excluded" else 1
            if f"{kind}.after" in s.payload and m.end <= s.start <= m.end + reach:
                if clause[s.start] == clause[m.start]:
                    return True
        return False

    def _ordinary(
        self, tokens: Sequence[str], clause: Sequence[int], m: Mention, has_tech: bool
    ) -> bool:
        index = self._homonyms.get(m.framework)
        if index is None or has_tech:
            return False
        before = tokens[m.start - 1] if m.start > 0 else ""
        after = tokens[m.end] if m.end < len(tokens) else ""
        if after == "of" and (before in self._determiners or m.end + 1 < len(tokens)):
            # "a flask of coffee", "good bottle of red": a name followed by "of" is a thing.
            return True
        w = self.cues.homonym_window
        lo, hi = max(0, m.start - w), min(len(tokens), m.end + w)
        return any(
            lo <= s and s + n <= hi and clause[s] == clause[m.start]
            for s, n, _ in index.find(tokens)
        )

    # ------------------------------------------------------------------ negation

    def negation(self, tokens: Sequence[str], clause: Sequence[int]) -> Negation:
        """The negation cues of one message, found once, to ask about any of its spans."""
        cues = tuple(Span(s, n, k) for s, n, k in self._neg_cues.find(tokens))
        return Negation(
            triggers=tuple(c for c in cues if "pseudo" not in c.payload),
            ends=tuple(c.start for c in cues if "terminate" in c.payload),
            clause=tuple(clause),
            window=self.cues.negation_window,
        )


@dataclass(frozen=True, slots=True)
class Negation:
    """One message's negation triggers and scope-ending words (see :meth:`Cueing.negation`)."""

    triggers: tuple[Span, ...]
    ends: tuple[int, ...]
    clause: tuple[int, ...]
    window: int

    def scope(self) -> list[bool]:
        """For each word, whether it stands in the scope of a ``before`` trigger."""
        out = [False] * len(self.clause)
        for t in self.triggers:
            if "before" not in t.payload:
                continue
            for i in range(t.end, min(len(out), t.end + self.window + 1)):
                if self.clause[i] != self.clause[t.start] or any(t.end < e <= i for e in self.ends):
                    break
                out[i] = True
        return out

    def negated(self, spans: Sequence[tuple[int, int]]) -> list[bool]:
        """For each ``(start, length)`` span, whether it falls in a negation scope."""
        out = []
        for start, length in spans:
            hit = False
            for t in self.triggers:
                if self.clause[t.start] != self.clause[start]:
                    continue
                if "before" in t.payload and t.end <= start and start - t.end <= self.window:
                    # A terminating word ends the scope, unless it is the trigger's next word
                    # ("don't want ...", "do not need ...").
                    if not any(t.end < e < start for e in self.ends):
                        hit = True
                elif "after" in t.payload and start + length <= t.start <= start + length + 2:
                    hit = True
            out.append(hit)
        return out
