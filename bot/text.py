"""Text primitives shared by the understanding stages: cleaning, words, stems, phrase lookup.

Pure functions and one small index; nothing here knows about frameworks.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import Generic, TypeVar

#: Longest message, in characters, that is understood; longer ones get a polite refusal.
MAX_MESSAGE_CHARS = 4000
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
    r"|@(?:everyone|here|channel)\b"  # plain-text mass mentions
    r"|(?<![\w@])@[a-z0-9][\w.-]*",  # a name typed as a mention ("@advisor 2")
    re.IGNORECASE,
)
_SLACK_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_WORD = re.compile(r"[a-z0-9][a-z0-9.+#]*[a-z0-9+#]|[a-z0-9]")


#: Characters normalised at a time by :func:`_nfkc`.
NFKC_CHUNK = 512


def _nfkc(text: str, limit: int) -> str:
    """NFKC of ``text``, stopping once ``limit`` characters are produced.

    NFKC can expand a character 18 times (U+FDFA), so a long message is normalised a chunk at a
    time and never much past ``limit``. A chunk ends before a character that combines with
    nothing before it (not a mark, not a Hangul vowel or final jamo), so the chunks'
    normalisations join to the normalisation of the whole.
    """
    if text.isascii():
        return text
    out: list[str] = []
    produced = start = 0
    while start < len(text) and produced <= limit:
        end = min(start + NFKC_CHUNK, len(text))
        while end < len(text) and not _starts_fresh(text[end]):
            end += 1
        part = unicodedata.normalize("NFKC", text[start:end])
        out.append(part)
        produced += len(part)
        start = end
    return "".join(out)


def _starts_fresh(ch: str) -> bool:
    """True when no character before ``ch`` can compose with it or reorder around it."""
    return not unicodedata.category(ch).startswith("M") and not "\u1160" <= ch <= "\u11ff"


def clean(text: str) -> str:
    """Strip platform mentions and markup, fold Unicode (NFKC) and collapse white space.

    ``<!channel>``, ``<!here>``, ``<@U123>``, ``@everyone`` and ``@here`` are removed so they can
    never be echoed back live. Slack links keep their label. Returns at most
    :data:`MAX_MESSAGE_CHARS` + 1 characters so that callers can still tell a message was long.
    """
    text = _nfkc(text[: MAX_MESSAGE_CHARS * 4], MAX_MESSAGE_CHARS * 4)
    text = _SLACK_LINK.sub(r"\2", text)
    text = _MARKUP.sub(" ", text)
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return " ".join(text.split())[: MAX_MESSAGE_CHARS + 1]


def words(text: str) -> list[str]:
    """Lower-case word tokens of ``text`` (letters, digits and ``.+#`` inside a word).

    A hyphen separates words on both sides of every comparison ("full-stack" -> full, stack;
    "flask-like" -> flask, like), so "zero-dependency" and "zero dependency" read alike.
    """
    return _WORD.findall(text.lower().replace("’", "'"))


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude, consistent stem: lower case, a trailing plural ``s`` dropped from words of four
    letters or more ("orms" -> "orm", "apis" -> "api"; not "class", "status", "analysis")."""
    word = word.lower()
    if len(word) < 4 or not word.endswith("s") or word.endswith(("ss", "us")):
        return word
    if word.endswith("is") and len(word) > 4:
        return word
    return word[:-1]


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
