"""JSON Schemas (draft 2020-12) for the files in ``knowledge/``.

The shape checks (unknown keys, missing fields, types, ranges) are jsonschema's; the checks
that cross files (source ids, duplicate names, trait ids) live in :mod:`bot.knowledge`.
"""

from __future__ import annotations

from typing import Any

_SOURCES = {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}
_TEXT = {"type": "string", "minLength": 3, "maxLength": 1200}
_TOPICS = {"type": "array", "items": {"type": "string", "minLength": 2}}
#: A date as the source gives it: a year, a month or a day, or the word "undated".
AS_OF_PATTERN = r"^(\d{4}(-\d{2}(-\d{2})?)?|undated)$"


#: Dialogue acts an answer can carry (understanding.yaml ``dialogue.acts``, an option's ``means``).
ACTS = ("affirm", "deny", "unsure", "indifferent", "both")
#: Flow commands said in plain words (understanding.yaml ``dialogue.commands``).
COMMANDS = ("back", "skip", "restart", "cancel", "why", "export", "compare-top", "whatif")


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": props,
    }


_CLAIM = _obj(["text", "sources"], text=_TEXT, sources=_SOURCES, topics=_TOPICS)
_CLAIMS = {"type": "array", "items": _CLAIM}
_BUILTIN = _obj(
    ["included", "text", "sources"], included={"type": "boolean"}, text=_TEXT, sources=_SOURCES
)
_TRAIT = _obj(
    ["score", "why", "sources"],
    score={"type": "integer", "minimum": 0, "maximum": 5},
    why=_TEXT,
    sources=_SOURCES,
)

FRAMEWORK: dict[str, Any] = _obj(
    ["id", "name", "entry", "aliases", "summary", "categories", "facts"],
    id={"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]*$"},
    name={"type": "string", "minLength": 2, "maxLength": 60},
    entry={"enum": ["full", "short"]},
    aliases={"type": "array", "items": {"type": "string", "minLength": 2, "maxLength": 60}},
    summary=_obj(["text", "sources"], text=_TEXT, sources=_SOURCES),
    categories={
        "type": "array",
        "minItems": 1,
        "items": _obj(
            ["value", "sources"],
            value={"enum": ["full-stack", "micro", "async", "library"]},
            sources=_SOURCES,
            text=_TEXT,
        ),
    },
    interface={
        "type": "array",
        "minItems": 1,
        "items": _obj(
            ["value", "text", "sources"],
            value={"enum": ["wsgi", "asgi", "own-server", "cgi"]},
            text=_TEXT,
            sources=_SOURCES,
        ),
    },
    async_support=_obj(
        ["level", "text", "sources"],
        level={"enum": ["none", "partial", "native"]},
        text=_TEXT,
        sources=_SOURCES,
    ),
    builtins=_obj(
        ["orm", "admin", "auth", "templates", "forms"],
        orm=_BUILTIN,
        admin=_BUILTIN,
        auth=_BUILTIN,
        templates=_BUILTIN,
        forms=_BUILTIN,
    ),
    companions={
        "type": "array",
        "items": _obj(
            ["name", "role", "sources"],
            name={"type": "string", "minLength": 2},
            role={"type": "string"},
            sources=_SOURCES,
        ),
    },
    history=_CLAIMS,
    notable_users={
        "type": "array",
        "items": _obj(
            ["name", "sources"], name={"type": "string", "minLength": 2}, sources=_SOURCES
        ),
    },
    community={
        "type": "array",
        "items": _obj(
            ["metric", "value", "as_of", "sources"],
            metric={"enum": ["github_stars", "stackoverflow_questions", "survey_share_percent"]},
            value={"type": "number", "minimum": 0},
            as_of={"type": "string", "pattern": AS_OF_PATTERN},
            note=_TEXT,
            sources=_SOURCES,
        ),
    },
    bootstrap=_obj(
        ["command", "text", "sources"],
        command={"type": "string", "minLength": 3},
        text=_TEXT,
        sources=_SOURCES,
    ),
    strengths=_CLAIMS,
    weaknesses=_CLAIMS,
    best_for=_CLAIMS,
    avoid_when=_CLAIMS,
    hello_world=_obj(
        ["code", "run", "sources"],
        code={"type": "string", "minLength": 10},
        run={"type": "string", "minLength": 3},
        sources=_SOURCES,
    ),
    facts=_CLAIMS,
    disagreements={
        "type": "array",
        "items": _obj(
            ["topic", "text", "sources"],
            topic={"type": "string", "minLength": 3},
            text=_TEXT,
            sources={**_SOURCES, "minItems": 2},
        ),
    },
    errors={
        "type": "array",
        "items": _obj(
            ["topic", "says", "sources", "correction", "evidence"],
            topic={"type": "string", "minLength": 3},
            says=_TEXT,
            sources=_SOURCES,
            correction=_TEXT,
            evidence=_SOURCES,
            topics=_TOPICS,
        ),
    },
    traits={"type": "object", "additionalProperties": _TRAIT},
)

#: Keys a ``entry: full`` framework must have on top of FRAMEWORK's required ones.
FULL_ENTRY_KEYS = (
    "interface",
    "async_support",
    "builtins",
    "companions",
    "history",
    "notable_users",
    "community",
    "bootstrap",
    "strengths",
    "weaknesses",
    "best_for",
    "avoid_when",
    "hello_world",
    "traits",
)

SOURCES: dict[str, Any] = _obj(
    ["sources"],
    sources={
        "type": "array",
        "minItems": 1,
        "items": _obj(
            ["id", "title", "publisher", "kind"],
            id={"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]*$"},
            title={"type": "string", "minLength": 3},
            publisher={"type": "string", "minLength": 2},
            author={"type": "string"},
            date={"type": "string", "pattern": AS_OF_PATTERN},
            date_kind={"enum": ["published", "updated"]},
            date_note=_TEXT,
            seed={"type": "string"},
            url={"type": "string", "pattern": r"^https://"},
            kind={"enum": ["article", "reference"]},
        ),
    },
)

_WEIGHTS = {
    "type": "object",
    "additionalProperties": {"type": "number", "minimum": -5, "maximum": 5},
}
_OPTION = _obj(
    ["id", "label", "terms", "weights"],
    id={"type": "string", "pattern": r"^[a-z0-9_]+$"},
    label={"type": "string", "minLength": 2, "maxLength": 75},
    terms={"type": "array", "items": {"type": "string", "minLength": 1}},
    replies={"type": "array", "items": {"type": "string", "minLength": 1}},
    means={"type": "array", "items": {"enum": list(ACTS)}, "uniqueItems": True},
    people_max={"type": "number", "minimum": 1},
    weights=_WEIGHTS,
    because=_CLAIM,
)

QUESTIONS: dict[str, Any] = _obj(
    ["questions"],
    questions={
        "type": "array",
        "minItems": 1,
        "items": _obj(
            ["id", "prompt", "short", "why", "options"],
            id={"type": "string", "pattern": r"^[a-z0-9_]+$"},
            prompt={"type": "string", "minLength": 5, "maxLength": 150},
            short={"type": "string", "minLength": 2, "maxLength": 40},
            why=_TEXT,
            aliases={"type": "array", "items": {"type": "string"}},
            options={"type": "array", "minItems": 2, "maxItems": 8, "items": _OPTION},
        ),
    },
)

LEXICON: dict[str, Any] = _obj(
    ["traits"],
    traits={
        "type": "array",
        "minItems": 1,
        "items": _obj(
            ["id", "label", "description"],
            id={"type": "string", "pattern": r"^[a-z0-9_]+$"},
            label={"type": "string", "minLength": 2},
            description=_TEXT,
        ),
    },
    signals={
        "type": "array",
        "items": _obj(
            ["id", "label", "terms", "weights"],
            id={"type": "string", "pattern": r"^[a-z0-9_]+$"},
            label={"type": "string", "minLength": 2},
            terms={"type": "array", "minItems": 1, "items": {"type": "string"}},
            weights=_WEIGHTS,
        ),
    },
    categories={
        "type": "array",
        "items": _obj(
            ["id", "definitions"],
            id={"enum": ["full-stack", "micro", "async", "library"]},
            definitions={**_CLAIMS, "minItems": 1},
        ),
    },
    not_covered={
        "type": "array",
        "items": _obj(
            ["name", "language"],
            name={"type": "string", "minLength": 2},
            language={"type": "string"},
            aliases={"type": "array", "items": {"type": "string"}},
        ),
    },
    synonyms={
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
)

_PHRASES = {"type": "array", "items": {"type": "string", "minLength": 1}}
_CUES = _obj(["before", "after"], before=_PHRASES, after=_PHRASES)

UNDERSTANDING: dict[str, Any] = _obj(
    [
        "roles",
        "negation",
        "homonyms",
        "criteria",
        "attributes",
        "figures",
        "languages",
        "list_all",
        "intents",
        "python_context",
        "language_context",
        "language_context_before",
        "dialogue",
    ],
    roles=_obj(
        ["window", "excluded", "reference", "verb_guard"],
        window={"type": "integer", "minimum": 1, "maximum": 8},
        excluded=_CUES,
        reference=_CUES,
        verb_guard=_PHRASES,
    ),
    negation=_obj(
        ["window", "before", "after", "pseudo", "terminate"],
        window={"type": "integer", "minimum": 1, "maximum": 20},
        before=_PHRASES,
        after=_PHRASES,
        pseudo=_PHRASES,
        terminate=_PHRASES,
    ),
    homonyms=_obj(
        ["window", "determiners", "tech", "words"],
        window={"type": "integer", "minimum": 1, "maximum": 20},
        determiners=_PHRASES,
        tech=_PHRASES,
        words={"type": "object", "additionalProperties": _PHRASES},
    ),
    criteria={
        "type": "array",
        "items": _obj(
            ["id", "label", "terms", "traits", "topics"],
            id={"type": "string", "pattern": r"^[a-z0-9_]+$"},
            label={"type": "string", "minLength": 2},
            terms={**_PHRASES, "minItems": 1},
            traits={**_PHRASES, "minItems": 1},
            topics=_PHRASES,
        ),
    },
    attributes=_obj(
        ["selectors", "all", "union"],
        selectors={
            "type": "array",
            "items": _obj(
                ["id", "label", "field", "value", "terms"],
                id={"type": "string", "pattern": r"^[a-z0-9_]+$"},
                label={"type": "string", "minLength": 2},
                field={"enum": ["interface", "async", "sync", "category", "builtin", "trait"]},
                value={"type": "string", "minLength": 2},
                terms={**_PHRASES, "minItems": 1},
            ),
        },
        all=_PHRASES,
        union=_PHRASES,
    ),
    figures=_obj(
        ["rank_cues", "least_cues", "metrics"],
        rank_cues=_PHRASES,
        least_cues=_PHRASES,
        metrics={"type": "object", "additionalProperties": _PHRASES},
    ),
    languages={"type": "object", "additionalProperties": _PHRASES},
    list_all=_PHRASES,
    intents=_obj(
        ["list", "need", "flow", "help", "question", "lookup", "recommend", "alternative"],
        list=_PHRASES,
        need=_PHRASES,
        flow=_PHRASES,
        help=_PHRASES,
        question=_PHRASES,
        lookup=_PHRASES,
        recommend=_PHRASES,
        alternative=_PHRASES,
    ),
    python_context=_PHRASES,
    language_context=_PHRASES,
    language_context_before=_PHRASES,
    dialogue=_obj(
        ["acts", "filler", "hedges", "commands", "change", "correction", "people"],
        acts=_obj(list(ACTS), **{act: {**_PHRASES, "minItems": 1} for act in ACTS}),
        filler=_PHRASES,
        commands=_obj(
            list(COMMANDS), **{command: {**_PHRASES, "minItems": 1} for command in COMMANDS}
        ),
        change=_PHRASES,
        correction=_PHRASES,
        people=_PHRASES,
        hedges=_PHRASES,
    ),
)
