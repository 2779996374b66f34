"""Understanding people as they write: every example of issue 11's "Why", the pipeline's stages
one by one, and accuracy floors on the paraphrase set (tests/understanding/)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.bench_understanding import accuracy, evaluate, load_cases
from bot.engine import Engine
from bot.matching import Need
from bot.replies import Reply, render_text
from bot.roles import EXCLUDED, ORDINARY, REFERENCE, SUBJECT, Mention, split_clauses
from tests.conftest import text_of

#: Accuracy floors (share of cases passed). dev, dev2 and dev3 are tuned on; heldout is only
#: reported. Each floor sits a few points under what the half measured when it was set (see
#: the closing note of issue 11), so a real regression fails and noise does not.
FLOORS = {"dev": 0.94, "dev2": 0.91, "dev3": 0.94, "dev4": 0.91, "heldout": 0.87}


def ask(engine: Engine, text: str) -> Reply:
    return engine.answer_once(text)[0]


def names(reply: Reply) -> list[str]:
    return list(reply.frameworks)


# ---------------------------------------------------------------- reverse look-ups


@pytest.mark.parametrize(
    ("text", "framework", "word"),
    [
        ("which framework came out of FriendFeed", "Tornado", "FriendFeed"),
        ("Which framework came out of FriendFeed?", "Tornado", "FriendFeed"),
        ("what does Instagram run on", "Django", "Instagram"),
        ("which one uses uvloop", "Sanic", "uvloop"),
    ],
)
def test_reverse_lookup_answers_with_the_framework_and_the_claim(
    engine: Engine, text: str, framework: str, word: str
) -> None:
    reply = ask(engine, text)
    assert (reply.intent, names(reply)[0]) == ("about", framework)
    assert word.lower() in reply.paragraphs[0].lower()
    assert reply.sources
    assert "not a framework I know" not in text_of([reply])


def test_most_github_stars_ranks_by_the_figure_with_its_date(engine: Engine) -> None:
    reply = ask(engine, "which has the most GitHub stars")
    assert reply.intent == "list" and names(reply)[:2] == ["Flask", "Django"]
    assert "39,946, undated (article updated 2023-10-02)" in reply.paragraphs[0]


# ---------------------------------------------------------------- roles of names


@pytest.mark.parametrize(
    ("text", "ruled_out", "intent"),
    [
        ("no django pls, tiny json api", "Django", "recommend"),
        ("full-stack options besides django", "Django", "list"),
        ("we don't want FastAPI", "FastAPI", "recommend"),
    ],
)
def test_excluded_names_never_lead_and_are_named_as_excluded(
    engine: Engine, text: str, ruled_out: str, intent: str
) -> None:
    reply = ask(engine, text)
    assert reply.intent == intent
    assert ruled_out not in names(reply)
    assert any(ruled_out in n and "Left out" in n for n in reply.notices)


def test_full_stack_besides_django_lists_the_others(engine: Engine) -> None:
    assert {"web2py", "TurboGears"} <= set(names(ask(engine, "full-stack options besides django")))


def test_tiny_json_api_without_django_ranks_api_frameworks(engine: Engine) -> None:
    top = names(ask(engine, "no django pls, tiny json api"))[:3]
    assert {"FastAPI", "Falcon", "Bottle", "Flask"} & set(top)


def test_reference_anchors_similarity_and_does_not_lead(engine: Engine) -> None:
    reply = ask(engine, "something like flask but async")
    assert reply.intent == "recommend"
    assert names(reply)[0] != "Flask"
    assert {"Sanic", "FastAPI", "aiohttp"} & set(names(reply)[:3])
    assert "like Flask" in text_of([reply])


@pytest.mark.parametrize(
    "text",
    [
        "I spilled my flask of coffee",
        "the tornado last night knocked out our power",
        "any good bottle of wine",
        "django unchained is my favourite film",
    ],
)
def test_a_name_used_as_an_ordinary_word_gets_the_friendly_help(engine: Engine, text: str) -> None:
    reply = ask(engine, text)
    assert reply.intent == "help" and reply.frameworks == ()
    assert "doesn't look like a question about Python web frameworks" in reply.paragraphs[0]


@pytest.mark.parametrize(
    "text", ["flask vs django", "is a flask of tea a python framework", "bottle or flask?"]
)
def test_names_next_to_software_words_stay_frameworks(engine: Engine, text: str) -> None:
    assert ask(engine, text).frameworks


# ---------------------------------------------------------------- negation of needs


def test_nothing_real_time_pushes_the_other_way(engine: Engine) -> None:
    reply = ask(engine, "plain CRUD app, nothing real-time")
    assert not {"aiohttp", "Tornado", "Sanic"} & set(names(reply))
    assert "you do not want real-time" in text_of([reply])


def test_not_locked_into_an_orm_does_not_pick_django(engine: Engine) -> None:
    reply = ask(engine, "dont want to be locked into any orm")
    assert reply.intent == "recommend" and names(reply)[0] != "Django"
    assert "Django" not in names(reply)


def test_choosing_our_own_orm_in_a_large_system_picks_pyramid(engine: Engine) -> None:
    text = "large system, we want to choose our own ORM and templating and grow over time"
    assert names(ask(engine, text))[0] == "Pyramid"


def test_negation_stays_inside_its_clause(engine: Engine) -> None:
    u = engine.matcher.understand("no admin panel, but we need websockets")
    negated = [n for n in u.needs if n.negated]
    assert negated and all(n.start == 1 for n in negated)
    assert Need("what", "realtime", False, 6, 1) in u.needs


def test_a_negated_answer_is_not_prefilled(engine: Engine) -> None:
    answers, _signals = engine.matcher.prefill("not an API, it's a website with pages")
    assert answers.get("what") == "website"
    answers, _signals = engine.matcher.prefill("no async at all")
    assert answers.get("concurrency") == "low"


# ---------------------------------------------------------------- needs beyond the word list


def test_a_need_in_the_frameworks_own_words_is_found(engine: Engine) -> None:
    reply = ask(engine, "mediator between 2 legacy systems making slow outbound calls")
    assert reply.intent == "recommend" and names(reply)[0] == "Sanic"
    assert "what you described" in text_of([reply])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("admin-heavy site for our back office", {"Django"}),
        ("we build REST APIs", {"Falcon", "FastAPI", "Flask", "CherryPy"}),
    ],
)
def test_needs_outside_the_word_list(engine: Engine, text: str, expected: set[str]) -> None:
    reply = ask(engine, text)
    assert reply.intent == "recommend" and expected & set(names(reply)[:3])


# ---------------------------------------------------------------- attribute lists


def test_which_ones_are_asgi(engine: Engine) -> None:
    reply = ask(engine, "which ones are ASGI?")
    assert reply.intent == "list" and {"FastAPI", "Falcon", "Django"} <= set(names(reply))
    assert not {"Flask", "Bottle", "web2py"} & set(names(reply))


def test_which_do_not_support_wsgi(engine: Engine) -> None:
    reply = ask(engine, "which frameworks don't support WSGI")
    assert reply.intent == "list" and "FastAPI" in names(reply)
    assert not {"Flask", "Django", "Bottle", "Pyramid"} & set(names(reply))


def test_what_frameworks_do_you_know_lists_them_all(engine: Engine) -> None:
    reply = ask(engine, "what frameworks do you know")
    assert reply.intent == "list" and set(names(reply)) == {
        f.name for f in engine.kb.frameworks.values()
    }


def test_a_union_of_attributes(engine: Engine) -> None:
    reply = ask(engine, "show me the async ones and the full-stack ones")
    assert reply.intent == "list" and {"aiohttp", "Sanic", "Django", "web2py"} <= set(names(reply))


# ---------------------------------------------------------------- comparisons


def test_faster_leads_with_speed(engine: Engine) -> None:
    reply = ask(engine, "which is faster, flask or django")
    assert reply.intent == "compare" and names(reply) == ["Flask", "Django"]
    assert reply.paragraphs[0].startswith("On speed and footprint, Flask comes out ahead")
    assert reply.table is not None and reply.table.rows[0][0].startswith("runtime speed")


def test_websockets_comparison_speaks_of_websockets(engine: Engine) -> None:
    reply = ask(engine, "tornado or aiohttp for websockets")
    assert reply.intent == "compare"
    assert "websocket" in reply.paragraphs[0].lower()


def test_swapped_letters_are_forgiven(engine: Engine) -> None:
    reply = ask(engine, "djnago vs pyrmaid")
    assert (reply.intent, names(reply)) == ("compare", ["Django", "Pyramid"])


@pytest.mark.parametrize("word", ["framework", "python", "web", "app"])
def test_ordinary_words_are_never_fuzzed(engine: Engine, word: str) -> None:
    found, suggestions, _nc = engine.matcher.resolve([word])
    assert found == [] and suggestions == []


# ---------------------------------------------------------------- fact answers


def test_a_fact_question_answers_first_and_short(engine: Engine) -> None:
    reply = ask(engine, "what event loop does Sanic use?")
    assert "uvloop" in reply.paragraphs[0]
    assert not reply.code and len(render_text(reply).splitlines()) < 20
    assert any(c.value == "ask:more about Sanic" for c in reply.choices)


def test_more_about_gives_the_whole_page(engine: Engine) -> None:
    reply = ask(engine, "more about Sanic")
    assert reply.code and any(f.name == "Best for" for f in reply.fields)


def test_a_disputed_fact_shows_both_sides(engine: Engine) -> None:
    text = text_of(engine.answer_once("when was flask released?"))
    assert "2010" in text and "2004" in text


# ---------------------------------------------------------------- out of scope


@pytest.mark.parametrize(
    "text", ["best javascript framework", "rails vs laravel", "spring boot or asp.net?"]
)
def test_other_languages_are_named_as_not_covered(engine: Engine, text: str) -> None:
    reply = ask(engine, text)
    assert reply.intent == "unknown" and "not covered" in text_of([reply])


def test_a_not_covered_name_in_a_clear_need_is_a_reference(engine: Engine) -> None:
    reply = ask(engine, "rails shop moving to python, we want something full-featured")
    assert reply.intent == "recommend"
    assert {"Django", "web2py", "TurboGears"} & set(names(reply)[:2])
    assert any("reference point" in n for n in reply.notices)


# ---------------------------------------------------------------- the stages on their own


def test_split_clauses_keeps_dotted_names_whole() -> None:
    tokens, clause = split_clauses("use node.js, or not. web2py 3.0 - maybe")
    assert tokens == ["use", "node.js", "or", "not", "web2py", "3.0", "maybe"]
    assert clause == [0, 0, 1, 1, 2, 2, 3]


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("anything but flask", EXCLUDED),
        ("flask is out", EXCLUDED),
        ("something like flask", REFERENCE),
        ("a flask-like framework", REFERENCE),
        ("we like flask", SUBJECT),
        ("a flask of tea", ORDINARY),
        ("tell me about flask", SUBJECT),
    ],
)
def test_roles(engine: Engine, text: str, role: str) -> None:
    tokens, clause = split_clauses(text)
    i = tokens.index("flask")
    mentions = engine.matcher.cueing.roles(tokens, clause, [Mention("flask", i, 1)])
    assert mentions[0].role == role


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("nothing realtime", True),
        ("realtime is not needed", True),
        ("not sure about realtime", False),
        ("no admin, realtime", False),
        ("no admin but realtime", False),
        ("we don't want to be stuck without realtime", True),
        ("realtime", False),
    ],
)
def test_negation_scope(engine: Engine, text: str, negated: bool) -> None:
    tokens, clause = split_clauses(text)
    i = tokens.index("realtime")
    assert engine.matcher.cueing.negation(tokens, clause).negated([(i, 1)]) == [negated]


def test_rare_words_outweigh_common_ones(engine: Engine) -> None:
    hits = engine.matcher.index.search(["web", "framework", "friendfeed"], limit=3)
    assert hits[0].framework == "tornado"


@pytest.mark.parametrize(
    ("question", "section_word"),
    [
        ("who uses it", "users"),
        ("which companies run it", "users"),
        ("what sites are built with it", "users"),
        ("who made it", "author"),
        ("who wrote it", "author"),
        ("how many stars", "figures"),
        ("is it popular", "figures"),
        ("what is its philosophy", "motto"),
    ],
)
def test_synonyms_reach_the_section_words(engine: Engine, question: str, section_word: str) -> None:
    assert section_word in engine.matcher.index.terms(question.split())


def test_the_index_is_built_from_every_claim(engine: Engine) -> None:
    assert engine.matcher.index.search(["c10k"], frameworks=["tornado"])
    assert not engine.matcher.index.search(["c10k"], frameworks=["flask"])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["not", "no", "flask", "like", ",", "but", "a", "of"]), max_size=12)
)
def test_the_stages_never_raise(engine: Engine, parts: list[str]) -> None:
    u = engine.matcher.understand(" ".join(parts))
    assert u.intent in {"compare", "about", "recommend", "list", "help", "unknown"}


# ---------------------------------------------------------------- the paraphrase set


@pytest.mark.parametrize("half", sorted(FLOORS))
def test_paraphrase_accuracy_floor(engine: Engine, half: str) -> None:
    cases = load_cases(half)
    assert len(cases) >= 150, f"the {half} set is missing or short"
    passed, total = accuracy(evaluate(engine, half))["all"]
    assert passed / total >= FLOORS[half], f"{half}: {passed}/{total}"


def test_every_paraphrase_reply_cites_what_it_names(engine: Engine) -> None:
    for case in load_cases("dev"):
        for reply in engine.answer_once(str(case["q"])):
            body = render_text(reply).split("\n\nSources:\n")[0]
            cited = {
                s.strip()
                for group in re.findall(r"\[([a-z0-9, -]+)\]", body)
                for s in group.split(",")
            } & set(engine.kb.sources)
            assert cited <= {s.id for s in reply.sources}, case["q"]
