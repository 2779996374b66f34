"""Property tests: no text, however odd, makes the core raise or go silent."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conversation import FlowState, Turn, step
from bot.engine import Engine, Incoming
from bot.replies import INTENTS, render_text
from bot.sessions import ConversationKey

WORDS = st.sampled_from(
    [
        "flask",
        "vs",
        "djngo",
        "help",
        "me",
        "pick",
        "back",
        "skip",
        "why",
        "not",
        "what",
        "if",
        "large",
        "2",
        "<!channel>",
        "@here",
        "export",
        "change",
        "size",
        "rails",
        "async",
        "api",
        "websockets",
        "🙂",
        "",
    ]
)
TEXT = st.one_of(st.text(max_size=300), st.lists(WORDS, max_size=12).map(" ".join))


@settings(
    max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(text=TEXT)
def test_answer_once_never_raises(engine: Engine, text: str) -> None:
    replies = engine.answer_once(text)
    assert replies and replies[0].intent in INTENTS
    rendered = render_text(replies[0])
    assert rendered.strip()
    assert "<!channel>" not in rendered and "@here" not in rendered


@settings(
    max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    lines=st.lists(TEXT, min_size=1, max_size=8),
    actions=st.lists(
        st.sampled_from(
            [
                "",
                "cmd:back",
                "cmd:skip",
                "answer:size:large",
                "answer:what:zzz",
                "change:size",
                "cmd:export",
                "cmd:compare-top",
                "cmd:whatif",
                "cmd:refine",
                "cmd:new",
                "cmd:keep",
                "cmd:new:0000",
                "cmd:skip:what:0000",
                "answer:size:large:0000",
                "answer:what:api:",
                "x:y",
            ]
        ),
        min_size=8,
        max_size=8,
    ),
)
def test_conversation_never_raises(engine: Engine, lines: list[str], actions: list[str]) -> None:
    state = FlowState()
    for i, line in enumerate(lines):
        before = state
        state, replies = step(engine.context, state, Turn(text=line, action=actions[i], now=i))
        assert FlowState.from_dict(state.to_dict()) == state
        for reply in replies:
            assert reply.intent in INTENTS
        if actions[i].endswith(":0000"):  # a press from a message no state ever showed
            assert state.answers == before.answers and state.pending == before.pending


@settings(
    max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(text=TEXT)
def test_engine_always_replies(engine: Engine, text: str) -> None:
    key = ConversationKey(platform="prop", user="u")
    replies = asyncio.run(engine.handle(Incoming(key=key, text=text)))
    assert replies
