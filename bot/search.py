"""Search over every claim in the knowledge base, ranked by BM25 (SQLite FTS5, in memory).

Every statement a framework entry makes (summary, category, interface, async support, built-ins,
companions, history, notable users, figures, strengths, weaknesses, best_for, avoid_when, facts,
disagreements) is one row: its text, its topic words and its section's words. FTS5's
``porter unicode61`` tokenizer stems both sides and ``bm25()`` weighs rare words ("friendfeed",
"uvloop") far above common ones ("fast", "web"). The index is built once at start-up (about
10 ms for the shipped knowledge) and a query is a pure function of its words.

A small synonym layer (lexicon.yaml ``synonyms``) adds the section words people mean: "who uses"
-> users, "made" -> author, "stars" -> figures, "philosophy" -> motto.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.facts import Item, docs_only, items_of
from bot.knowledge import KnowledgeBase
from bot.text import STOPWORDS, PhraseIndex, words

#: Column weights for bm25(): text, topics, section words.
_WEIGHTS = (1.0, 2.0, 0.5)
#: Words of a question that say nothing about which claim is wanted.
QUESTION_NOISE = frozenset(
    "does do is are was were what which who whom how when why can could will would use uses "
    "used using tell me about it its there have has any support supports one ones thing things "
    "came come comes run runs running pick choose option options "
    "something anything someone lol pls plz tbh ngl hmm um uh guys folks anyone want wants "
    "wanted need needs needed else boss team".split()
)
#: Section -> words indexed with each of its rows, so "who uses" finds the users row.
_SECTION_WORDS = {
    "summary": "summary overview",
    "category": "category type kind",
    "interface": "interface server wsgi asgi",
    "async": "async asyncio concurrency",
    "companions": "companions extensions plugins",
    "history": "history origin author created year",
    "users": "users companies sites customers",
    "community": "figures popularity stars community",
    "bootstrap": "bootstrap install start",
    "strength": "strength advantage",
    "weakness": "weakness drawback",
    "best_for": "best suited ideal",
    "avoid_when": "avoid unsuited",
    "disagreement": "disagreement",
    "error": "error wrong mistake",
}
_TOKEN = re.compile(r"[a-z0-9]+")
#: How many words' owner sets :meth:`ClaimIndex.frameworks_with` remembers.
_MEMO = 20_000


@dataclass(frozen=True, slots=True)
class Hit:
    """A claim that matched: its framework, the claim, and a BM25 relevance (higher is better)."""

    framework: str
    item: Item
    score: float


class ClaimIndex:
    """Every claim of one knowledge base in an in-memory FTS5 table.

    Args:
        kb: the validated knowledge base.

    Raises:
        sqlite3.OperationalError: when this Python's SQLite lacks FTS5 (CPython's builds have it).
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE claims USING fts5("
            "text, topics, section, fw, tokenize='porter unicode61')"
        )
        self._items: list[tuple[str, Item]] = []
        rows = []
        # Each framework is one token of the ``fw`` column ("fw7"), so a query restricted to
        # some frameworks intersects posting lists inside FTS5 instead of filtering rows after.
        self._fw_token = {fid: f"fw{n}" for n, fid in enumerate(kb.frameworks)}
        for fid, fw in kb.frameworks.items():
            for item in items_of(fw):
                topics = " ".join(sorted(item.topics))
                section = _SECTION_WORDS.get(item.section, item.section)
                rows.append((item.text, topics, section, self._fw_token[fid]))
                self._items.append((fid, item))
        self._db.executemany(
            "INSERT INTO claims(text, topics, section, fw) VALUES (?, ?, ?, ?)", rows
        )
        self._db.execute("CREATE VIRTUAL TABLE terms USING fts5vocab(claims, 'row')")
        self._vocabulary = frozenset(t for (t,) in self._db.execute("SELECT term FROM terms"))
        self._common = max(3, len(kb.frameworks) // 4)
        #: Frameworks known only from their own docs; see :meth:`primary`.
        self.docs_only = docs_only(kb)
        self._fw_id = {tok: fid for fid, tok in self._fw_token.items()}
        self._with: dict[str, frozenset[str]] = {}
        self._synonyms: PhraseIndex[tuple[str, ...]] = PhraseIndex(kb.synonyms.items())
        # One-word names only: "async" in an alias such as "falcon async" stays a content word.
        names = (n for fw in kb.frameworks.values() for n in (fw.name, fw.id, *fw.aliases))
        self._names = {ws[0] for n in names if len(ws := words(n)) == 1}

    def __getstate__(self) -> dict[str, object]:
        """Picklable state: the FTS5 database as bytes (``sqlite3.Connection.serialize``)."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("_db", "_with")}
        state["_db_bytes"] = self._db.serialize()
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        raw = state.pop("_db_bytes")
        assert isinstance(raw, bytes)
        for k, v in state.items():
            setattr(self, k, v)
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.deserialize(raw)
        self._with = {}

    def terms(self, tokens: Sequence[str], *, keep_names: bool = False) -> list[str]:
        """The content words of a question plus their synonyms (no stop words, no names)."""
        toks = [t for t in tokens if keep_names or t not in self._names]
        out = [t for t in toks if t not in STOPWORDS and t not in QUESTION_NOISE]
        for _start, _n, expansions in self._synonyms.find(toks):
            out += [w for e in expansions for w in words(e)]
        return list(dict.fromkeys(out))

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every term of the claims, as FTS5's Porter stemmer writes it ("events" -> event)."""
        return self._vocabulary

    def primary(self, owners: frozenset[str]) -> frozenset[str]:
        """``owners`` without the frameworks known only from their own docs, unless those are
        all there is: the articles' frameworks answer first, so a word that one article-covered
        framework holds stays distinctive when a docs-only framework's claims use it too."""
        covered = owners - self.docs_only
        return covered or owners

    def spread(self, term: str) -> int:
        """How many frameworks' claims contain ``term`` (0 when none): 1 means distinctive.
        Counted up to a quarter of the frameworks plus one; more is "common". Frameworks known
        only from their own docs count only when no article-covered one holds it
        (:meth:`primary`)."""
        return len(self.primary(self.frameworks_with(term)))

    def phrase_owners(self, phrase: Sequence[str]) -> frozenset[str]:
        """Ids of the frameworks with a claim that holds these words in this order."""
        parts = [t for w in phrase for t in _TOKEN.findall(w.lower())]
        if not parts:
            return frozenset()
        query = '{text topics}: "' + " ".join(parts) + '"'
        rows = self._db.execute("SELECT rowid FROM claims WHERE claims MATCH ?", (query,))
        return frozenset(self._items[r - 1][0] for (r,) in rows)

    def specific(self, term: str) -> bool:
        """False when ``term`` is in the claims of more than a quarter of the frameworks (and
        more than 3): a word too common to say which framework is meant."""
        return self.spread(term) <= self._common

    def frameworks_with(self, term: str) -> frozenset[str]:
        """Ids of the frameworks whose claims (text or topics) contain ``term``, compared by
        FTS5's Porter stems ("merging" finds "merged"); at most a quarter of them plus one."""
        owners = self._with.get(term)
        if owners is None:
            parts = _TOKEN.findall(term.lower())
            owners = frozenset()
            if parts:
                rows = self._db.execute(
                    "SELECT DISTINCT fw FROM claims WHERE claims MATCH ? LIMIT ?",
                    ('{text topics}: "' + " ".join(parts) + '"', self._common + 1),
                )
                owners = frozenset(self._fw_id[t] for (t,) in rows)
            if len(self._with) > _MEMO:
                self._with.clear()
            self._with[term] = owners
        return owners

    def search(
        self,
        terms: Iterable[str],
        *,
        frameworks: Iterable[str] | None = None,
        limit: int = 20,
    ) -> list[Hit]:
        """Claims matching any of ``terms``, best first (at most ``limit``).

        ``frameworks`` restricts the hits to those framework ids. Returns [] for no terms.
        """
        parts = [t for term in terms for t in _TOKEN.findall(term.lower())]
        if not parts:
            return []
        query = "{text topics section}: (" + " OR ".join(f'"{p}"' for p in dict.fromkeys(parts))
        query += ")"
        if frameworks is not None:
            tokens = [self._fw_token[f] for f in frameworks if f in self._fw_token]
            if not tokens:
                return []
            query += " AND fw: (" + " OR ".join(tokens) + ")"
        cur = self._db.execute(
            "SELECT rowid, bm25(claims, ?, ?, ?, 0.0) FROM claims WHERE claims MATCH ? "
            "ORDER BY bm25(claims, ?, ?, ?, 0.0) LIMIT ?",
            (*_WEIGHTS, query, *_WEIGHTS, limit),
        )
        return [
            Hit(fid, item, -score)
            for rowid, score in cur.fetchall()
            for fid, item in (self._items[rowid - 1],)
        ]
