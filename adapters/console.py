"""The terminal adapter: an interactive REPL, or one message per line when stdin is piped.

Replies print as the reference plain text (the parts of :func:`bot.replies.render_text`)
fitted to the terminal by :func:`adapters.terminal.render`, with numbered options that can be
answered by number. At a terminal the prompt has line editing and history (stdlib
:mod:`readline`, imported only then; history in the user state dir). Ctrl-C and Ctrl-D leave
at once with exit code 0; the conversation is saved after every turn (a Ctrl-C during a turn
lets that turn finish first), so the next ``advisor chat`` carries on. A decision record
(``export``, or "export to PATH" parsed here) is also written to a file, never over another.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from adapters.terminal import columns, render
from bot.config import Settings
from bot.engine import Engine, Incoming
from bot.errors import ConfigError
from bot.knowledge import KnowledgeBase
from bot.replies import Reply
from bot.sessions import ConversationKey, check_store, store_for

PROMPT = "you> "
#: Lines of input history kept in :func:`history_path` between sessions.
HISTORY_LINES = 1000
#: The decision record's file name when no path is given (``date`` is the local date).
RECORD_NAME = "decision-record-{date}.md"
#: How many "-2", "-3" … suffixes :func:`save_record` tries before giving up.
MAX_SUFFIX = 999
# "export to notes/x.md", "export as x.md", "export notes/" or "export x.md"; not
# "export decision record" (that is the core's own phrase, sent on as it is).
_EXPORT = re.compile(
    r"^\s*export\s+(?:(?:to|as|into|in)\s+(?P<to>\S.*?)"
    r"|(?P<path>\S*[/\\]\S*|\S+\.(?:md|markdown|txt)))\s*$",
    re.IGNORECASE,
)
_log = logging.getLogger(__name__)


def run_chat(
    kb: KnowledgeBase,
    settings: Settings,
    stdin: TextIO,
    stdout: TextIO,
    *,
    width: int | None = None,
) -> int:
    """Talk until end of input, "quit", Ctrl-D or Ctrl-C. Returns the exit code (0).

    ``width`` is the number of columns replies are fitted to; by default
    :func:`adapters.terminal.columns` of ``stdout``, read again for every reply (so a resized
    terminal is followed).

    Raises:
        ConfigError: naming ``ADVISOR_DB`` when the session file cannot serve (see
            :func:`bot.sessions.check_store`), or ``ADVISOR_REDIS_URL`` when it is malformed.
    """
    with asyncio.Runner() as runner:
        engine = runner.run(_open(kb, settings))
        try:
            return _loop(runner, engine, stdin, stdout, width)
        finally:
            runner.run(engine.close())


async def _open(kb: KnowledgeBase, settings: Settings) -> Engine:
    store = store_for(settings)
    try:
        await check_store(store, settings)
    except ConfigError:
        await store.close()
        raise
    return Engine(kb, store, ttl=settings.session_ttl)


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


def _loop(
    runner: asyncio.Runner, engine: Engine, stdin: TextIO, stdout: TextIO, width: int | None
) -> int:
    """Read, answer, print until the end; Ctrl-C (KeyboardInterrupt) and Ctrl-D end it with 0."""
    interactive = _isatty(stdin)
    console = Console(engine)
    # input() gives line editing only on the process's own terminal.
    editing = interactive and stdin is sys.stdin and stdout is sys.stdout
    save_history = _start_history() if editing else None
    if interactive:
        stdout.write(
            "framework-advisor. Ask about Python web frameworks; "
            '"help" for examples, "export" saves the decision record, "quit" or Ctrl-D to '
            "leave.\n"
        )
    try:
        while True:
            line = _read(stdin, stdout, interactive=interactive, editing=editing)
            if line is None:
                break
            text = line.rstrip("\n")
            if text.strip().lower() in {"quit", "exit", ":q"}:
                break
            if not interactive and not text.strip():
                continue
            text, target = export_target(text)
            replies, interrupted = _whole_turn(runner, console.turn(text))
            _show(replies, stdout, width or columns(stdout), target)
            if interrupted:
                break
    except KeyboardInterrupt:
        if interactive:
            stdout.write("\n")
    finally:
        stdout.flush()
        if save_history is not None:
            save_history()
    return 0


def _show(replies: list[Reply], stdout: TextIO, width: int, target: str) -> None:
    """Print ``replies`` fitted to ``width``; a decision record is also saved to a file."""
    for reply in replies:
        stdout.write(render(reply, width) + "\n\n")
        if reply.markdown:
            try:
                where = save_record(reply.markdown, target)
            except OSError as exc:
                note = f"Could not save the decision record: {exc.strerror or exc}."
            else:
                note = f"Saved the decision record to {where}."
            stdout.write(note + "\n\n")
    stdout.flush()


def _read(stdin: TextIO, stdout: TextIO, *, interactive: bool, editing: bool) -> str | None:
    """One line with its newline, or None at end of input (Ctrl-D)."""
    if editing:
        try:
            return input(PROMPT) + "\n"
        except EOFError:
            stdout.write("\n")
            return None
    if interactive:
        stdout.write(PROMPT)
        stdout.flush()
    line = stdin.readline()
    if not line and interactive:
        stdout.write("\n")
    return line or None


def _whole_turn(
    runner: asyncio.Runner, turn: Coroutine[Any, Any, list[Reply]]
) -> tuple[list[Reply], bool]:
    """Run one turn to its end, and whether Ctrl-C came meanwhile (then the caller leaves
    after showing it). The turn saves the conversation, so a first Ctrl-C waits for it (a few
    milliseconds); a second one stops it at once (KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        return runner.run(turn), False
    hits = 0

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal hits
        hits += 1
        if hits > 1:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        replies = runner.run(turn)
    finally:
        signal.signal(signal.SIGINT, previous)
    return replies, hits > 0


def export_target(text: str) -> tuple[str, str]:
    """Split "export to PATH" (also "export as PATH", "export PATH.md", "export dir/") into
    the core's command and the path: ``("export", "PATH")``. Any other text comes back as it
    is with ``""``. The path is not checked here (see :func:`save_record`)."""
    m = _EXPORT.match(text)
    if m is None:
        return text, ""
    path = (m.group("to") or m.group("path") or "").strip().strip("\"'")
    return ("export", path) if path else (text, "")


def save_record(markdown: str, target: str = "", *, today: date | None = None) -> Path:
    """Write a decision record and return the path written (relative when ``target`` is).

    ``target`` is a file path, or a directory (existing, or ending in "/") to put
    :data:`RECORD_NAME` in; empty means :data:`RECORD_NAME` in the current directory. An
    existing file is never replaced: "-2", "-3" … go before the extension instead. Missing
    parent directories are made. ``today`` dates the default name (the local date).

    Raises:
        OSError: when the file cannot be written (or :data:`MAX_SUFFIX` names are taken).
    """
    name = RECORD_NAME.format(date=(today or date.today()).isoformat())
    path = Path(os.path.expanduser(target)) if target else Path(name)
    if target and (target.endswith(("/", os.sep)) or path.is_dir()):
        path = path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, MAX_SUFFIX + 1):
        candidate = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        try:
            with candidate.open("x", encoding="utf-8") as out:
                out.write(markdown if markdown.endswith("\n") else markdown + "\n")
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{path} and {MAX_SUFFIX - 1} numbered copies already exist")


def history_path() -> Path:
    """The console's input history: ``history`` in the user state dir (platformdirs)."""
    from platformdirs import user_state_dir

    return Path(user_state_dir("framework-advisor")) / "history"


def _start_history() -> Callable[[], None] | None:
    """Load the history into :mod:`readline` (imported here, at a terminal only) and return
    the function that saves it, capped at :data:`HISTORY_LINES`; None without readline."""
    try:
        import readline
    except ImportError:  # no readline on this platform: plain input() still works
        return None
    path = history_path()
    readline.set_history_length(HISTORY_LINES)
    try:
        readline.read_history_file(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        _log.warning("could not read the history file %s: %s", path, exc)

    def save() -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            readline.write_history_file(path)
        except OSError as exc:
            _log.warning("could not save the history file %s: %s", path, exc)

    return save


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name on this system is fine
        return "local"
