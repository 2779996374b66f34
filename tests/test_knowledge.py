"""Knowledge validation: the shipped base is valid, broken copies fail with located errors."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.errors import KnowledgeError
from bot.knowledge import Framework, KnowledgeBase, load
from tests.conftest import SEEDS

FULL = {
    "django",
    "flask",
    "pyramid",
    "fastapi",
    "tornado",
    "sanic",
    "aiohttp",
    "bottle",
    "falcon",
    "cherrypy",
    "web2py",
    "turbogears",
    "starlette",
    "litestar",
    "quart",
}
#: Frameworks no seed article covers; their facts come from their own documentation.
TODAY = {"starlette", "litestar", "quart"}
SHORT = {"zope", "webapp2", "pylons", "pecan", "diesel", "twisted", "gevent", "pulsar"}


def test_shipped_base_is_valid_and_complete(kb: KnowledgeBase) -> None:
    assert {f.id for f in kb.full_frameworks()} == FULL
    assert {f for f, fw in kb.frameworks.items() if not fw.is_full} == SHORT
    assert {s for s in kb.sources if kb.sources[s].kind == "article"} == {
        "alibaba",
        "greeden",
        "stxnext",
        "svitla",
        "netguru",
    }
    assert 6 <= len(kb.questions) <= 8
    assert kb.version.startswith("sha256:")


def _claim_sources(fw: Framework) -> set[str]:
    """Every source the framework's own claims cite, outside its trait scores."""
    claims = [
        fw.summary,
        *fw.categories,
        *fw.interface,
        *fw.companions,
        *fw.history,
        *fw.notable_users,
        *fw.community,
        *fw.strengths,
        *fw.weaknesses,
        *fw.best_for,
        *fw.avoid_when,
        *fw.facts,
        *fw.disagreements,
        *((fw.async_support,) if fw.async_support else ()),
        *(fw.builtins or {}).values(),
    ]
    return {s for c in claims for s in c.sources}


def test_every_trait_score_rests_on_the_frameworks_own_claims(kb: KnowledgeBase) -> None:
    """A score cites only sources that the framework's own claims cite, so its reason is one of
    those claims; a trait no claim speaks to is left out, never given a middling score."""
    for fw in kb.full_frameworks():
        assert fw.traits and fw.hello_world is not None and fw.bootstrap is not None, fw.id
        assert set(fw.traits) <= set(kb.traits), fw.id
        own = _claim_sources(fw)
        for tid, t in fw.traits.items():
            assert t.sources and set(t.sources) <= own, (fw.id, tid, t.sources)
            assert "no speed claims" not in t.why and "no article gives" not in t.why, (fw.id, tid)


def test_todays_frameworks_cite_only_their_own_documentation(kb: KnowledgeBase) -> None:
    for fid in TODAY:
        fw = kb.frameworks[fid]
        cited = _claim_sources(fw) | {s for t in (fw.traits or {}).values() for s in t.sources}
        assert cited == {f"{fid}-docs"}, (fid, cited)
        # Its own docs cannot place it above the field; only the articles can.
        assert all(t.score <= 4 for t in (fw.traits or {}).values()), fid
        source = kb.sources[f"{fid}-docs"]
        assert source.kind == "reference" and source.url.startswith("https://")
        assert source.date != "undated", fid


def test_undated_figures_say_so_with_the_articles_date(kb: KnowledgeBase) -> None:
    for fw in kb.frameworks.values():
        for fig in fw.community:
            for sid in fig.sources:
                date = kb.sources[sid].date
                assert date == "undated" or fig.as_of != date, (fw.id, fig)
    stars = next(f for f in kb.frameworks["flask"].community if f.metric == "github_stars")
    assert stars.as_of == "undated" and stars.when == "undated (article updated 2023-10-02)"


def test_a_known_error_is_marked_with_its_evidence(kb: KnowledgeBase) -> None:
    flask = kb.frameworks["flask"]
    (error,) = [e for e in flask.errors if "2004" in e.says]
    assert error.sources == ("svitla",) and "flask-docs" in error.evidence
    assert "2010" in error.correction
    assert not any("2004" in c.text for c in (*flask.history, *flask.disagreements))
    assert any("2010" in h.text for h in flask.history)


def test_labels_cite_only_sources_that_give_them(kb: KnowledgeBase) -> None:
    assert kb.frameworks["pyramid"].category_values() == ("micro",)
    for fid in ("zope", "pylons", "pecan", "diesel"):
        for c in kb.frameworks[fid].categories:
            assert c.sources == (f"{fid}-docs",), (fid, c)


def _seed_ngrams(n: int = 8) -> set[tuple[str, ...]]:
    grams: set[tuple[str, ...]] = set()
    for path in SEEDS.glob("*.txt"):
        toks = re.findall(r"[a-z0-9]+", path.read_text(encoding="utf-8", errors="replace").lower())
        grams.update(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))
    return grams


@pytest.mark.skipif(not SEEDS.is_dir(), reason="shared/seeds is not beside the checkout")
def test_no_sentence_is_pasted_from_the_articles() -> None:
    grams = _seed_ngrams()
    for path in sorted(DEFAULT_KNOWLEDGE_DIR.rglob("*.yaml")):
        if path.name == "sources.yaml":  # article titles are citations, quoted on purpose
            continue
        toks = re.findall(r"[a-z0-9]+", path.read_text(encoding="utf-8").lower())
        copied = [
            " ".join(toks[i : i + 8])
            for i in range(len(toks) - 7)
            if tuple(toks[i : i + 8]) in grams
        ]
        assert not copied, f"{path.name} repeats the articles: {copied[:3]}"


# ----------------------------------------------------------------- broken copies


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    dest = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, dest)
    return dest


def _edit(path: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def _problems(directory: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        load(directory)
    return [str(p) for p in info.value.problems]


BROKEN = [
    (
        "unknown key",
        "frameworks/flask.yaml",
        lambda d: d.update(colour="blue"),
        "frameworks/flask.yaml: unknown key(s): colour",
    ),
    (
        "missing field",
        "frameworks/sanic.yaml",
        lambda d: d.pop("summary"),
        "frameworks/sanic.yaml: missing field: summary",
    ),
    (
        "unknown source",
        "frameworks/django.yaml",
        lambda d: d["history"][0].update(sources=["wikipedia"]),
        "frameworks/django.yaml: history[0].sources[0]: unknown source id 'wikipedia'",
    ),
    (
        "duplicate alias",
        "frameworks/bottle.yaml",
        lambda d: d["aliases"].append("Flask"),
        "alias 'Flask' is already used by",
    ),
    (
        "score out of range",
        "frameworks/tornado.yaml",
        lambda d: d["traits"]["realtime"].update(score=7),
        "frameworks/tornado.yaml: traits.realtime.score: 7 is greater than the maximum of 5",
    ),
    (
        "missing full key",
        "frameworks/falcon.yaml",
        lambda d: d.pop("hello_world"),
        "frameworks/falcon.yaml: hello_world: missing field (required for entry: full)",
    ),
    (
        "unknown trait",
        "questions.yaml",
        lambda d: d["questions"][0]["options"][0]["weights"].update(magic=2),
        "questions.yaml: questions[0].options[0].weights.magic: unknown trait 'magic'",
    ),
    (
        "bad date",
        "frameworks/flask.yaml",
        lambda d: d["community"][0].update(as_of="last year"),
        "frameworks/flask.yaml: community[0].as_of: 'last year' does not match",
    ),
    (
        "id mismatch",
        "frameworks/cherrypy.yaml",
        lambda d: d.update(id="cherry"),
        "frameworks/cherrypy.yaml: id: id 'cherry' must match the file name 'cherrypy'",
    ),
]


@pytest.mark.parametrize(("what", "rel", "change", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file_gives_a_located_error(
    copy: Path,
    what: str,
    rel: str,
    change: Callable[[dict], None],  # type: ignore[type-arg]
    expected: str,
) -> None:
    _edit(copy / rel, change)
    problems = _problems(copy)
    assert any(expected in p for p in problems), problems


def test_yaml_syntax_error_names_file_and_line(copy: Path) -> None:
    (copy / "frameworks" / "gevent.yaml").write_text("id: gevent\nname: [unclosed\n")
    problems = _problems(copy)
    assert any(p.startswith("frameworks/gevent.yaml: YAML syntax error at line") for p in problems)


def test_all_problems_are_reported_at_once(copy: Path) -> None:
    _edit(copy / "frameworks" / "flask.yaml", lambda d: d.update(colour="blue"))
    _edit(copy / "frameworks" / "sanic.yaml", lambda d: d.pop("summary"))
    (copy / "sources.yaml").write_text("sources: []\n")
    problems = _problems(copy)
    files = {p.split(":")[0] for p in problems}
    assert {"frameworks/flask.yaml", "frameworks/sanic.yaml", "sources.yaml"} <= files


def test_missing_directory_is_a_located_error(tmp_path: Path) -> None:
    assert "knowledge directory not found" in _problems(tmp_path / "nope")[0]


def test_cache_is_used_only_for_identical_bytes(copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    flask = copy / "frameworks" / "flask.yaml"
    original = flask.read_bytes()
    first = load(copy, cache_dir=cache)
    assert len(list(cache.glob("kb-*.pickle"))) == 1
    assert load(copy, cache_dir=cache) == first
    _edit(copy / "frameworks" / "flask.yaml", lambda d: d.update(colour="blue"))
    with pytest.raises(KnowledgeError):
        load(copy, cache_dir=cache)
    (cache / next(iter(cache.glob("kb-*.pickle"))).name).write_bytes(b"garbage")
    flask.write_bytes(original)
    assert load(copy, cache_dir=cache).version == first.version
