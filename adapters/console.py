"""The terminal adapter: an interactive REPL, or one message per line when stdin is piped.

It is also the reference renderer: replies print as :func:`bot.replies.render_text`, with
numbered options that can be answered by number.
"""

from __future__ import annotations

import asyncio
import getpass
from typing import TextIO

from bot.config import Settings
from bot.engine import Engine, Incoming
from bot.errors import ConfigError
from bot.knowledge import KnowledgeBase
from bot.replies import Reply, render_text
from bot.sessions import ConversationKey, check_store, store_for

PROMPT = "you> "


def run_chat(kb: KnowledgeBase, settings: Settings, stdin: TextIO, stdout: TextIO) -> int:
    """Talk until end of input or "quit". Returns the exit code (0).

    Raises:
        ConfigError: naming ``ADVISOR_DB`` when the session file cannot serve (see
            :func:`bot.sessions.check_store`), or ``ADVISOR_REDIS_URL`` when it is malformed.
    """
    return asyncio.run(_chat(kb, settings, stdin, stdout))


async def _chat(kb: KnowledgeBase, settings: Settings, stdin: TextIO, stdout: TextIO) -> int:
    store = store_for(settings)
    try:
        await check_store(store, settings)
    except ConfigError:
        await store.close()
        raise
    engine = Engine(kb, store, ttl=settings.session_ttl)
    try:
        return await _loop(engine, stdin, stdout)
    finally:
        await engine.close()


class Console:
    """One person's console conversation: typed lines in, rendered replies out.

    Args:
        engine: the core.
        user: the person's name (their conversation key); default: the OS user.
    """

    def __init__(self, engine: Engine, user: str = "") -> None:
        self.engine = engine
        self.key = ConversationKey(platform="console", user=user or _user())

    async def turn(self, text: str) -> list[Reply]:
        """The core's replies to one typed line. Never raises."""
        return await self.engine.handle(Incoming(key=self.key, text=text))


async def _loop(engine: Engine, stdin: TextIO, stdout: TextIO) -> int:
    interactive = stdin.isatty()
    console = Console(engine)
    if interactive:
        stdout.write(
            "framework-advisor. Ask about Python web frameworks; "
            '"help" for examples, "quit" to leave.\n'
        )
    while True:
        if interactive:
            stdout.write(PROMPT)
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        text = line.rstrip("\n")
        if text.strip().lower() in {"quit", "exit", ":q"}:
            break
        if not interactive and not text.strip():
            continue
        for reply in await console.turn(text):
            stdout.write(render_text(reply) + "\n\n")
        stdout.flush()
    return 0


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name on this system is fine
        return "local"
