"""Entity resolution, cleaning and intent detection."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.matching import MAX_MESSAGE_CHARS, clean, words
from tests.conftest import text_of

TYPOS = [
    ("flsk", "flask"),
    ("pyramd", "pyramid"),
    ("djngo", "django"),
    ("aiohtp", "aiohttp"),
    ("tornadoo", "tornado"),
    ("FLASK", "flask"),
    ("Django", "django"),
    ("fast api", "fastapi"),
    ("fastapi", "fastapi"),
    ("turbo gears", "turbogears"),
    ("turbogears", "turbogears"),
    ("bottle py", "bottle"),
    ("bottlepy", "bottle"),
    ("BottlePy", "bottle"),
    ("web2py", "web2py"),
    ("cherry py", "cherrypy"),
    ("cherrypy", "cherrypy"),
    ("falkon", "falcon"),
    ("sannic", "sanic"),
    ("bluebream", "zope"),
    ("aiohttp", "aiohttp"),
    ("gevent", "gevent"),
    ("pylons", "pylons"),
    # One swapped pair of letters (OSA distance 1) is forgiven.
    ("flaks", "flask"),
    ("djnago", "django"),
    ("pyrmaid", "pyramid"),
    ("tornaod", "tornado"),
    # One letter wrong in a name of six letters or more.
    ("web2pi", "web2py"),
    ("djangi", "django"),
]


@pytest.mark.parametrize(("text", "expected"), TYPOS)
def test_names_typos_and_aliases_resolve(engine: Engine, text: str, expected: str) -> None:
    found, _suggestions, _nc = engine.matcher.resolve(words(text))
    assert found == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "what event loop is fastest",
        "our server needs an admin panel",
        "a flash of insight",
        "the python community",
        "we want fast responses",
        "my api is slow",
        "deploy on a device",
    ],
)
def test_ordinary_words_never_become_frameworks(engine: Engine, text: str) -> None:
    found, _s, _nc = engine.matcher.resolve(words(text))
    assert found == []


def test_whole_sentence_does_not_outrank_the_part(engine: Engine) -> None:
    assert engine.matcher.resolve(words("aiohtp server"))[0] == ["aiohttp"]


@pytest.mark.parametrize(("text", "candidate"), [("flazk", "flask"), ("sanik", "sanic")])
def test_near_miss_gives_did_you_mean_not_a_guess(
    engine: Engine, text: str, candidate: str
) -> None:
    u = engine.matcher.understand(text)
    assert u.intent == "unknown" and u.frameworks == ()
    assert u.suggestions and u.suggestions[0].candidates[0] == candidate
    reply = engine.answer_once(text)[0]
    assert "Did you mean" in reply.paragraphs[0]


@pytest.mark.parametrize("text", ["rails vs django", "laravel", "express.js or flask"])
def test_frameworks_we_do_not_cover_are_never_mapped(engine: Engine, text: str) -> None:
    u = engine.matcher.understand(text)
    assert u.not_covered
    assert "flask" not in u.frameworks or "flask" in text


INTENTS = [
    ("flask vs pyramid", "compare", ("flask", "pyramid")),
    ("flask or pyramid", "compare", ("flask", "pyramid")),
    ("flask versus pyramid", "compare", ("flask", "pyramid")),
    ("difference between sanic and tornado", "compare", ("sanic", "tornado")),
    ("compare django, flask and pyramid", "compare", ("django", "flask", "pyramid")),
    ("what event loop does Sanic use?", "about", ("sanic",)),
    ("tell me about bottle", "about", ("bottle",)),
    ("is falcon good for apis", "about", ("falcon",)),
    ("which is best for websockets?", "recommend", ()),
    ("we need an admin panel and a complex database", "recommend", ()),
    ("tiny prototype for a beginner", "recommend", ()),
    ("help me pick", "recommend", ()),
    ("which frameworks are asynchronous", "list", ()),
    ("list full-stack frameworks", "list", ()),
    ("microframeworks", "list", ()),
    ("help", "help", ()),
    ("", "help", ()),
    ("   ", "help", ()),
    ("banana smoothie recipe", "unknown", ()),
    ("tell me a joke", "help", ()),
    ("tell me about laravel", "unknown", ()),
]


@pytest.mark.parametrize(("text", "intent", "frameworks"), INTENTS)
def test_intent_detection(
    engine: Engine, text: str, intent: str, frameworks: tuple[str, ...]
) -> None:
    u = engine.matcher.understand(text)
    assert (u.intent, u.frameworks) == (intent, frameworks)


@pytest.mark.parametrize(
    "raw",
    [
        "<!channel> flask vs django",
        "<!here> flask vs django",
        "<@U123ABC> flask vs django",
        "@everyone flask vs django",
        "@here flask vs django",
        "<@!1234567890> flask vs django",
        "<@U1|bob> flask vs django",
    ],
)
def test_platform_mentions_are_removed(engine: Engine, raw: str) -> None:
    assert clean(raw) == "flask vs django"
    replies = engine.answer_once(raw)
    text = text_of(replies)
    for live in ("<!channel>", "<!here>", "<@", "@everyone", "@here"):
        assert live not in text


def test_too_long_message_is_refused_politely(engine: Engine) -> None:
    reply = engine.answer_once("flask " * (MAX_MESSAGE_CHARS // 5))[0]
    assert reply.kind == "error" and "4,000" in reply.paragraphs[0]


def test_prefill_reads_answers_from_a_sentence(engine: Engine) -> None:
    answers, _signals = engine.matcher.prefill(words("small async API, team knows asyncio"))
    assert answers == {"size": "small", "concurrency": "high", "what": "api", "asyncio_exp": "yes"}


def test_autocomplete_suggests_fuzzy_names(engine: Engine) -> None:
    assert engine.matcher.suggest("flsk")[0] == "flask"
    assert engine.matcher.suggest("dj")[0] == "django"
    assert len(engine.matcher.suggest("")) <= 25
