"""The selection conversation, a pure state machine: ``step(ctx, state, turn) -> (state, replies)``.

States (``FlowState.status``)::

    idle --"help me pick" / recommend <text>--> asking --last answer--> done
      ^                                          |  back / skip / change <q> / why
      +----------------- cancel -----------------+
    done: what if <...> / change <q> / compare top two / export / why not X / restart

Ad-hoc questions ("what's Sanic?", "flask vs django") are answered in any state; while asking,
the pending question is asked again after the answer. Nothing here does I/O: the engine loads
and saves the state around :func:`step`. Answers are matched by option number, button action,
the options' terms and replies, then fuzzily (rapidfuzz); an answer that matches nothing gets
the question again with a hint, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rapidfuzz import fuzz, process

from bot.answers import Answerer, cite
from bot.knowledge import KnowledgeBase, Question
from bot.matching import Matcher, PhraseIndex, clean, words
from bot.recommend import Ranking, causes_from, moves, rank, why_not
from bot.record import decision_record
from bot.replies import Choice, Reply

#: fuzz.WRatio score (0-100) at or above which free text is taken as an option.
ANSWER_CUTOFF = 86
_COMMANDS = {
    "back": "back",
    "go back": "back",
    "undo": "back",
    "previous": "back",
    "skip": "skip",
    "pass": "skip",
    "next": "skip",
    "skip it": "skip",
    "restart": "restart",
    "start over": "restart",
    "reset": "restart",
    "start again": "restart",
    "cancel": "cancel",
    "stop": "cancel",
    "quit flow": "cancel",
    "abort": "cancel",
    "why": "why",
    "why?": "why",
    "why this question": "why",
    "explain": "why",
    "export": "export",
    "decision record": "export",
    "export decision record": "export",
    "compare top two": "compare-top",
    "compare the top two": "compare-top",
    "compare top 2": "compare-top",
    "what if": "whatif",
    "what-if": "whatif",
}
_CHANGE = re.compile(r"^(?:change|edit|redo)\s+(?:the\s+|my\s+)?(.+)$", re.IGNORECASE)
_WHATIF = re.compile(r"^what[\s-]+if\s+(.+)$", re.IGNORECASE)
_WHYNOT = re.compile(r"^why\s+not\s+(.+?)\??$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FlowState:
    """One conversation's state; plain data that round-trips through :meth:`to_dict`.

    Attributes:
        status: idle, asking or done.
        answers: question id -> option id.
        prefilled: question ids answered from the opening sentence.
        skipped: question ids skipped (scored as neutral).
        history: question ids in the order they were settled, for "back".
        pending: the question being asked, or "".
        changing: True while re-asking one question after the result (what-if).
        signals: need-signal ids from the opening sentence.
        description: the opening sentence.
        choices: the action values of the last reply's buttons, so "2" picks the second.
        started: when the flow started (seconds since the epoch), 0 when idle.
    """

    status: str = "idle"
    answers: Mapping[str, str] = field(default_factory=dict)
    prefilled: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    history: tuple[str, ...] = ()
    pending: str = ""
    changing: bool = False
    signals: tuple[str, ...] = ()
    description: str = ""
    choices: tuple[str, ...] = ()
    started: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "status": self.status,
            "answers": dict(self.answers),
            "prefilled": list(self.prefilled),
            "skipped": list(self.skipped),
            "history": list(self.history),
            "pending": self.pending,
            "changing": self.changing,
            "signals": list(self.signals),
            "description": self.description,
            "choices": list(self.choices),
            "started": self.started,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlowState:
        """Inverse of :meth:`to_dict`; unknown or missing keys fall back to defaults."""
        tuples = ("prefilled", "skipped", "history", "signals", "choices")
        kwargs: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            if name in data:
                value = data[name]
                kwargs[name] = tuple(value) if name in tuples else value
        kwargs["answers"] = dict(kwargs.get("answers", {}))
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class Turn:
    """One input: typed ``text`` or a button ``action``; ``now`` in seconds since the epoch."""

    text: str = ""
    action: str = ""
    now: float = 0.0


class Context:
    """What :func:`step` reads: the knowledge base and indexes built from it (no I/O)."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher, answerer: Answerer) -> None:
        self.kb = kb
        self.matcher = matcher
        self.answerer = answerer
        self.question_names: PhraseIndex[str] = PhraseIndex(
            [(a, q.id) for q in kb.questions for a in (q.id, q.short, *q.aliases)]
        )
        self.option_texts: dict[str, tuple[list[str], list[str]]] = {}
        for q in kb.questions:
            texts, owners = [], []
            for o in q.options:
                for t in (o.label, *o.terms, *o.replies):
                    texts.append(" ".join(words(t)))
                    owners.append(o.id)
            self.option_texts[q.id] = (texts, owners)

    def ranking(self, state: FlowState) -> Ranking:
        """The ranking for the state's answers and signals."""
        return rank(self.kb, causes_from(self.kb, state.answers, state.signals))


def step(ctx: Context, state: FlowState, turn: Turn) -> tuple[FlowState, list[Reply]]:
    """Advance the conversation by one turn. Pure; never raises for any input."""
    action = turn.action or _numbered(state, turn.text)
    text = clean(turn.text)
    if action.startswith("ask:"):
        text, action = action[4:], ""
    command = (
        action[4:] if action.startswith("cmd:") else _COMMANDS.get(text.lower().strip(" .!"), "")
    )
    if action.startswith("answer:") and state.status in ("asking", "done"):
        _, qid, oid = (action.split(":", 2) + ["", ""])[:3]
        return _answered(ctx, state, qid, oid)
    if action.startswith("change:"):
        return _ask_change(ctx, state, action[7:])
    if command:
        return _command(ctx, state, command, turn)
    if state.status == "asking" and state.pending:
        picked = match_option(ctx, ctx.kb.question(state.pending), text)
        if picked is not None:
            return _answered(ctx, state, state.pending, picked)
    if m := _CHANGE.match(text):
        qid = _question_named(ctx, m.group(1))
        if qid:
            return _ask_change(ctx, state, qid)
    if state.status == "done" and (m := _WHATIF.match(text)):
        return _what_if(ctx, state, m.group(1))
    if state.status == "done" and (m := _WHYNOT.match(text)):
        return state, [_why_not(ctx, state, m.group(1))]
    u = ctx.matcher.understand(text)
    if u.intent == "recommend" and u.flow:
        return _start(ctx, turn, text)
    if state.status == "asking":
        if u.intent in ("about", "compare", "list", "help") and not u.off_topic:
            reply = ctx.answerer.answer(u)
            return _ask(ctx, state, [reply], lead="Back to the question.")
        return _ask(ctx, state, [], hint=True)
    reply = ctx.answerer.answer(u)
    if u.intent == "recommend" and reply.kind == "recommendation":
        reply = replace(
            reply,
            choices=(
                Choice(label="Refine with a few questions", value="cmd:refine", primary=True),
            ),
        )
        state = replace(state, description=text)
    return replace(state, choices=tuple(c.value for c in reply.choices)), [reply]


def _numbered(state: FlowState, text: str) -> str:
    t = text.strip().rstrip(".)")
    if t.isdecimal() and 1 <= int(t) <= len(state.choices):
        return state.choices[int(t) - 1]
    return ""


def match_option(ctx: Context, q: Question, text: str) -> str | None:
    """The option id of ``q`` that free ``text`` means ("yep", "pretty big", "API only").

    Returns None when nothing matches well enough.
    """
    toks = words(text)
    if not toks:
        return None
    joined = " ".join(toks)
    texts, owners = ctx.option_texts[q.id]
    for t, owner in zip(texts, owners, strict=True):
        if joined == t:
            return owner
    answers, _signals = ctx.matcher.prefill(text)
    if q.id in answers:
        return answers[q.id]
    hit = process.extractOne(joined, texts, scorer=fuzz.WRatio, score_cutoff=ANSWER_CUTOFF)
    if hit is not None and (len(joined) >= 4 or hit[1] == 100):
        return owners[hit[2]]
    return None


def _question_named(ctx: Context, text: str) -> str:
    found = ctx.question_names.find(words(text))
    return found[0][2] if found else ""


# --------------------------------------------------------------------------- transitions


def _start(ctx: Context, turn: Turn, text: str) -> tuple[FlowState, list[Reply]]:
    answers, signals = ctx.matcher.prefill(text)
    state = FlowState(
        status="asking",
        answers=answers,
        prefilled=tuple(answers),
        history=tuple(q.id for q in ctx.kb.questions if q.id in answers),
        signals=tuple(signals),
        description=text,
        started=turn.now,
    )
    lead = (
        "Let's find your framework. I'll ask a few short questions; say back, skip, "
        "restart, cancel or why at any point."
    )
    if answers:
        got = "; ".join(
            f"{q.short}: {q.option(answers[q.id]).label}"
            for q in ctx.kb.questions
            if q.id in answers
        )
        lead += f"\nFrom what you said: {got}."
    return _next(ctx, state, lead=lead)


def _next(ctx: Context, state: FlowState, lead: str = "") -> tuple[FlowState, list[Reply]]:
    settled = set(state.answers) | set(state.skipped)
    for q in ctx.kb.questions:
        if q.id not in settled:
            return _ask(
                ctx, replace(state, status="asking", pending=q.id, changing=False), [], lead=lead
            )
    return _finish(ctx, state, lead=lead)


def _ask(
    ctx: Context, state: FlowState, before: list[Reply], *, lead: str = "", hint: bool = False
) -> tuple[FlowState, list[Reply]]:
    q = ctx.kb.question(state.pending)
    number = [x.id for x in ctx.kb.questions].index(q.id) + 1
    choices = [Choice(label=o.label, value=f"answer:{q.id}:{o.id}") for o in q.options]
    choices += [Choice(label="Skip", value="cmd:skip")]
    if state.history:
        choices += [Choice(label="Back", value="cmd:back")]
    if lead:
        before = [*before, Reply(intent="recommend", kind="notice", paragraphs=(lead,))]
    notices: tuple[str, ...] = ()
    if hint:
        notices = (
            "I didn't catch that as an answer. Pick a number or a button, say it in "
            'your own words ("pretty big", "API only"), or say skip.',
        )
    reply = Reply(
        intent="recommend",
        kind="question",
        title=f"Question {number} of {len(ctx.kb.questions)}: {q.prompt}",
        choices=tuple(choices),
        notices=notices,
    )
    before = [replace(b, choices=()) for b in before]
    return replace(state, choices=tuple(c.value for c in choices)), [*before, reply]


def _answered(ctx: Context, state: FlowState, qid: str, oid: str) -> tuple[FlowState, list[Reply]]:
    try:
        ctx.kb.question(qid).option(oid)
    except KeyError:
        return _ask(ctx, state, [], hint=True) if state.pending else (state, [])
    if state.status == "done" or state.changing:
        before = ctx.ranking(state)
        new = _set_answer(state, qid, oid)
        return _finish(ctx, new, before=before)
    new = _set_answer(state, qid, oid)
    return _next(ctx, new)


def _set_answer(state: FlowState, qid: str, oid: str) -> FlowState:
    answers = {**state.answers, qid: oid}
    history = tuple(h for h in state.history if h != qid) + (qid,)
    return replace(
        state,
        answers=answers,
        history=history,
        skipped=tuple(s for s in state.skipped if s != qid),
        changing=False,
    )


def _finish(
    ctx: Context, state: FlowState, *, lead: str = "", before: Ranking | None = None
) -> tuple[FlowState, list[Reply]]:
    ranking = ctx.ranking(state)
    reply = ctx.answerer.ranking_reply(ranking, title="My recommendation")
    paragraphs = list(reply.paragraphs)
    if before is not None:
        moved = moves(before, ranking)
        text = ", ".join(f"{m.name} {_ordinal(m.before)} → {_ordinal(m.after)}" for m in moved)
        paragraphs.insert(0, f"What moved: {text}." if text else "Nothing moved in the top five.")
    if lead:
        paragraphs.insert(0, lead)
    choices = (
        Choice(label="What if…", value="cmd:whatif"),
        Choice(label="Compare top two", value="cmd:compare-top"),
        Choice(label="Export decision record", value="cmd:export"),
        Choice(label="Restart", value="cmd:restart"),
    )
    reply = replace(reply, paragraphs=tuple(paragraphs), choices=choices)
    done = replace(
        state, status="done", pending="", changing=False, choices=tuple(c.value for c in choices)
    )
    return done, [reply]


def _ordinal(n: int) -> str:
    if n <= 0:
        return "unranked"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _ask_change(ctx: Context, state: FlowState, qid: str) -> tuple[FlowState, list[Reply]]:
    if state.status == "idle" or qid not in {q.id for q in ctx.kb.questions}:
        return _no_flow(state)
    changing = state.status == "done"
    return _ask(
        ctx,
        replace(state, pending=qid, changing=changing),
        [],
        lead="Pick the new answer; I'll show what moves." if changing else "",
    )


def _what_if(ctx: Context, state: FlowState, text: str) -> tuple[FlowState, list[Reply]]:
    answers, _signals = ctx.matcher.prefill(text)
    changed = {q: o for q, o in answers.items() if state.answers.get(q) != o}
    if not changed:
        qid = _question_named(ctx, text)
        if qid:
            return _ask_change(ctx, state, qid)
        return _whatif_menu(ctx, state)
    before = ctx.ranking(state)
    new = state
    for qid, oid in changed.items():
        new = _set_answer(new, qid, oid)
    return _finish(ctx, new, before=before)


def _whatif_menu(ctx: Context, state: FlowState) -> tuple[FlowState, list[Reply]]:
    choices = tuple(
        Choice(label=f"Change {q.short}", value=f"change:{q.id}") for q in ctx.kb.questions
    )
    reply = Reply(
        intent="recommend",
        title="What if…",
        paragraphs=(
            'Which answer do you want to change? You can also type e.g. "what if it\'s large".',
        ),
        choices=choices,
    )
    return replace(state, choices=tuple(c.value for c in choices)), [reply]


def _why_not(ctx: Context, state: FlowState, name: str) -> Reply:
    fws, _s, _n = ctx.matcher.resolve(words(name))
    ranking = ctx.ranking(state)
    if not fws:
        return Reply(
            intent="recommend",
            title="Why not…?",
            paragraphs=(f'I don\'t know a framework called "{name[:60]}".',),
        )
    fid = fws[0]
    fw = ctx.kb.frameworks[fid]
    pos = ranking.position(fid)
    if pos is None:
        return Reply(
            intent="recommend",
            title=f"Why not {fw.name}?",
            paragraphs=(f"{fw.name} has only a short entry here, so I don't rank it.",),
        )
    if pos.rank == 1:
        return Reply(
            intent="recommend",
            title=f"Why not {fw.name}?",
            paragraphs=(f"{fw.name} is my first pick for your answers.",),
        )
    lost = why_not(ctx.kb, ranking, fid)[:4]
    top = ranking.items[0]
    lines = [f"- {r.trait_label} ({r.cause.label}): {r.why} {cite(r.sources)}" for r in lost]
    body = "\n".join(lines) or "It trails only slightly, with no single big gap."
    return Reply(
        intent="recommend",
        title=f"Why not {fw.name}?",
        paragraphs=(
            f"{fw.name} is {_ordinal(pos.rank)} ({pos.match}% match) behind "
            f"{top.name} ({top.match}%). Where it lost ground:\n{body}",
        ),
        sources=ctx.answerer.refs(s for r in lost for s in r.sources),
        frameworks=(fw.name, top.name),
    )


def _no_flow(state: FlowState) -> tuple[FlowState, list[Reply]]:
    reply = Reply(
        intent="recommend",
        title="No selection in progress",
        paragraphs=('Say "help me pick" or "recommend" to start one.',),
        choices=(Choice(label="Help me pick", value="ask:help me pick", primary=True),),
    )
    return replace(state, choices=("ask:help me pick",)), [reply]


def _command(
    ctx: Context, state: FlowState, command: str, turn: Turn
) -> tuple[FlowState, list[Reply]]:
    if command == "restart":
        return _start(ctx, turn, "")
    if command == "refine":
        return _start(ctx, turn, state.description)
    if command == "cancel":
        reply = Reply(
            intent="recommend",
            title="Cancelled",
            paragraphs=('Selection cancelled. Say "recommend" to start again.',),
        )
        return FlowState(), [reply]
    if state.status == "idle":
        return _no_flow(state)
    if command == "why":
        return _why(ctx, state)
    if state.status == "asking":
        if command == "skip":
            return _next(
                ctx,
                replace(
                    state,
                    skipped=(*state.skipped, state.pending),
                    history=(*state.history, state.pending),
                ),
            )
        if command == "back":
            if not state.history:
                return _ask(ctx, state, [], lead="This is the first question.")
            last = state.history[-1]
            answers = {q: o for q, o in state.answers.items() if q != last}
            return _ask(
                ctx,
                replace(
                    state,
                    answers=answers,
                    history=state.history[:-1],
                    skipped=tuple(s for s in state.skipped if s != last),
                    pending=last,
                ),
                [],
            )
        return _ask(ctx, state, [], hint=True)
    if command == "whatif":
        return _whatif_menu(ctx, state)
    if command == "compare-top":
        top = ctx.ranking(state).top(2)
        return state, [ctx.answerer.compare([r.framework for r in top])]
    if command == "export":
        return state, [_export(ctx, state, turn.now)]
    return _finish(ctx, state)


def _why(ctx: Context, state: FlowState) -> tuple[FlowState, list[Reply]]:
    if state.status == "asking" and state.pending:
        q = ctx.kb.question(state.pending)
        lines = [
            f"- {o.label}: {o.because.text} {cite(o.because.sources)}"
            for o in q.options
            if o.because
        ]
        why = Reply(
            intent="recommend",
            title=f"Why I ask: {q.prompt}",
            paragraphs=(q.why, "\n".join(lines)) if lines else (q.why,),
            sources=ctx.answerer.refs(s for o in q.options if o.because for s in o.because.sources),
        )
        return _ask(ctx, state, [why])
    ranking = ctx.ranking(state)
    reply = ctx.answerer.ranking_reply(ranking, title="Why this ranking", top=1)
    return state, [reply]


def _export(ctx: Context, state: FlowState, now: float) -> Reply:
    ranking = ctx.ranking(state)
    markdown = decision_record(
        ctx.kb, state.answers, state.prefilled, state.skipped, state.description, ranking, now
    )
    return Reply(
        intent="recommend",
        title="Decision record (Markdown)",
        paragraphs=(markdown,),
        markdown=markdown,
        sources=ctx.answerer.refs(
            s for r in ranking.top(3) for x in (*r.pros, *r.cons) for s in x.sources
        ),
    )
