"""Hardening of the core and start-up (issue 14, defects 1-4 and 6): each test is the smallest
reproducer of a defect that independent testing found, then a property test over
:meth:`Engine.handle` with long digit strings, expanding Unicode and mention syntax."""

from __future__ import annotations

import asyncio
import io
import socket
import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.cli import EXIT_CONFIG, EXIT_OK, main
from bot import text as text_module
from bot.config import Settings
from bot.engine import Engine, Incoming
from bot.errors import ConfigError
from bot.knowledge import KnowledgeBase
from bot.replies import INTENTS, Reply, render_text
from bot.sessions import ConversationKey, MemoryStore
from bot.text import MAX_MESSAGE_CHARS, NFKC_CHUNK, clean
from tests.loopback import free_port

KEY = ConversationKey(platform="console", user="prop")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No platform token or advisor setting from the outside; sessions in a fresh file."""
    import os

    for name in list(os.environ):
        if name.startswith(("SLACK_", "DISCORD_", "ADVISOR_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ADVISOR_DB", str(tmp_path / "sessions.sqlite3"))
    monkeypatch.setenv("ADVISOR_CACHE_DIR", "off")
    yield monkeypatch


def chat(lines: list[str]) -> tuple[int, str, str]:
    """``advisor chat`` in this process with ``lines`` piped in: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["chat"], stdin=io.StringIO("".join(f"{x}\n" for x in lines)), stdout=out, stderr=err
    )
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- 1. long digits


async def test_4301_digits_mid_flow_get_a_polite_answer(kb: KnowledgeBase) -> None:
    engine = Engine(kb, MemoryStore())
    await engine.handle(Incoming(key=KEY, text="help me pick"))
    replies = await engine.handle(Incoming(key=KEY, text="9" * 4301))
    assert replies and all(r.intent in INTENTS for r in replies)
    follow = await engine.handle(Incoming(key=KEY, text="2"))  # the flow is still there
    assert "Question 2 of" in render_text(follow[-1])


def test_chat_keeps_reading_after_4301_digits(clean_env: pytest.MonkeyPatch) -> None:
    code, out, err = chat(["help me pick", "9" * 4301, "flask vs pyramid"])
    assert code == EXIT_OK, err
    assert "Traceback" not in err
    assert "Flask vs Pyramid" in out  # the line after the digits was still answered


# --------------------------------------------------------------------------- 2. chat + Redis


def test_chat_with_redis_url_keeps_sessions_in_redis(
    clean_env: pytest.MonkeyPatch, redis_url: str
) -> None:
    import redis

    clean_env.setenv("ADVISOR_REDIS_URL", redis_url)
    code, out, err = chat(["help me pick"])
    assert code == EXIT_OK, err
    assert "Question 1 of" in out
    keys = redis.Redis.from_url(redis_url).keys("advisor:s:*")
    assert any(b"console" in k for k in keys)


# --------------------------------------------------------------------------- 3. bad store


def _corrupt(path: Path) -> Path:
    path.write_bytes(b"this is not an SQLite database " * 64)
    return path


def _wrong_schema(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, blob TEXT)")
    db.commit()
    db.close()
    return path


def _parent_is_a_file(path: Path) -> Path:
    (path.parent / "plain-file").write_text("x")
    return path.parent / "plain-file" / "sessions.sqlite3"


def _is_a_directory(path: Path) -> Path:
    path.mkdir()
    return path


BAD_STORES = {
    "corrupt": _corrupt,
    "wrong schema": _wrong_schema,
    "missing directory (its parent is a file)": _parent_is_a_file,
    "a directory, not a file": _is_a_directory,
}


@pytest.mark.parametrize("make", BAD_STORES.values(), ids=list(BAD_STORES))
@pytest.mark.parametrize("command", ["chat", "slack"])
def test_bad_session_store_exits_2_naming_advisor_db(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, make: object, command: str
) -> None:
    assert callable(make)
    path = make(tmp_path / "bad.sqlite3")
    clean_env.setenv("ADVISOR_DB", str(path))
    clean_env.setenv("ADVISOR_OPS_PORT", "off")
    if command == "slack":  # HTTP mode; must stop before it ever listens
        clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-test")
        clean_env.setenv("SLACK_SIGNING_SECRET", "secret")
        clean_env.setenv("ADVISOR_HTTP_HOST", "127.0.0.1")
        clean_env.setenv("ADVISOR_HTTP_PORT", str(free_port()))
    out, err = io.StringIO(), io.StringIO()
    code = main([command], stdin=io.StringIO("help me pick\n"), stdout=out, stderr=err)
    assert code == EXIT_CONFIG, (out.getvalue(), err.getvalue())
    assert "ADVISOR_DB" in err.getvalue() and str(path) in err.getvalue()
    assert "try again" not in out.getvalue()


# --------------------------------------------------------------------------- 4. settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ADVISOR_SESSION_TTL", "9" * 400),  # OverflowError on the first turn
        ("ADVISOR_SESSION_TTL", "9" * 5000),  # past Python's integer-string limit
        ("ADVISOR_SESSION_TTL", str(10**15)),  # Redis refuses the expiry on every turn
        ("ADVISOR_HTTP_PORT", "9" * 5000),
        ("ADVISOR_OPS_PORT", "9" * 5000),
        ("ADVISOR_DISCORD_SHARDS", "9" * 5000),
        ("DISCORD_GUILD_ID", "9" * 5000),
        ("ADVISOR_REDIS_URL", "redis://h:6379/abc"),  # silently database 0
        ("ADVISOR_REDIS_URL", "redis://h:port/0"),
        ("ADVISOR_REDIS_URL", "redis://h:6379/0?db=x"),
    ],
)
def test_bad_setting_is_refused_naming_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_redis_database_number_is_kept() -> None:
    assert Settings.from_env({"ADVISOR_REDIS_URL": "redis://h:6379/3"}).redis_url.endswith("/3")


def test_largest_session_ttl_works_with_redis(kb: KnowledgeBase, redis_url: str) -> None:
    from bot.config import MAX_SESSION_TTL
    from bot.redis_backend import RedisStore, connect

    async def turn() -> str:
        store = RedisStore(connect(redis_url))
        engine = Engine(kb, store, ttl=MAX_SESSION_TTL)
        try:
            replies = await engine.handle(Incoming(key=KEY, text="help me pick"))
        finally:
            await engine.close()
        return render_text(replies[0])

    assert "Question 1 of" in asyncio.run(turn())


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something else already listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


def _serve_slack(clean_env: pytest.MonkeyPatch) -> tuple[int, str]:
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    clean_env.setenv("SLACK_SIGNING_SECRET", "secret")
    clean_env.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")  # never reached
    out, err = io.StringIO(), io.StringIO()
    code = main(["slack"], stdout=out, stderr=err)
    return code, err.getvalue()


def test_ops_port_in_use_exits_2(clean_env: pytest.MonkeyPatch, busy_port: int) -> None:
    clean_env.setenv("ADVISOR_HTTP_HOST", "127.0.0.1")
    clean_env.setenv("ADVISOR_HTTP_PORT", str(free_port()))
    clean_env.setenv("ADVISOR_OPS_HOST", "127.0.0.1")
    clean_env.setenv("ADVISOR_OPS_PORT", str(busy_port))
    code, err = _serve_slack(clean_env)
    assert code == EXIT_CONFIG, err
    assert "ADVISOR_OPS_PORT" in err and str(busy_port) in err and "Traceback" not in err


def test_http_port_in_use_exits_2(clean_env: pytest.MonkeyPatch, busy_port: int) -> None:
    clean_env.setenv("ADVISOR_HTTP_HOST", "127.0.0.1")
    clean_env.setenv("ADVISOR_HTTP_PORT", str(busy_port))
    clean_env.setenv("ADVISOR_OPS_PORT", "off")
    code, err = _serve_slack(clean_env)
    assert code == EXIT_CONFIG, err
    assert "ADVISOR_HTTP_PORT" in err and str(busy_port) in err and "Traceback" not in err


def test_unresolvable_host_exits_2(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ADVISOR_HTTP_HOST", "127.0.0.1")
    clean_env.setenv("ADVISOR_HTTP_PORT", str(free_port()))
    clean_env.setenv("ADVISOR_OPS_HOST", "no-such-host.invalid")
    clean_env.setenv("ADVISOR_OPS_PORT", str(free_port()))
    code, err = _serve_slack(clean_env)
    assert code == EXIT_CONFIG, err
    assert "ADVISOR_OPS_HOST" in err and "no-such-host.invalid" in err and "Traceback" not in err


# --------------------------------------------------------------------------- 6. NFKC


def test_expanding_unicode_is_cut_before_it_is_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    produced: list[int] = []
    real = unicodedata.normalize

    def counting(form: str, s: str) -> str:  # type: ignore[override]
        result = real(form, s)  # type: ignore[arg-type]
        produced.append(len(result))
        return result

    monkeypatch.setattr(text_module.unicodedata, "normalize", counting)
    out = clean("\ufdfa" * 100_000)  # NFKC turns each into 18 characters
    assert len(out) == MAX_MESSAGE_CHARS + 1  # still reads as "too long"
    # before: 16,000 characters went in and 288,000 came out; now NFKC stops soon after the
    # 16,000 characters that clean() reads at most (mentions and markup take room)
    assert sum(produced) <= 4 * MAX_MESSAGE_CHARS + 18 * NFKC_CHUNK


def test_cutting_keeps_what_normalising_joins() -> None:
    # A base letter and its combining accent must not be split by the cut.
    assert clean("e\u0301" * 3000)[:4] == "\u00e9" * 4
    assert clean("ﬁ" * 10) == "fi" * 10


# --------------------------------------------------------------------------- property


MENTIONS = st.sampled_from(
    ["<@U123>", "<!channel>", "<!here>", "<#C1|general>", "@everyone", "@here", "<@!42>", "<@&7>"]
)
EXPANDING = st.sampled_from(
    ["\ufdfa", "\u0390", "\ufb2c", "ﬃ", "\u3392", "e\u0301", "\u1100\u1161"]
)
PIECE = st.one_of(
    st.integers(min_value=4290, max_value=9000).map(lambda n: "9" * n),
    st.tuples(EXPANDING, st.integers(min_value=1, max_value=6000)).map(lambda t: t[0] * t[1]),
    MENTIONS,
    st.sampled_from(["help me pick", "2", "flask vs django", "skip", "back", " ", "\n"]),
)


@settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(messages=st.lists(st.lists(PIECE, min_size=1, max_size=4).map("".join), max_size=4))
def test_engine_handles_digits_expanding_unicode_and_mentions(
    kb: KnowledgeBase, messages: list[str]
) -> None:
    async def talk() -> None:
        engine = Engine(kb, MemoryStore())
        for message in ["help me pick", *messages]:
            replies = await engine.handle(Incoming(key=KEY, text=message))
            assert replies and all(r.intent in INTENTS for r in replies)
            shown = "\n".join(render_text(r) for r in replies)
            assert "<!channel>" not in shown and "@everyone" not in shown and "<@U123>" not in shown
            assert len(shown) < 20_000

    asyncio.run(talk())


# --------------------------------------------------------------------------- 18. old buttons


async def test_an_old_recommendations_buttons_change_nothing_after_a_restart(
    kb: KnowledgeBase,
) -> None:
    engine = Engine(kb, MemoryStore())

    async def press(value: str) -> list[Reply]:
        return await engine.handle(Incoming(key=KEY, action=value))

    def button(replies: list[Reply], label: str) -> str:
        return next(c.value for r in replies for c in r.choices if c.label.startswith(label))

    replies = await engine.handle(Incoming(key=KEY, text="help me pick"))
    for _ in kb.questions:
        replies = await press(button(replies, "Skip"))
    assert replies[-1].kind == "recommendation"
    old_export, old_restart = button(replies, "Export"), button(replies, "Restart")
    menu = await press(button(replies, "What if"))
    old_change = button(menu, "Change")
    assert "Decision record" in render_text((await press(old_export))[-1])  # same flow: live

    await press(old_restart)  # a new flow, now at question 1
    for stale in (old_export, old_change, old_restart):
        replies = await press(stale)
        shown = "\n".join(render_text(r) for r in replies)
        assert "earlier message; nothing changed" in shown, stale
        assert "Question 1 of" in shown  # the new flow is where it was
    after = await engine.handle(Incoming(key=KEY, text="2"))
    assert "Question 2 of" in render_text(after[-1])
