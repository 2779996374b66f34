"""Runs one conversation transcript through the console adapter and checks every step.

A transcript (``tests/transcripts/*.yaml`` and the evaluation sets in
``tests/transcripts/sets/``) is a list of steps. A step either types a line (``say``, through
:class:`adapters.console.Console`, exactly as a person at the terminal) or presses a button
(``press``: a label of the last reply's buttons; ``press_old: {step: k, label: ...}``: a button
of the reply to step ``k``, i.e. a stale message). Its checks:

- ``asks``: the question id the last reply asks;
- ``answers``: question id -> option id, all recorded (a subset check);
- ``unanswered``: question ids with no recorded answer;
- ``status``: the flow's status (idle, asking, done);
- ``top1``: the first framework of a recommendation; ``kind`` / ``intent`` of the last reply;
- ``contains`` / ``absent``: case-insensitive text of all replies;
- ``wait``: seconds the clock moves before the step (default 1).

Used by ``tests/test_conversation.py`` (every shipped transcript must pass) and by
``benchmarks/bench_conversations.py`` (the scored evaluation sets).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.console import Console
from bot.engine import Engine, Incoming
from bot.knowledge import KnowledgeBase
from bot.replies import Reply
from bot.sessions import MemoryStore
from tests.conftest import text_of


class Clock:
    """A settable clock (seconds since the epoch)."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _say(line: Mapping[str, Any]) -> str:
    if "say" in line:
        return f"say {line['say']!r}"
    if "press" in line:
        return f"press {line['press']!r}"
    return f"press_old {line.get('press_old')!r}"


def _button(replies: list[Reply], label: str) -> str | None:
    for reply in reversed(replies):
        for choice in reply.choices:
            if choice.label.lower() == str(label).lower():
                return choice.value
    return None


async def run(kb: KnowledgeBase, transcript: Mapping[str, Any]) -> list[str]:
    """Play ``transcript`` on a fresh engine; returns the problems found (empty: it passed)."""
    clock = Clock()
    engine = Engine(kb, MemoryStore(), ttl=3600, clock=clock)
    console = Console(engine, user="transcript")
    said: list[list[Reply]] = []
    problems: list[str] = []
    for i, line in enumerate(transcript["steps"]):
        clock.now += line.get("wait", 1)
        if "say" in line:
            replies = await console.turn(str(line["say"]))
        else:
            if "press" in line:
                value = _button(said[-1] if said else [], line["press"])
            else:
                old = line["press_old"]
                k = int(old["step"])
                value = _button(said[k] if 0 <= k < len(said) else [], old["label"])
            if value is None:
                problems.append(f"step {i} ({_say(line)}): no such button")
                said.append([])
                continue
            replies = await engine.handle(Incoming(key=console.key, action=value))
        said.append(replies)
        problems += [
            f"step {i} ({_say(line)}): {p}" for p in await _check(engine, console, line, replies)
        ]
    return problems


async def _check(
    engine: Engine, console: Console, line: Mapping[str, Any], replies: list[Reply]
) -> list[str]:
    kb = engine.kb
    text = text_of(replies)
    lowered = text.lower()
    last = replies[-1]
    record = await engine.store.get(console.key.as_string(), engine.clock())
    state: Mapping[str, Any] = record.data if record is not None else {}
    answers: Mapping[str, str] = state.get("answers", {})
    problems: list[str] = []
    if "asks" in line:
        q = kb.question(str(line["asks"]))
        if not (last.kind == "question" and q.prompt in last.title):
            problems.append(f"expected question {q.id!r}, got {last.title!r}")
    for qid, oid in (line.get("answers") or {}).items():
        if answers.get(str(qid)) != str(oid):
            problems.append(f"expected {qid}={oid}, recorded {answers.get(str(qid))!r}")
    for qid in line.get("unanswered") or []:
        if str(qid) in answers:
            problems.append(f"expected {qid} unanswered, recorded {answers[str(qid)]!r}")
    if "status" in line and state.get("status", "idle") != line["status"]:
        problems.append(f"expected status {line['status']}, got {state.get('status', 'idle')}")
    if "top1" in line:
        want = kb.frameworks[str(line["top1"])].name
        if last.kind != "recommendation" or not last.frameworks or last.frameworks[0] != want:
            problems.append(f"expected {want} first, got {last.kind} {last.frameworks[:1]}")
    if "kind" in line and last.kind != line["kind"]:
        problems.append(f"expected kind {line['kind']}, got {last.kind}")
    if "intent" in line and last.intent != line["intent"]:
        problems.append(f"expected intent {line['intent']}, got {last.intent}")
    for needle in line.get("contains") or []:
        if str(needle).lower() not in lowered:
            problems.append(f"{needle!r} missing")
    for needle in line.get("absent") or []:
        if str(needle).lower() in lowered:
            problems.append(f"{needle!r} present")
    if problems:
        problems[-1] += f"\n--- reply ---\n{text}\n--- state: {dict(answers)} {state.get('status')}"
    return problems
