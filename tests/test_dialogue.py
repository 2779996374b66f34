"""Reading answers (bot/dialogue.py): acts, negation with opposites, head counts, commands."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.dialogue import Dialogue, head_count
from bot.engine import Engine
from bot.text import clean, words


@pytest.fixture(scope="module")
def dialogue(engine: Engine) -> Dialogue:
    return engine.context.dialogue


@pytest.mark.parametrize(
    ("text", "pending", "fills"),
    [
        ("yep", "concurrency", {"concurrency": "high"}),
        ("nah", "asyncio_exp", {"asyncio_exp": "no"}),
        ("nope never", "asyncio_exp", {"asyncio_exp": "no"}),
        ("no idea honestly", "size", {"size": "unsure"}),
        ("no idea either", "batteries", {"batteries": "no_preference"}),
        ("we don't need async at all", "concurrency", {"concurrency": "low"}),
        ("nobody has touched asyncio", "asyncio_exp", {"asyncio_exp": "no"}),
        ("not an API, it's a website", "what", {"what": "website"}),
        ("we're not looking to pick our own parts", "batteries", {"batteries": "builtin"}),
        ("like 20 people tops", "size", {"size": "small"}),
        ("a few thousand users", "size", {"size": "medium"}),
        ("millions of users", "size", {"size": "large"}),
        ("meduim", "size", {"size": "medium"}),
        ("a year or two of python", "python_exp", {"python_exp": "some"}),
        (
            "large, and we want everything built in",
            "size",
            {"size": "large", "batteries": "builtin"},
        ),
        ("concurrency should be high", "python_exp", {"concurrency": "high"}),
    ],
)
def test_answers_in_own_words(
    dialogue: Dialogue, text: str, pending: str, fills: dict[str, str]
) -> None:
    assert dict(dialogue.read(clean(text), pending).fills) == fills


@pytest.mark.parametrize(
    ("text", "pending"),
    [("blue", "size"), ("purple monkey dishwasher", "what"), ("hmm", "size"), ("", "what")],
)
def test_nothing_is_guessed(dialogue: Dialogue, text: str, pending: str) -> None:
    assert dialogue.read(clean(text), pending).empty


def test_a_negated_level_is_ruled_out_not_guessed(dialogue: Dialogue) -> None:
    reading = dialogue.read(clean("we're definitely not beginners"), "python_exp")
    assert reading.fills == {} and reading.ruled_out == {"python_exp": ("new",)}


def test_two_options_at_once_are_mixed(dialogue: Dialogue) -> None:
    reading = dialogue.read(clean("both, a website and an API for the app"), "what")
    assert "what" not in reading.fills and set(reading.mixed["what"]) == {"website", "api"}


def test_not_sure_without_a_not_sure_option_skips(dialogue: Dialogue) -> None:
    reading = dialogue.read(clean("idk"), "priority")
    assert reading.skip and not reading.fills


def test_a_change_without_a_value_names_the_question(dialogue: Dialogue) -> None:
    assert dialogue.read(clean("let me change the size")).change == "size"
    assert dialogue.read(clean("change the size to medium")).fills == {"size": "medium"}


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("oops, go back", "back"),
        ("never mind", "cancel"),
        ("stop", "cancel"),
        ("ok this is a mess, let's start from scratch", "restart"),
        ("skip this one", "skip"),
        ("what do you mean", "why"),
        ("go back to the size question", ""),
        ("stop, it's a large system", ""),
        ("help me pick", ""),
    ],
)
def test_commands_in_plain_words(dialogue: Dialogue, text: str, command: str) -> None:
    assert dialogue.command(words(text)) == command


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("20 people", 20),
        ("20k users", 20_000),
        ("20,000 users", 20_000),
        ("a dozen people", 12),
        ("tens of thousands of users", 20_000),
        ("a members area", None),
        ("users", None),
    ],
)
def test_head_count(text: str, count: float | None) -> None:
    toks = words(text)
    at = [i for i, t in enumerate(toks) if t in ("people", "users", "members")]
    assert head_count(toks, at) == count


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300), pending=st.sampled_from(["", "what", "size", "asyncio_exp"]))
def test_reading_never_raises(dialogue: Dialogue, text: str, pending: str) -> None:
    reading = dialogue.read(clean(text), pending)
    assert set(reading.fills) <= {q.id for q in dialogue.kb.questions}
