"""The `advisor` command as a whole process: the --json contract, exit codes, chat, restarts."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import DEFAULT_KNOWLEDGE_DIR
from tests.conftest import SEEDS
from tests.loopback import read_until

ADVISOR = [sys.executable, "-m", "adapters.cli"]


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str = "", tmp: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "ADVISOR_CACHE_DIR": "off", **(env or {})}
    if tmp is not None:
        full.setdefault("ADVISOR_DB", str(tmp / "sessions.sqlite3"))
    return subprocess.run(
        [*ADVISOR, *args], input=stdin, capture_output=True, text=True, env=full, timeout=60
    )


def test_console_script_is_installed() -> None:
    script = shutil.which("advisor", path=str(Path(sys.executable).parent))
    assert script is not None
    out = subprocess.run(
        [script, "ask", "flask vs pyramid"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "Flask vs Pyramid" in out.stdout


@pytest.mark.parametrize(
    ("text", "intent", "frameworks", "needle"),
    [
        ("flsk vs pyramd", "compare", ["Flask", "Pyramid"], "Pick Pyramid for"),
        ("what event loop does Sanic use?", "about", ["Sanic"], "uvloop"),
        ("which is best for websockets?", "recommend", None, "% match"),
        ("help me pick: small async API, team knows asyncio", "recommend", None, "FastAPI"),
        ("list microframeworks", "list", None, "Flask"),
        ("help", "help", [], "help me pick"),
        ("what about laravel", "unknown", [], "not covered"),
    ],
)
def test_ask_json_contract(
    text: str, intent: str, frameworks: list[str] | None, needle: str
) -> None:
    out = run("ask", "--json", text)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"intent", "frameworks", "text", "sources"}
    assert data["intent"] == intent
    if frameworks is not None:
        assert data["frameworks"] == frameworks
    assert needle in data["text"]
    assert all(isinstance(s, str) for s in data["sources"])
    if intent in ("compare", "about", "recommend"):
        assert data["sources"]


def test_ask_recommend_one_shot_ranks_fastapi_first() -> None:
    data = json.loads(
        run("ask", "--json", "help me pick: small async API, team knows asyncio").stdout
    )
    assert data["frameworks"][0] == "FastAPI"


def test_ask_plain_text() -> None:
    out = run("ask", "flask", "vs", "django")
    assert out.returncode == 0 and out.stdout.startswith("Flask vs Django")


def test_check_knowledge_ok_and_broken(tmp_path: Path) -> None:
    ok = run("check-knowledge", "--seeds", str(tmp_path / "no-seeds"))
    assert ok.returncode == 0 and "23 frameworks (15 full, 8 short)" in ok.stdout
    assert "citations: not checked" in ok.stdout
    broken = tmp_path / "k"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, broken)
    flask = broken / "frameworks" / "flask.yaml"
    flask.write_text(flask.read_text() + "\ncolour: blue\n")
    bad = run("check-knowledge", str(broken))
    assert bad.returncode == 2
    assert "frameworks/flask.yaml: unknown key(s): colour" in bad.stderr


@pytest.mark.skipif(not SEEDS.is_dir(), reason="shared/seeds is not beside the checkout")
def test_check_knowledge_checks_citations_against_the_seed_articles(tmp_path: Path) -> None:
    ok = run("check-knowledge", "--seeds", str(SEEDS))
    assert ok.returncode == 0, ok.stdout
    assert (
        "citations against 5 articles" in ok.stdout
        and "0 claims cite an article that does not name their framework, 0 figures are stamped"
        in ok.stdout
    )
    broken = tmp_path / "k"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, broken)
    web2py = broken / "frameworks" / "web2py.yaml"
    text = web2py.read_text()
    # greeden never mentions web2py; Netguru gives its figures undated; 1999 is in no article.
    text = text.replace("sources: [svitla, netguru]", "sources: [svitla, netguru, greeden]", 1)
    text = text.replace("as_of: undated", 'as_of: "2023-10-02"', 1)
    text = text.replace("summary:\n  text: >-\n", "summary:\n  text: >-\n    Since 1999,\n", 1)
    web2py.write_text(text)
    bad = run("check-knowledge", str(broken), env={"ADVISOR_SEEDS_DIR": str(SEEDS)})
    assert bad.returncode == 2
    assert (
        "frameworks/web2py.yaml: " in bad.stdout
        and "cites greeden, which never names web2py" in (bad.stdout)
    )
    assert "community[0].as_of: as_of 2023-10-02 is the article's own date" in bad.stdout
    assert "summary: 1999 is in none of" in bad.stdout
    assert "1 claims cite an article that does not name their framework" in bad.stdout


def test_broken_knowledge_stops_every_command_with_exit_2(tmp_path: Path) -> None:
    out = run("ask", "flask", env={"ADVISOR_KNOWLEDGE_DIR": str(tmp_path / "missing")})
    assert out.returncode == 2 and "knowledge directory not found" in out.stderr
    assert out.stdout == ""


def test_bad_configuration_exits_2_and_names_the_variable() -> None:
    out = run("ask", "flask", env={"ADVISOR_SESSION_TTL": "soon"})
    assert out.returncode == 2 and "ADVISOR_SESSION_TTL" in out.stderr


def test_chat_reads_one_message_per_line(tmp_path: Path) -> None:
    out = run("chat", stdin="flask vs django\n\nwhat event loop does sanic use\n", tmp=tmp_path)
    assert out.returncode == 0
    assert "Flask vs Django" in out.stdout and "uvloop" in out.stdout


def test_console_path_imports_no_platform_library(tmp_path: Path) -> None:
    code = (
        "import sys, io; from adapters.cli import main; "
        "main(['chat'], stdin=io.StringIO('flask vs django\\n'), stdout=io.StringIO()); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('slack_bolt', 'slack_sdk', 'discord', 'aiohttp')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "ADVISOR_DB": str(tmp_path / "s.db")},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


async def test_state_survives_kill_9_mid_flow(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ADVISOR_DB": str(tmp_path / "sessions.sqlite3"),
        "ADVISOR_CACHE_DIR": "off",
    }

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *ADVISOR, "chat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env
        )

    proc = await start()
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"help me pick\n")
    await read_until(proc.stdout, "Question 1 of 8")
    proc.stdin.write(b"2\n")
    await proc.stdin.drain()
    await read_until(proc.stdout, "Question 2 of 8")
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL

    again = await start()
    assert again.stdin is not None and again.stdout is not None
    again.stdin.write(b"3\n")
    await again.stdin.drain()
    text = await read_until(again.stdout, "Question 3 of 8")
    assert "Question 3 of 8" in text
    again.stdin.close()
    assert await again.wait() == 0
