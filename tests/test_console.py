"""The console fitted to the terminal: wrapping, wide tables, export files, Ctrl-C and Ctrl-D,
line editing with history (a real pseudo-terminal), and the conversation kept across runs."""

from __future__ import annotations

import asyncio
import io
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from adapters.console import _whole_turn, export_target, run_chat, save_record
from adapters.terminal import columns, fit_table, render, wrap_line
from bot.config import Settings
from bot.engine import Engine
from bot.replies import Reply, Table, render_text
from tests.loopback import read_until

ADVISOR = [sys.executable, "-m", "adapters.cli"]
COMPARE = "flask vs django vs fastapi"
RECOMMEND = "best for a real-time chat app with websockets"
FLOW = (
    "help me pick: large website, admin built in, synchronous, strong python, "
    "team knows asyncio, community, monolith"
)
LABEL = "project type: Real-time (chat, streaming, dashboards, long-lived connections)"


def _too_wide(text: str, width: int) -> list[str]:
    """Lines wider than ``width`` that are not a single unbreakable URL."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            continue
        words = line.split()
        if any("://" in w and len(w) > width // 2 for w in words):
            continue
        out.append(line)
    return out


# ---------------------------------------------------------------------- wrapping


@pytest.mark.parametrize("width", [80, 160])
@pytest.mark.parametrize("question", [COMPARE, RECOMMEND, "what event loop does Sanic use?"])
def test_replies_fit_the_width_without_splitting_words(
    engine: Engine, question: str, width: int
) -> None:
    for reply in engine.answer_once(question):
        text = render(reply, width)
        assert not _too_wide(text, width), text
        # Every word of the plain rendering is there, whole and in order (tables aside,
        # which may turn into blocks).
        flat = replace(reply, table=None)
        assert render(flat, width).split() == render_text(flat).split()


def test_a_comparison_table_is_kept_at_160_and_becomes_blocks_at_80(engine: Engine) -> None:
    reply = engine.answer_once(COMPARE)[0]
    assert reply.table is not None
    wide = render(reply, 160)
    assert "Category                  micro" in wide
    narrow = render(reply, 80).split("\n")
    at = narrow.index("Category")
    assert narrow[at + 1 : at + 4] == ["  Flask: micro", "  Django: full-stack", "  FastAPI: async"]


def test_a_wide_table_turns_into_name_value_blocks() -> None:
    table = Table(
        columns=("Framework", "Interface", "Best for"),
        rows=(
            ("Flask", "WSGI", "small and medium web apps, simple APIs and prototypes " * 2),
            ("Django", "WSGI + ASGI", "complete, database-backed products with admin screens"),
        ),
    )
    lines = fit_table(table, 80).split("\n")
    assert lines[0] == "Flask" and lines[1] == "  Interface: WSGI"
    assert lines[2].startswith("  Best for: small and medium web apps")
    assert lines[3].startswith(" " * len("  Best for: "))  # continues under the value
    assert "Django" in lines and "  Interface: WSGI + ASGI" in lines
    assert all(len(line) <= 80 for line in lines)
    small = Table(columns=("", "Flask"), rows=(("Async", "partial"),))
    assert fit_table(small, 80).split("\n")[0].strip() == "Flask"  # still a table


def test_list_items_keep_a_hanging_indent_and_urls_stay_whole() -> None:
    reason = "   + native async (project type): " + "Built on asyncio with handlers. " * 4
    lines = wrap_line(reason.rstrip(), 50)
    assert lines[0].startswith("   + native") and all(x.startswith("     ") for x in lines[1:])
    source = '  [netguru] Netguru, "Python\'s Frameworks Comparison: Django, Pyramid, Flask"'
    lines = wrap_line(source, 50)
    assert all(x.startswith(" " * len("  [netguru] ")) for x in lines[1:])
    url = "https://docs.litestar.dev/latest/usage/routing/overview.html#registering-routes"
    lines = wrap_line(f"- Read more at {url} when you can.", 40)
    assert f"  {url}" in lines and all(len(x) <= 40 for x in lines if url not in x)
    cited = wrap_line("Pick Flask for small and medium web apps [greeden, netguru].", 50)
    assert cited[-1].endswith("[greeden, netguru].")


def test_columns_follow_COLUMNS_else_80_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "132")
    assert columns(io.StringIO()) == 132
    monkeypatch.delenv("COLUMNS")
    assert columns(io.StringIO()) == 80


# ---------------------------------------------------------------------- repeated labels


def test_a_ranking_names_each_answer_once(engine: Engine) -> None:
    reply = engine.answer_once(RECOMMEND)[0]
    text = render_text(reply)
    assert text.count(LABEL) == 1
    assert text.index("1. Tornado") < text.index("Based on:")
    assert "+ real-time connections (project type): " in text
    assert reply.sources


# ---------------------------------------------------------------------- export


def _settings(tmp: Path) -> Settings:
    return Settings.from_env({"ADVISOR_DB": str(tmp / "s.db"), "ADVISOR_CACHE_DIR": "off"})


def test_export_writes_the_record_and_never_overwrites(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    lines = [FLOW, "export", "export", "export to notes/x.md", "export notes/", "quit"]
    out = io.StringIO()
    code = run_chat(engine.kb, _settings(tmp_path), io.StringIO("\n".join(lines)), out, width=80)
    assert code == 0
    day = date.today().isoformat()
    first, second = (
        tmp_path / f"decision-record-{day}.md",
        tmp_path / f"decision-record-{day}-2.md",
    )
    for path in (first, second, tmp_path / "notes" / "x.md", tmp_path / "notes" / first.name):
        assert path.read_text().startswith("# Decision record"), path
    text = out.getvalue()
    assert f"Saved the decision record to decision-record-{day}.md." in text
    assert f"Saved the decision record to decision-record-{day}-2.md." in text
    assert "Saved the decision record to notes/x.md." in text
    assert not _too_wide(text, 80)


def test_export_paths_are_read_in_the_console_only() -> None:
    assert export_target("export to notes/x.md") == ("export", "notes/x.md")
    assert export_target("export as 'my record.md'") == ("export", "my record.md")
    assert export_target("export ~/records/") == ("export", "~/records/")
    assert export_target("export decision record") == ("export decision record", "")
    assert export_target("export") == ("export", "")


def test_save_record_adds_numbers_before_the_extension(tmp_path: Path) -> None:
    target = str(tmp_path / "r.md")
    paths = [save_record("# r", target) for _ in range(3)]
    assert [p.name for p in paths] == ["r.md", "r-2.md", "r-3.md"]
    assert (tmp_path / "r.md").read_text() == "# r\n"
    dated = save_record("# d", f"{tmp_path}/", today=date(2030, 1, 2))
    assert dated == tmp_path / "decision-record-2030-01-02.md"


# ---------------------------------------------------------------------- Ctrl-C, Ctrl-D


def test_ctrl_c_during_a_turn_lets_it_finish() -> None:
    async def turn(signals: int) -> list[Reply]:
        for _ in range(signals):
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.sleep(0.05)
        return [Reply(intent="help", title="done")]

    with asyncio.Runner() as runner:
        replies, interrupted = _whole_turn(runner, turn(1))
        assert interrupted and replies[0].title == "done"
        with pytest.raises(KeyboardInterrupt):
            _whole_turn(runner, turn(2))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


async def test_sigint_at_the_prompt_exits_0_at_once_and_keeps_the_flow(tmp_path: Path) -> None:
    env = {**os.environ, "ADVISOR_DB": str(tmp_path / "s.db"), "ADVISOR_CACHE_DIR": "off"}

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *ADVISOR, "chat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env
        )

    proc = await start()
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"help me pick\n")
    await proc.stdin.drain()
    await read_until(proc.stdout, "Question 1 of 8")
    await asyncio.sleep(0.2)  # waiting for the next line
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(proc.wait(), 5) == 0
    assert time.monotonic() - began < 5

    again = await start()
    assert again.stdin is not None and again.stdout is not None
    again.stdin.write(b"2\n")
    await again.stdin.drain()
    text = await read_until(again.stdout, "Question 2 of 8")
    assert "Question 2 of 8" in text
    again.stdin.close()
    assert await asyncio.wait_for(again.wait(), 30) == 0


def test_piped_chat_never_imports_readline(tmp_path: Path) -> None:
    code = (
        "import sys, io; from adapters.cli import main; "
        "main(['chat'], stdin=io.StringIO('flask vs django\\n'), stdout=io.StringIO()); "
        "print('readline' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "ADVISOR_DB": str(tmp_path / "s.db"), "ADVISOR_CACHE_DIR": "off"},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


# ---------------------------------------------------------------------- a real terminal

# Become the session's controlling terminal (so ^C is a SIGINT from the tty), then run chat.
_CTTY = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'adapters.cli', 'chat'])"
)


class _Pty:
    """``advisor chat`` on a pseudo-terminal: type keys, read the screen."""

    def __init__(self, env: dict[str, str]) -> None:
        import pty

        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CTTY],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = ""
        self.read = 0  # where the next expect() starts looking

    def expect(self, marker: str, timeout: float = 30) -> str:
        """Everything seen so far, once ``marker`` appears after the last one expected."""
        deadline = time.monotonic() + timeout
        while marker not in self.seen[self.read :]:
            left = deadline - time.monotonic()
            assert left > 0, f"{marker!r} not seen in:\n{self.seen}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                self.seen += chunk.decode(errors="replace")
        assert marker in self.seen[self.read :], f"{marker!r} not seen in:\n{self.seen}"
        self.read = self.seen.index(marker, self.read) + len(marker)
        return self.seen

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def exit_code(self, timeout: float = 5) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            os.close(self.master)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_terminal_ctrl_c_ctrl_d_history_and_up_arrow(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ADVISOR_DB": str(tmp_path / "s.db"),
        "ADVISOR_CACHE_DIR": "off",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TERM": "xterm",
        "COLUMNS": "80",
    }
    first = _Pty(env)
    first.expect("you> ")
    first.type("help me pick\r")
    first.expect("Question 1 of 8")
    first.expect("you> ", timeout=10)
    # A person's pause: a SIGINT in the instant between readline printing the prompt and
    # waiting for a key is only seen at the next key (CPython gh-112585, inside input()).
    time.sleep(0.3)
    first.type("\x03")  # Ctrl-C at the prompt
    assert first.exit_code() == 0

    second = _Pty(env)
    second.expect("you> ")
    second.type("2\r")
    second.expect("Question 2 of 8")
    second.expect("you> ", timeout=10)
    second.type("\x04")  # Ctrl-D at the prompt
    assert second.exit_code() == 0
    history = (tmp_path / "state" / "framework-advisor" / "history").read_text()
    assert "help me pick" in history and "2" in history
    assert (tmp_path / "state" / "framework-advisor" / "history").stat().st_mode & 0o077 == 0

    third = _Pty(env)
    third.expect("you> ")
    third.type("\x1b[A\r")  # up-arrow brings back "2": the answer to question 2 again
    text = third.expect("Question 3 of 8")
    assert "^[[A" not in text
    third.expect("you> ", timeout=10)
    third.type("\x04")
    assert third.exit_code() == 0
