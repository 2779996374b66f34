"""The selection conversation, a pure state machine: ``step(ctx, state, turn) -> (state, replies)``.

States (``FlowState.status``)::

    idle --"help me pick" / recommend <text>--> asking --last answer--> done
      ^                                          |  back / skip / change <q> / why
      +----------------- cancel -----------------+
    done: what if <...> / change <q> / compare top two / export / why not X / restart

Any message is read for every question (slot filling, :mod:`bot.dialogue`): one turn can answer
the pending question and others, correct earlier answers ("actually it's small"), or carry a
plain yes / no / not sure. Each turn says back in one line what it understood or changed. Two
options at once ("both") get a question on which decides; an answer that is not understood gets
the question again with its options, never a guess. After the result, a sentence that gives
answers is a what-if on the same answers. Ad-hoc questions ("what's Sanic?", "flask vs django")
are answered in any state; while asking, the pending question is asked again after the answer.

Buttons carry the question id and the state's :attr:`FlowState.version`, so a stale or
duplicate press changes nothing; a recommendation's buttons and the what-if menu carry
:attr:`FlowState.flow`, so after a restart the old ones change nothing either. Nothing here
does I/O: the engine loads and saves the state around :func:`step`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.answers import Answerer, cite, plural
from bot.dialogue import Dialogue, Reading
from bot.knowledge import KnowledgeBase, Question
from bot.matching import Matcher, Understanding, clean, words
from bot.recommend import Ranking, causes_from, moves, rank, why_not
from bot.record import decision_record
from bot.replies import Choice, Reply
from bot.roles import split_clauses

_WHATIF = re.compile(r"^what[\s-]+if\s+(.+)$", re.IGNORECASE)
_WHYNOT = re.compile(r"^why\s+not\s+(.+?)\??$", re.IGNORECASE)
STALE_TEXT = "That question is already answered; nothing changed."
OLD_BUTTON_TEXT = "That button is from an earlier message; nothing changed."


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
        description: the opening sentence (kept through what-ifs, for the decision record).
        choices: the action values of the last reply's buttons, so "2" picks the second.
        started: when the flow started (seconds since the epoch), 0 when idle.
        proposal: a new request waiting for "Start new selection" / "Keep current", or "".
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
    proposal: str = ""

    @property
    def version(self) -> str:
        """A short digest of what a button acts on: the flow (its start time), its status, the
        question pending and the proposal waiting. Equal states give equal versions on every
        replica and after restarts; answers to other questions typed meanwhile (perhaps on
        another replica) leave it alone, so they never make a press on the current question
        stale."""
        key = repr((self.started, self.status, self.pending, self.changing, self.proposal))
        return hashlib.blake2s(key.encode(), digest_size=4).hexdigest()

    @property
    def flow(self) -> str:
        """``@`` and a short digest of the flow's start time: what a recommendation's buttons
        and the what-if menu carry, so that after a restart the old ones change nothing, while
        every what-if and export within one flow stays live."""
        return "@" + hashlib.blake2s(repr(self.started).encode(), digest_size=4).hexdigest()

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
            "proposal": self.proposal,
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
        self.dialogue = Dialogue(kb, matcher)
        self.order = {q.id: i for i, q in enumerate(kb.questions)}

    def ranking(self, state: FlowState) -> Ranking:
        """The ranking for the state's answers and signals."""
        return rank(self.kb, causes_from(self.kb, state.answers, state.signals))


Step = tuple[FlowState, list[Reply]]


def step(ctx: Context, state: FlowState, turn: Turn) -> Step:
    """Advance the conversation by one turn. Pure; never raises for any input.

    The text is cleaned first (mentions stripped: "@advisor 2" is option 2), then read in this
    order: a button or number, a command in plain words, a new request, a question about
    frameworks, answers to any question, a question to change.
    """
    text = clean(turn.text)
    action = turn.action or _numbered(state, text) or _labelled(ctx, state, text)
    if not action and state.proposal:
        act = ctx.dialogue.act(words(text))
        action = {"affirm": "cmd:new", "deny": "cmd:keep"}.get(act, "")
    if action.startswith("ask:"):
        text, action = clean(action[4:]), ""
    if action:
        return _action(ctx, state, action, turn)
    tokens, _clause = split_clauses(text)
    command = ctx.dialogue.command(tokens)
    if command:
        return _command(ctx, state, command, turn)
    if state.status == "idle":
        return _idle(ctx, state, text, turn)
    if state.status == "done" and (m := _WHYNOT.match(text)):
        return state, [_why_not(ctx, state, m.group(1))]
    u = ctx.matcher.understand(text)
    if u.flow and _opens_request(ctx, tokens):
        return _new_request(ctx, state, text, tokens, turn)
    if u.frameworks and u.intent != "help":
        return _aside(ctx, state, u)
    pending = state.pending if state.status == "asking" or state.changing else ""
    body = _WHATIF.match(text) if state.status == "done" else None
    reading = ctx.dialogue.read(clean(body.group(1)) if body else text, pending)
    if not reading.empty:
        return _apply(ctx, state, reading)
    if state.status == "done":
        if body:
            return _whatif_menu(ctx, state)
        return state, [ctx.answerer.answer(u)]
    if _asks_about_frameworks(u) or (_question_form(tokens, text) and u.intent != "help"):
        return _aside(ctx, state, u)
    return _ask(ctx, state, [], hint=True)


def _aside(ctx: Context, state: FlowState, u: Understanding) -> Step:
    """Answer a question about frameworks asked mid-flow, then ask the pending one again."""
    reply = ctx.answerer.answer(u)
    if state.pending:
        return _ask(ctx, state, [reply], lead="Back to the question.")
    return state, [reply]


_QUESTION_WORDS = frozenset("what which who how is are does do can should could why".split())


def _question_form(tokens: list[str], text: str) -> bool:
    return text.rstrip().endswith("?") or (bool(tokens) and tokens[0] in _QUESTION_WORDS)


def _numbered(state: FlowState, text: str) -> str:
    t = text.strip().rstrip(".)")
    if t.isascii() and t.isdecimal() and len(t) <= 3 and 1 <= int(t) <= len(state.choices):
        return state.choices[int(t) - 1]
    return ""


#: What the command buttons say, so that typing a button's label presses it.
_COMMAND_LABELS = {
    "skip": "Skip",
    "back": "Back",
    "new": "Start new selection",
    "keep": "Keep current",
    "whatif": "What if…",
    "compare-top": "Compare top two",
    "export": "Export decision record",
    "restart": "Restart",
    "refine": "Refine with a few questions",
}


def _labelled(ctx: Context, state: FlowState, text: str) -> str:
    """The last reply's button whose label is exactly ``text`` ("keep current"), or ""."""
    typed = " ".join(words(text))
    if not typed:
        return ""
    for value in state.choices:
        kind, _, rest = value.partition(":")
        label = ""
        if kind == "cmd":
            label = _COMMAND_LABELS.get(rest.split(":")[0], "")
        elif kind == "answer":
            qid, _, tail = rest.partition(":")
            oid = tail.partition(":")[0]
            if qid in ctx.order:
                label = next((o.label for o in ctx.kb.question(qid).options if o.id == oid), "")
        elif kind == "change" and rest in ctx.order:
            label = f"Change {ctx.kb.question(rest).short}"
        if label and " ".join(words(label)) == typed:
            return value
    return ""


def match_option(ctx: Context, q: Question, text: str) -> str | None:
    """The option id of ``q`` that free ``text`` means when ``q`` is being asked ("yep",
    "pretty big", "API only", "no, we don't need async"). Returns None when the text gives no
    single option for ``q`` (not understood, "both", or an option ruled out)."""
    return ctx.dialogue.read(clean(text), q.id).fills.get(q.id)


def _asks_about_frameworks(u: Understanding) -> bool:
    """A message that answers no question but asks about frameworks ("should we just use rails
    instead?", "which came out of FriendFeed")."""
    if u.off_topic:
        return False
    return bool(u.lookup or u.languages or u.not_covered) and u.intent != "help"


def _opens_request(ctx: Context, tokens: list[str]) -> bool:
    """True when the message opens with a request to be walked through ("recommend ...",
    "help me pick ...") rather than mentioning one in passing."""
    return bool(tokens) and (
        tokens[0] in ("recommend", "recommendation") or ctx.matcher.opens_flow(tokens)
    )


# --------------------------------------------------------------------------- idle


def _idle(ctx: Context, state: FlowState, text: str, turn: Turn) -> Step:
    u = ctx.matcher.understand(text)
    if u.intent == "recommend" and u.flow:
        return _start(ctx, turn, text)
    if ctx.dialogue.read(text).change:  # "change size" with no selection to change
        return _no_flow(state)
    reply = ctx.answerer.answer(u)
    if u.intent == "recommend" and reply.kind == "recommendation":
        reply = replace(
            reply,
            choices=(Choice(label=_COMMAND_LABELS["refine"], value="cmd:refine", primary=True),),
        )
        state = replace(state, description=text)
    return replace(state, choices=tuple(c.value for c in reply.choices)), [reply]


# --------------------------------------------------------------------------- buttons


def _action(ctx: Context, state: FlowState, action: str, turn: Turn) -> Step:
    kind, _, rest = action.partition(":")
    if kind == "answer":
        qid, _, tail = rest.partition(":")
        oid, _, version = tail.partition(":")
        if state.status == "idle":
            return _no_flow(state)
        if qid != state.pending or (version and version != state.version):
            return _stale(ctx, state, qid)
        return _answered(ctx, state, qid, oid)
    if kind == "change":
        qid, _, flow = rest.partition(":")
        if flow and flow != state.flow:
            return _stale(ctx, state, "")
        return _ask_change(ctx, state, qid)
    if kind == "cmd":
        name, *parts = rest.split(":")
        if parts and parts[-1].startswith("@"):  # a recommendation's button: same flow only
            if parts[-1] != state.flow:
                return _stale(ctx, state, "")
        elif parts and (
            parts[-1] != state.version or (len(parts) > 1 and parts[0] != state.pending)
        ):
            return _stale(ctx, state, parts[0] if len(parts) > 1 else "")
        return _command(ctx, state, name, turn)
    return state, [_note("I don't know that button; nothing changed.")]


def _stale(ctx: Context, state: FlowState, qid: str) -> Step:
    """A press on a button of an earlier message, or a second press: nothing changes; the note
    says so, and the question now pending is shown again."""
    settled = qid in state.answers or qid in state.skipped
    note = _note(STALE_TEXT if settled else OLD_BUTTON_TEXT)
    if state.status == "asking" and state.pending:
        return _ask(ctx, state, [note])
    return state, [note]


def _note(text: str) -> Reply:
    return Reply(intent="recommend", kind="notice", paragraphs=(text,))


# --------------------------------------------------------------------------- answers


def _apply(ctx: Context, state: FlowState, reading: Reading) -> Step:
    """Apply what one message said: fill, correct, skip, narrow or re-ask; say it back."""
    before = ctx.ranking(state) if state.status == "done" else None
    pending = state.pending if state.status == "asking" or state.changing else ""
    answering = pending in reading.fills
    got: list[str] = []
    changed: list[str] = []
    new = state
    for q in ctx.kb.questions:
        oid = reading.fills.get(q.id)
        if oid is None:
            continue
        old = state.answers.get(q.id)
        label = q.option(oid).label
        if old is None:
            new = _set_answer(new, q.id, oid)
            got.append(f"{q.short}: {label}")
        elif old != oid:
            if answering and q.id != pending and not reading.correction:
                continue  # an aside while answering the pending question, not a correction
            new = _set_answer(new, q.id, oid)
            changed.append(f"{q.short}: {q.option(old).label} → {label}")
        elif q.id == pending:
            new = _set_answer(new, q.id, oid)
            got.append(f"{q.short}: {label}")
    if reading.skip and pending and not answering:
        new = replace(
            new,
            skipped=(*new.skipped, pending),
            history=(*new.history, pending),
            changing=False,
        )
        got.append(f"{ctx.kb.question(pending).short}: not sure, left out")
    said = _said(got, changed)
    if new.status == "done" and new.pending and not new.changing:
        new = replace(new, pending="")
    if pending and pending not in new.answers and pending not in new.skipped:
        q = ctx.kb.question(pending)
        if pending in reading.mixed:
            options = reading.mixed[pending]
            labels = " and ".join(q.option(o).label for o in options)
            lead = f"{said}\nYou named {labels}. Which one should decide the choice?".strip()
            return _ask(ctx, new, [], lead=lead, only=options)
        if pending in reading.ruled_out:
            out = reading.ruled_out[pending]
            rest = tuple(o.id for o in q.options if o.id not in out)
            names = ", ".join(q.option(o).label for o in out)
            lead = f"{said}\nGot it: not {names}. Which is it, then?".strip()
            return _ask(ctx, new, [], lead=lead, only=rest)
        if reading.change and reading.change != pending and not got and not changed:
            return _ask_change(ctx, new, reading.change)
        if new.status == "done":
            return _finish(ctx, replace(new, changing=False), before=before, lead=said)
        if not got and not changed:
            return _ask(ctx, new, [], hint=True)
        return _ask(ctx, new, [], lead=said)
    if reading.change and not got and not changed:
        return _ask_change(ctx, new, reading.change)
    if new.status == "done" or state.changing:
        if not got and not changed and before is not None:
            return new, [_note("Those are already your answers; nothing moved.")]
        return _finish(ctx, replace(new, changing=False), before=before, lead=said)
    return _next(ctx, new, lead=said)


def _said(got: list[str], changed: list[str]) -> str:
    parts = []
    if got:
        parts.append("Got it: " + "; ".join(got) + ".")
    if changed:
        parts.append("Changed " + "; ".join(changed) + ".")
    return " ".join(parts)


# --------------------------------------------------------------------------- new requests


def _new_request(ctx: Context, state: FlowState, text: str, tokens: list[str], turn: Turn) -> Step:
    """A new "recommend <description>" while a flow runs: start it at once when nothing was
    answered yet, otherwise ask before dropping the answers."""
    described = ctx.matcher.describes(tokens)
    if not state.answers and described:
        return _start(ctx, turn, text)
    if not described and state.status == "asking":
        return _ask(ctx, state, [], lead="We're already picking a framework; here's where we were.")
    proposal = replace(state, proposal=text or "-")
    count = len(state.answers)
    quoted = text[:120] if described else ""
    what = f" from “{quoted}”" if quoted else ""
    reply = Reply(
        intent="recommend",
        title="Start a new selection?",
        paragraphs=(
            f"You have a selection with {plural(count, 'answer')} so far. "
            f"Start a new one{what}, or keep the current one?",
        ),
        choices=(
            Choice(label=_COMMAND_LABELS["new"], value=f"cmd:new:{proposal.version}", primary=True),
            Choice(label=_COMMAND_LABELS["keep"], value=f"cmd:keep:{proposal.version}"),
        ),
        quoted=(quoted,) if quoted else (),
    )
    return replace(proposal, choices=tuple(c.value for c in reply.choices)), [reply]


# --------------------------------------------------------------------------- transitions


def _start(ctx: Context, turn: Turn, text: str) -> Step:
    reading = ctx.dialogue.read(text) if text else Reading()
    _answers, signals = ctx.matcher.prefill(text) if text else ({}, [])
    answers = dict(reading.fills)
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


def _next(ctx: Context, state: FlowState, lead: str = "") -> Step:
    settled = set(state.answers) | set(state.skipped)
    for q in ctx.kb.questions:
        if q.id not in settled:
            return _ask(
                ctx, replace(state, status="asking", pending=q.id, changing=False), [], lead=lead
            )
    return _finish(ctx, state, lead=lead)


def _ask(
    ctx: Context,
    state: FlowState,
    before: list[Reply],
    *,
    lead: str = "",
    hint: bool = False,
    only: tuple[str, ...] = (),
) -> Step:
    q = ctx.kb.question(state.pending)
    state = replace(state, proposal="")
    version = state.version
    number = ctx.order[q.id] + 1
    options = [o for o in q.options if not only or o.id in only]
    choices = [Choice(label=o.label, value=f"answer:{q.id}:{o.id}:{version}") for o in options]
    choices += [Choice(label=_COMMAND_LABELS["skip"], value=f"cmd:skip:{q.id}:{version}")]
    if state.history and not state.changing:
        choices += [Choice(label=_COMMAND_LABELS["back"], value=f"cmd:back:{q.id}:{version}")]
    paragraphs: tuple[str, ...] = (lead,) if lead else ()
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
        paragraphs=paragraphs,
        choices=tuple(choices),
        notices=notices,
    )
    before = [replace(b, choices=()) for b in before]
    return replace(state, choices=tuple(c.value for c in choices)), [*before, reply]


def _answered(ctx: Context, state: FlowState, qid: str, oid: str) -> Step:
    try:
        q = ctx.kb.question(qid)
        q.option(oid)
    except KeyError:
        return _ask(ctx, state, [], hint=True) if state.pending else (state, [])
    return _apply(ctx, state, Reading(fills={qid: oid}))


def _set_answer(state: FlowState, qid: str, oid: str) -> FlowState:
    answers = {**state.answers, qid: oid}
    history = tuple(h for h in state.history if h != qid) + (qid,)
    changed = state.answers.get(qid) != oid
    return replace(
        state,
        answers=answers,
        history=history,
        skipped=tuple(s for s in state.skipped if s != qid),
        prefilled=tuple(p for p in state.prefilled if p != qid or not changed),
        changing=False,
    )


def _finish(
    ctx: Context, state: FlowState, *, lead: str = "", before: Ranking | None = None
) -> Step:
    ranking = ctx.ranking(state)
    answered = sum(1 for q in ctx.kb.questions if q.id in state.answers)
    reply = ctx.answerer.ranking_reply(
        ranking, title="My recommendation", answered=(answered, len(ctx.kb.questions))
    )
    paragraphs = list(reply.paragraphs)
    if before is not None:
        moved = moves(before, ranking)
        text = ", ".join(f"{m.name} {_ordinal(m.before)} → {_ordinal(m.after)}" for m in moved)
        paragraphs.insert(0, f"What moved: {text}." if text else "Nothing moved in the top five.")
    if lead:
        paragraphs.insert(0, lead)
    choices = tuple(
        Choice(label=_COMMAND_LABELS[name], value=f"cmd:{name}:{state.flow}")
        for name in ("whatif", "compare-top", "export", "restart")
    )
    reply = replace(reply, paragraphs=tuple(paragraphs), choices=choices)
    done = replace(
        state,
        status="done",
        pending="",
        changing=False,
        proposal="",
        choices=tuple(c.value for c in choices),
    )
    return done, [reply]


def _ordinal(n: int) -> str:
    if n <= 0:
        return "unranked"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _ask_change(ctx: Context, state: FlowState, qid: str) -> Step:
    if state.status == "idle" or qid not in ctx.order:
        return _no_flow(state)
    changing = state.status == "done"
    return _ask(
        ctx,
        replace(state, pending=qid, changing=changing),
        [],
        lead="Pick the new answer; I'll show what moves." if changing else "",
    )


def _whatif_menu(ctx: Context, state: FlowState) -> Step:
    choices = tuple(
        Choice(label=f"Change {q.short}", value=f"change:{q.id}:{state.flow}")
        for q in ctx.kb.questions
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
    lines = [f"- {r.trait_label} ({r.cause_label}): {r.why} {cite(r.sources)}" for r in lost]
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
    if command == "new":
        if not state.proposal:
            return state, [_note(OLD_BUTTON_TEXT)]
        return _start(ctx, turn, "" if state.proposal == "-" else state.proposal)
    if command == "keep":
        kept = replace(state, proposal="")
        if kept.status == "asking" and kept.pending:
            return _ask(ctx, kept, [], lead="Keeping your current selection.")
        return kept, [_note("Keeping your current selection.")]
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
