"""Check the knowledge's citations against the seed articles themselves.

:func:`load` checks shapes and ids; this module checks what a claim says against what its cited
articles say. It reads the knowledge files as YAML (so every finding names its file and key
path) and the article copies named by ``seed:`` in sources.yaml. Three kinds of finding:

- ``unnamed``: a framework's claim cites an article that never names the framework (by its
  name, id or any alias, as a whole word, any case). A ranked reason shows exactly its claim's
  sources, so this count is also how many reasons could cite an article that is silent on them.
- ``dated``: a figure citing an article carries the article's own date (publication or update)
  as if the figure were measured on that day. Articles give figures undated; say "undated".
- ``number``: a claim that cites only articles holds a number of three or more digits (a year,
  a count) that none of its cited articles contains, so at least one of them does not say it.

Nothing here is needed at run time; ``advisor check-knowledge`` and the tests call it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Finding kinds, in report order, with the sentence a count line uses.
KINDS = {
    "unnamed": "claims cite an article that does not name their framework",
    "dated": "figures are stamped with their article's own date",
    "number": "claims hold a number that none of their cited articles contains",
}
_NUMBER = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d{3,})(?![\w]|[.,]\d)")


@dataclass(frozen=True, slots=True)
class Finding:
    """One citation problem: ``kind`` (a key of :data:`KINDS`), the knowledge file, the key path
    in it (e.g. ``traits.async``), the cited source id and what is wrong."""

    kind: str
    file: str
    path: str
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class Report:
    """The result of :func:`audit`: the findings, and the seed articles that could be read."""

    findings: tuple[Finding, ...]
    articles: tuple[str, ...]
    missing: tuple[str, ...]

    def count(self, kind: str) -> int:
        """How many findings are of ``kind``."""
        return sum(1 for f in self.findings if f.kind == kind)


def audit(knowledge_dir: str | Path, seeds_dir: str | Path) -> Report:
    """Check every claim of ``knowledge_dir`` that cites a seed article against that article.

    Args:
        knowledge_dir: a knowledge directory that :func:`bot.knowledge.load` accepts.
        seeds_dir: the folder holding the articles named by ``seed:`` in sources.yaml.
    Returns:
        A :class:`Report`; articles whose copy is missing are listed in ``missing`` and their
        citations are not checked.
    Raises:
        OSError: when a knowledge file cannot be read; yaml.YAMLError when one does not parse
            (run :func:`bot.knowledge.load` first for friendly messages).
    """
    articles, missing, docs = _read(Path(knowledge_dir), Path(seeds_dir))
    texts = {sid: text for sid, (text, _date) in articles.items()}
    dates = {sid: date for sid, (_text, date) in articles.items() if date != "undated"}
    named = _named(texts, docs)
    numbers = {sid: {n.replace(",", "") for n in _NUMBER.findall(t)} for sid, t in texts.items()}
    findings: list[Finding] = []
    for rel, doc in docs.items():
        for key, node in _claims(doc):
            cited = [s for s in node["sources"] if s in texts]
            for sid in cited:
                if doc["id"] not in named[sid]:
                    findings.append(
                        Finding(
                            "unnamed",
                            rel,
                            key,
                            sid,
                            f"cites {sid}, which never names {doc['name']}",
                        )
                    )
            if key.startswith("community[") and any(dates.get(s) == node["as_of"] for s in cited):
                findings.append(
                    Finding(
                        "dated",
                        rel,
                        f"{key}.as_of",
                        cited[0],
                        f"as_of {node['as_of']} is the article's own date, not the figure's; "
                        "use undated",
                    )
                )
            if cited and len(cited) == len(node["sources"]):
                text = " ".join(str(node.get(k, "")) for k in ("text", "why", "topic"))
                for n in _NUMBER.findall(text):
                    if not any(n.replace(",", "") in numbers[s] for s in cited):
                        findings.append(
                            Finding(
                                "number",
                                rel,
                                key,
                                cited[0],
                                f"{n} is in none of {', '.join(cited)}",
                            )
                        )
    return Report(tuple(findings), tuple(sorted(texts)), tuple(missing))


def article_names(knowledge_dir: str | Path, seeds_dir: str | Path) -> dict[str, frozenset[str]]:
    """Article source id -> ids of the frameworks its copy names (name, id or an alias, as a
    whole word, any case). Articles whose copy is missing are left out.

    Raises:
        OSError, yaml.YAMLError: as :func:`audit`.
    """
    articles, _missing, docs = _read(Path(knowledge_dir), Path(seeds_dir))
    return _named({sid: text for sid, (text, _date) in articles.items()}, docs)


def _read(root: Path, seeds: Path) -> tuple[dict[str, tuple[str, str]], list[str], dict[str, Any]]:
    """Each article's lowercased copy and date by source id, the ids whose copy is missing,
    and every framework file's YAML by its path under ``root``."""
    import yaml

    sources = yaml.safe_load((root / "sources.yaml").read_text(encoding="utf-8"))["sources"]
    articles: dict[str, tuple[str, str]] = {}
    missing = []
    for s in sources:
        if s.get("kind") != "article" or not s.get("seed"):
            continue
        try:
            text = (seeds / s["seed"]).read_text(encoding="utf-8").lower()
        except OSError:
            missing.append(s["id"])
            continue
        articles[s["id"]] = (text, str(s.get("date", "undated")))
    docs = {
        f"frameworks/{path.name}": yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted((root / "frameworks").glob("*.yaml"))
    }
    return articles, missing, docs


def _named(texts: Mapping[str, str], docs: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    names = {d["id"]: [d["name"], d["id"], *d.get("aliases", ())] for d in docs.values()}
    return {
        sid: frozenset(fid for fid, ns in names.items() if _names_in(ns, text))
        for sid, text in texts.items()
    }


def _names_in(names: list[str], text: str) -> bool:
    return any(re.search(rf"(?<![a-z0-9]){re.escape(n.lower())}(?![a-z0-9])", text) for n in names)


def _claims(node: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every mapping with a ``sources`` list, depth first, with its key path."""
    if isinstance(node, dict):
        if isinstance(node.get("sources"), list):
            yield path, node
        for key, value in node.items():
            if key != "sources":
                yield from _claims(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _claims(value, f"{path}[{i}]")
