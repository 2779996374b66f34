"""Load and validate ``knowledge/`` once, at start-up, into frozen values.

Layout of a knowledge directory::

    sources.yaml            where facts come from (seed articles and reference docs)
    lexicon.yaml            traits, need signals, frameworks not covered, synonyms
    questions.yaml          the selection questions and how each option moves the traits
    frameworks/<id>.yaml    one framework each (schemas in :mod:`bot.schema`)

:func:`load` checks shapes with jsonschema and then what crosses files (source ids, trait ids,
duplicate names and aliases) and reports *every* problem with its file and key path by raising
:class:`~bot.errors.KnowledgeError`. Nothing half-loaded is ever returned.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import os
import pickle
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import KnowledgeError, Problem

_log = logging.getLogger(__name__)
#: Files of this package whose change invalidates compiled caches.
_CODE_FILES = ("knowledge.py", "schema.py")
#: A cache file is this tag, then the HMAC-SHA256 (32 bytes) of its name and the rest, then the
#: pickle. The tag is also part of the file name's digest, so files of older formats are skipped.
_CACHE_TAG = b"framework-advisor knowledge cache 2\n"
#: This install's secret for signing cache files, inside the cache directory (mode 0o600).
_KEY_FILE = "cache.key"
_KEY_BYTES = 32
#: Open flags for cache files: never follow a symbolic link, never block on a FIFO.
_OPEN_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


_T = TypeVar("_T")


def fast_pickle(cls: type[_T]) -> type[_T]:
    """Class decorator for a frozen, slotted dataclass: pickling by a list of field values with
    the field names looked up once per class. (Python 3.11's own ``__setstate__`` for slotted
    dataclasses calls ``dataclasses.fields()`` for every object, which was two thirds of the
    time to load the cached knowledge and index.) Put it above ``@dataclass``."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    setter = object.__setattr__

    def __getstate__(self: object) -> list[object]:
        return [getattr(self, n) for n in names]

    def __setstate__(self: object, state: list[object]) -> None:
        for name, value in zip(names, state, strict=True):
            setter(self, name, value)

    cls.__getstate__ = __getstate__  # type: ignore[method-assign]
    cls.__setstate__ = __setstate__  # type: ignore[attr-defined]
    return cls


@fast_pickle
@dataclass(frozen=True, slots=True)
class Claim:
    """One sourced statement. ``sources`` are ids from sources.yaml; ``topics`` help retrieval."""

    text: str
    sources: tuple[str, ...]
    topics: tuple[str, ...] = ()


@fast_pickle
@dataclass(frozen=True, slots=True)
class Labelled:
    """A sourced value with a label, e.g. a category ``micro`` or an interface ``wsgi``."""

    value: str
    sources: tuple[str, ...]
    text: str = ""


@fast_pickle
@dataclass(frozen=True, slots=True)
class Builtin:
    """Whether a component (orm, admin, auth, templates, forms) ships with the framework."""

    included: bool
    text: str
    sources: tuple[str, ...]


@fast_pickle
@dataclass(frozen=True, slots=True)
class Figure:
    """A community figure. ``as_of`` is the date the source gives for the figure itself
    (``YYYY[-MM[-DD]]`` or ``undated``); ``when`` is how that reads to people: "as of 2021",
    or for an undated figure from a dated article "undated (article updated 2023-10-02)"."""

    metric: str
    value: float
    as_of: str
    sources: tuple[str, ...]
    note: str = ""
    when: str = "undated"


@fast_pickle
@dataclass(frozen=True, slots=True)
class TraitScore:
    """A framework's score on one trait, 0 (poor) to 5 (excellent), with its reason."""

    score: int
    why: str
    sources: tuple[str, ...]


@fast_pickle
@dataclass(frozen=True, slots=True)
class KnownError:
    """Something a source says that is known to be wrong: what it ``says`` (cited to
    ``sources``) and the ``correction`` (cited to ``evidence``)."""

    topic: str
    says: str
    sources: tuple[str, ...]
    correction: str
    evidence: tuple[str, ...]
    topics: tuple[str, ...] = ()


@fast_pickle
@dataclass(frozen=True, slots=True)
class HelloWorld:
    """A minimal app written for this project, with the command that runs it."""

    code: str
    run: str
    sources: tuple[str, ...]


@fast_pickle
@dataclass(frozen=True, slots=True)
class Framework:
    """One framework entry. Short entries (``entry == "short"``) have only the first fields."""

    id: str
    name: str
    entry: str
    aliases: tuple[str, ...]
    summary: Claim
    categories: tuple[Labelled, ...]
    facts: tuple[Claim, ...]
    file: str
    interface: tuple[Labelled, ...] = ()
    async_support: Labelled | None = None
    builtins: Mapping[str, Builtin] | None = None
    companions: tuple[Labelled, ...] = ()
    history: tuple[Claim, ...] = ()
    notable_users: tuple[Labelled, ...] = ()
    community: tuple[Figure, ...] = ()
    bootstrap: Claim | None = None
    strengths: tuple[Claim, ...] = ()
    weaknesses: tuple[Claim, ...] = ()
    best_for: tuple[Claim, ...] = ()
    avoid_when: tuple[Claim, ...] = ()
    hello_world: HelloWorld | None = None
    disagreements: tuple[Claim, ...] = ()
    traits: Mapping[str, TraitScore] | None = None
    errors: tuple[KnownError, ...] = ()

    @property
    def is_full(self) -> bool:
        """True for the twelve fully described frameworks that recommendations rank."""
        return self.entry == "full"

    def category_values(self) -> tuple[str, ...]:
        """Distinct category values in file order, e.g. ``("micro", "full-stack")``."""
        return tuple(dict.fromkeys(c.value for c in self.categories))


@fast_pickle
@dataclass(frozen=True, slots=True)
class Source:
    """One entry of sources.yaml."""

    id: str
    title: str
    publisher: str
    kind: str
    author: str = ""
    date: str = "undated"
    date_kind: str = "published"
    date_note: str = ""
    seed: str = ""
    url: str = ""

    @property
    def when(self) -> str:
        """The date as people read it: "undated", "2021-03" or "updated 2023-10-02"."""
        if self.date == "undated" or self.date_kind == "published":
            return self.date
        return f"{self.date_kind} {self.date}"


@fast_pickle
@dataclass(frozen=True, slots=True)
class Option:
    """One answer to a question and how it moves traits (``weights``: trait id -> -5..5)."""

    id: str
    label: str
    terms: tuple[str, ...]
    replies: tuple[str, ...]
    weights: Mapping[str, float]
    because: Claim | None = None
    means: tuple[str, ...] = ()
    people_max: float | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class Question:
    """A selection question, asked in file order."""

    id: str
    prompt: str
    short: str
    why: str
    aliases: tuple[str, ...]
    options: tuple[Option, ...]

    def option(self, option_id: str) -> Option:
        """The option with ``option_id``. Raises KeyError when there is none."""
        for opt in self.options:
            if opt.id == option_id:
                return opt
        raise KeyError(option_id)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Signal:
    """A phrase group that moves traits without answering a question (e.g. "admin panel")."""

    id: str
    label: str
    terms: tuple[str, ...]
    weights: Mapping[str, float]


@fast_pickle
@dataclass(frozen=True, slots=True)
class NotCovered:
    """A framework people ask about that the knowledge base deliberately does not cover."""

    name: str
    language: str
    aliases: tuple[str, ...] = ()


@fast_pickle
@dataclass(frozen=True, slots=True)
class Criterion:
    """What a comparison can be about ("faster" -> speed): the traits and topics that answer it."""

    id: str
    label: str
    terms: tuple[str, ...]
    traits: tuple[str, ...]
    topics: tuple[str, ...]


@fast_pickle
@dataclass(frozen=True, slots=True)
class Selector:
    """A list-question attribute ("ASGI"): ``field`` is interface, async, category, builtin or
    trait, and ``value`` the interface/category/builtin/trait id it selects on."""

    id: str
    label: str
    field: str
    value: str
    terms: tuple[str, ...]


@fast_pickle
@dataclass(frozen=True, slots=True)
class Cues:
    """understanding.yaml: cue phrases and patterns as data (see that file's header).

    ``roles`` and ``negation`` map a cue kind ("excluded.before", "terminate"...) to phrases;
    ``homonyms`` maps a framework id to words that show its name is an ordinary word.
    ``dialogue`` maps a dialogue act (affirm, deny, unsure, indifferent, both) and ``filler``,
    ``change``, ``correction``, ``people`` (words a head count counts) to phrases;
    ``commands`` maps a flow command to its phrases.
    """

    role_window: int
    roles: Mapping[str, tuple[str, ...]]
    negation_window: int
    negation: Mapping[str, tuple[str, ...]]
    homonym_window: int
    determiners: tuple[str, ...]
    tech: tuple[str, ...]
    homonyms: Mapping[str, tuple[str, ...]]
    criteria: tuple[Criterion, ...]
    selectors: tuple[Selector, ...]
    list_all_words: tuple[str, ...]
    union: tuple[str, ...]
    rank_cues: tuple[str, ...]
    least_cues: tuple[str, ...]
    metrics: Mapping[str, tuple[str, ...]]
    languages: Mapping[str, tuple[str, ...]]
    list_all: tuple[str, ...]
    intents: Mapping[str, tuple[str, ...]]
    python_context: tuple[str, ...]
    language_context: tuple[str, ...]
    language_context_before: tuple[str, ...]
    dialogue: Mapping[str, tuple[str, ...]]
    commands: Mapping[str, tuple[str, ...]]


@fast_pickle
@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """Everything in ``knowledge/``, validated. ``version`` is a digest of the files' bytes."""

    frameworks: Mapping[str, Framework]
    sources: Mapping[str, Source]
    questions: tuple[Question, ...]
    traits: Mapping[str, str]
    signals: tuple[Signal, ...]
    not_covered: tuple[NotCovered, ...]
    synonyms: Mapping[str, tuple[str, ...]]
    version: str
    cues: Cues
    #: Category id ("micro") -> what the articles mean by it (lexicon.yaml ``categories``).
    category_definitions: Mapping[str, tuple[Claim, ...]] = field(default_factory=dict)

    def question(self, question_id: str) -> Question:
        """The question with ``question_id``. Raises KeyError when there is none."""
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def full_frameworks(self) -> list[Framework]:
        """The frameworks that recommendations rank, in id order."""
        return [f for f in self.frameworks.values() if f.is_full]


# --------------------------------------------------------------------------- loading


def load(directory: str | Path, *, cache_dir: str | Path | None = None) -> KnowledgeBase:
    """Load and validate a knowledge directory.

    Args:
        directory: a folder laid out as in the module docstring.
        cache_dir: where to keep the validated base compiled (a pickle named by the SHA-256 of
            every knowledge file and of this module's code). A later start with the very same
            bytes loads that instead of parsing and validating again (about 10x faster).
            ``None`` always parses and validates. The folder is made with mode 0o700. A cache
            is read only when it is private and signed by this install (see
            :func:`_cache_key`); otherwise the base is built in memory, with a warning
            logged when something in the folder is unsafe.
    Returns:
        The validated :class:`KnowledgeBase`.
    Raises:
        KnowledgeError: listing every problem found, each with its file and key path.
    """
    root = Path(directory)
    problems: list[Problem] = []
    files = _files(root, problems)
    blobs: dict[str, bytes] = {}
    for rel, path in files:
        try:
            blobs[rel] = path.read_bytes()
        except OSError as exc:
            problems.append(Problem(rel, "", f"cannot read file ({exc.strerror or exc})"))
    if problems:
        raise KnowledgeError(problems)
    digest = hashlib.sha256()
    for rel, raw in blobs.items():
        digest.update(rel.encode() + b"\0" + raw + b"\0")
    version = "sha256:" + digest.hexdigest()[:12]
    for name in _CODE_FILES:
        digest.update((Path(__file__).parent / name).read_bytes())
    digest.update(_CACHE_TAG)
    cache = Path(cache_dir) / f"kb-{digest.hexdigest()[:32]}.pickle" if cache_dir else None
    key = _cache_key(cache.parent) if cache is not None else None
    if cache is not None and key is not None:
        kb = _read_cache(cache, key, version)
        if kb is not None:
            return kb
    kb = _validate_and_build(blobs, version)
    if cache is not None and key is not None:
        _write_cache(cache, key, kb)
    return kb


def _files(root: Path, problems: list[Problem]) -> list[tuple[str, Path]]:
    if not root.is_dir():
        problems.append(
            Problem(
                str(root),
                "",
                "knowledge directory not found; set ADVISOR_KNOWLEDGE_DIR to a folder with "
                "sources.yaml and frameworks/*.yaml, or unset it to use the shipped knowledge",
            )
        )
        return []
    names = ("sources.yaml", "lexicon.yaml", "questions.yaml", "understanding.yaml")
    out = [(name, root / name) for name in names]
    fw_dir = root / "frameworks"
    found = sorted(fw_dir.glob("*.yaml")) if fw_dir.is_dir() else []
    if not found:
        problems.append(Problem("frameworks/", "", "no framework files (*.yaml) found"))
    return out + [(f"frameworks/{p.name}", p) for p in found]


# --------------------------------------------------------------------------- the cache
# A pickle runs code when loaded, so only a file this install wrote is ever loaded: from a
# folder and a file that no other user owns or can write to, signed with a key that only this
# user can read. Anything else is skipped (the base is built in memory), never fatal.


def _unsafe(st: os.stat_result, *, secret: bool = False) -> str:
    """Why a cache folder or file with status ``st`` must not be trusted, or "" when it may:
    it must belong to this user and be writable by no one else (nor readable, for a
    ``secret``). Systems without user ids (Windows) rely on the signature alone."""
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"it belongs to another user (uid {st.st_uid})"
    if st.st_mode & (0o077 if secret else 0o022):
        others = "read or write" if secret else "write"
        return f"its mode {stat.S_IMODE(st.st_mode):04o} lets other users {others} it"
    return ""


def _read_private(path: Path, *, secret: bool = False) -> bytes | None:
    """The bytes of ``path`` when it is a regular file that passes :func:`_unsafe`; None when
    it is missing, and None with a warning when it is not safe to use."""
    try:
        fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a symbolic link
        _log.warning("ignoring knowledge cache file %s: %s", path, exc.strerror or exc)
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        why = _unsafe(st, secret=secret) if stat.S_ISREG(st.st_mode) else "not a regular file"
        if why:
            _log.warning("ignoring knowledge cache file %s: %s", path, why)
            return None
        return fh.read()


def _cache_key(directory: Path) -> bytes | None:
    """This install's secret for signing cache files: ``directory/cache.key``, 32 random bytes,
    mode 0o600, made on first use with ``directory`` (mode 0o700). None, and the cache unused,
    when the folder or the key cannot be made or is not private (logged as a warning)."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        why = _unsafe(directory.stat())
    except OSError as exc:
        _log.info("knowledge cache %s not usable (%s); starting without it", directory, exc)
        return None
    if why:
        _log.warning(
            "not using the knowledge cache folder %s: %s (chmod 700 it, or set "
            "ADVISOR_CACHE_DIR to a folder of your own)",
            directory,
            why,
        )
        return None
    path = directory / _KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        _log.info("knowledge cache key not written (%s); starting without it", exc)
        return None
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(_KEY_BYTES))
    key = _read_private(path, secret=True)
    return key if key is not None and len(key) == _KEY_BYTES else None


def _signature(key: bytes, name: str, body: bytes) -> bytes:
    """HMAC-SHA256 of a cache file's ``name`` and ``body`` (32 bytes)."""
    return hmac.new(key, name.encode() + b"\0" + body, hashlib.sha256).digest()


def cache_key(directory: Path) -> bytes | None:
    """This install's secret for signing cache files in ``directory`` (see :func:`_cache_key`);
    None when the folder is not private or cannot be made. Never raises."""
    return _cache_key(directory)


def read_signed(path: Path, key: bytes, shared: object = None) -> object | None:
    """The object pickled in ``path`` by :func:`write_signed` with ``key``; None when the file
    is missing, not private, not signed with ``key`` or unreadable (all but missing are
    logged as warnings). ``shared`` is put back wherever :func:`write_signed` left it out.
    Never raises."""
    data = _read_private(path)
    if data is None:
        return None
    start = len(_CACHE_TAG) + hashlib.sha256().digest_size
    body = data[start:]
    if data[: len(_CACHE_TAG)] != _CACHE_TAG or not hmac.compare_digest(
        data[len(_CACHE_TAG) : start], _signature(key, path.name, body)
    ):
        _log.warning("ignoring cache file %s: not signed by this install", path)
        return None
    try:  # a private file, signed with this install's key
        unpickler = pickle.Unpickler(io.BytesIO(body))
        unpickler.persistent_load = lambda _pid: shared  # type: ignore[method-assign]
        value: object = unpickler.load()
        return value
    except Exception as exc:  # noqa: BLE001 - a bad cache is rebuilt, never fatal
        _log.warning("ignoring unreadable cache file %s: %s", path, exc)
        return None


def write_signed(path: Path, key: bytes, value: object, shared: object = None) -> None:
    """Pickle ``value`` into ``path`` (mode 0o600, replaced atomically), signed with ``key``;
    ``shared`` (e.g. the knowledge base an index refers to) is left out, to be given back to
    :func:`read_signed`. A file that cannot be written is logged at INFO and skipped. Never
    raises."""
    import tempfile  # only when writing: ``advisor ask`` with a warm cache never needs it

    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    if shared is not None:
        pickler.persistent_id = lambda obj: "shared" if obj is shared else None  # type: ignore[method-assign]
    pickler.dump(value)
    body = buffer.getvalue()
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cache-", suffix=".tmp")  # 0o600
        with os.fdopen(fd, "wb") as fh:
            fh.write(_CACHE_TAG + _signature(key, path.name, body) + body)
        os.replace(tmp, path)
    except OSError as exc:
        _log.info("cache file %s not written (%s); starting without it", path, exc)
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def _read_cache(path: Path, key: bytes, version: str) -> KnowledgeBase | None:
    kb = read_signed(path, key)
    if isinstance(kb, KnowledgeBase) and kb.version == version:
        return kb
    if kb is not None:
        _log.debug("ignoring knowledge cache %s: another knowledge version", path)
    return None


def _write_cache(path: Path, key: bytes, kb: KnowledgeBase) -> None:
    write_signed(path, key, kb)


def _validate_and_build(blobs: Mapping[str, bytes], version: str) -> KnowledgeBase:
    import yaml
    from jsonschema import Draft202012Validator

    from bot import schema

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    shapes = {
        "sources.yaml": schema.SOURCES,
        "lexicon.yaml": schema.LEXICON,
        "questions.yaml": schema.QUESTIONS,
        "understanding.yaml": schema.UNDERSTANDING,
    }
    validators = {id(sh): Draft202012Validator(sh) for sh in (*shapes.values(), schema.FRAMEWORK)}
    problems: list[Problem] = []
    docs: dict[str, Any] = {}
    fw_docs: dict[str, Any] = {}
    for rel, raw in blobs.items():
        shape = shapes.get(rel, schema.FRAMEWORK)
        doc = _parse(rel, raw, yaml, loader, validators[id(shape)], problems)
        (docs if rel in shapes else fw_docs)[rel] = doc
    if not problems:
        _cross_check(docs, fw_docs, problems)
    if problems:
        raise KnowledgeError(problems)
    return _build(docs, fw_docs, version)


def _parse(
    rel: str, raw: bytes, yaml: Any, loader: Any, validator: Any, problems: list[Problem]
) -> Any:
    try:
        doc = yaml.load(raw, Loader=loader)  # noqa: S506 - CSafeLoader/SafeLoader only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot parse"
        problems.append(Problem(rel, "", f"YAML syntax error{where}: {problem}"))
        return None
    found = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    for err in found:
        problems.append(Problem(rel, _path(err.absolute_path), _message(err)))
    return None if found else doc


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Any) -> str:
    if err.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)' (?:was|were) unexpected", err.message)
        names = extra or re.findall(r"'([^']+)'", err.message)
        return f"unknown key(s): {', '.join(names)}"
    if err.validator == "required":
        return f"missing field: {err.message.split(' is a required')[0].strip(chr(39))}"
    return str(err.message)


def _norm(name: str) -> str:
    return " ".join(name.lower().split())


def _cross_check(docs: dict[str, Any], fw_docs: dict[str, Any], problems: list[Problem]) -> None:
    source_ids = {s["id"] for s in docs["sources.yaml"]["sources"]}
    trait_ids = {t["id"] for t in docs["lexicon.yaml"]["traits"]}

    def check_sources(rel: str, node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                sub = f"{path}.{key}" if path else key
                if key in ("sources", "evidence") and isinstance(value, list):
                    for i, sid in enumerate(value):
                        if sid not in source_ids:
                            problems.append(
                                Problem(rel, f"{sub}[{i}]", f"unknown source id {sid!r}")
                            )
                else:
                    check_sources(rel, value, sub)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                check_sources(rel, value, f"{path}[{i}]")

    seen_sources: set[str] = set()
    for i, src in enumerate(docs["sources.yaml"]["sources"]):
        if src["id"] in seen_sources:
            problems.append(
                Problem("sources.yaml", f"sources[{i}].id", f"duplicate id {src['id']!r}")
            )
        seen_sources.add(src["id"])

    names: dict[str, str] = {}
    for rel, doc in fw_docs.items():
        stem = rel.removeprefix("frameworks/").removesuffix(".yaml")
        if doc["id"] != stem:
            problems.append(
                Problem(rel, "id", f"id {doc['id']!r} must match the file name {stem!r}")
            )
        check_sources(rel, doc, "")
        for path, name in [("name", doc["name"]), ("id", doc["id"])] + [
            (f"aliases[{i}]", a) for i, a in enumerate(doc["aliases"])
        ]:
            key = _norm(name)
            owner = names.get(key)
            if owner is not None and owner != doc["id"]:
                problems.append(
                    Problem(rel, path, f"name or alias {name!r} is already used by {owner!r}")
                )
            names[key] = doc["id"]
        if doc["entry"] == "full":
            from bot.schema import FULL_ENTRY_KEYS

            for key in FULL_ENTRY_KEYS:
                if key not in doc:
                    problems.append(Problem(rel, key, "missing field (required for entry: full)"))
        for tid in sorted(set(doc.get("traits", {})) - trait_ids):
            problems.append(
                Problem(rel, f"traits.{tid}", f"unknown trait {tid!r} (see lexicon.yaml)")
            )

    lex = docs["lexicon.yaml"]
    check_sources("lexicon.yaml", lex, "")
    for i, sig in enumerate(lex.get("signals", [])):
        for tid in sig["weights"]:
            if tid not in trait_ids:
                problems.append(
                    Problem("lexicon.yaml", f"signals[{i}].weights.{tid}", f"unknown trait {tid!r}")
                )
    for i, nc in enumerate(lex.get("not_covered", [])):
        for name in [nc["name"], *nc.get("aliases", [])]:
            if _norm(name) in names:
                problems.append(
                    Problem(
                        "lexicon.yaml",
                        f"not_covered[{i}]",
                        f"{name!r} is a covered framework ({names[_norm(name)]!r})",
                    )
                )

    qs = docs["questions.yaml"]
    check_sources("questions.yaml", qs, "")
    q_ids: set[str] = set()
    for qi, q in enumerate(qs["questions"]):
        if q["id"] in q_ids:
            problems.append(
                Problem("questions.yaml", f"questions[{qi}].id", f"duplicate id {q['id']!r}")
            )
        q_ids.add(q["id"])
        o_ids: set[str] = set()
        for oi, opt in enumerate(q["options"]):
            where = f"questions[{qi}].options[{oi}]"
            if opt["id"] in o_ids:
                problems.append(
                    Problem("questions.yaml", f"{where}.id", f"duplicate id {opt['id']!r}")
                )
            o_ids.add(opt["id"])
            for tid in opt["weights"]:
                if tid not in trait_ids:
                    problems.append(
                        Problem(
                            "questions.yaml", f"{where}.weights.{tid}", f"unknown trait {tid!r}"
                        )
                    )
    _check_cues(docs["understanding.yaml"], trait_ids, fw_docs, problems)


def _check_cues(
    u: Mapping[str, Any], trait_ids: set[str], fw_docs: Mapping[str, Any], problems: list[Problem]
) -> None:
    """understanding.yaml names only known traits and framework ids."""
    rel = "understanding.yaml"
    fw_ids = {d["id"] for d in fw_docs.values()}
    for i, c in enumerate(u["criteria"]):
        for tid in c["traits"]:
            if tid not in trait_ids:
                problems.append(Problem(rel, f"criteria[{i}].traits", f"unknown trait {tid!r}"))
    for i, sel in enumerate(u["attributes"]["selectors"]):
        if sel["field"] == "trait" and sel["value"] not in trait_ids:
            problems.append(
                Problem(rel, f"attributes.selectors[{i}].value", f"unknown trait {sel['value']!r}")
            )
    for fid in u["homonyms"]["words"]:
        if fid not in fw_ids:
            problems.append(Problem(rel, f"homonyms.words.{fid}", f"unknown framework {fid!r}"))


def _claim(d: Mapping[str, Any]) -> Claim:
    return Claim(d["text"], tuple(d["sources"]), tuple(d.get("topics", ())))


def _claims(items: Iterable[Mapping[str, Any]] | None) -> tuple[Claim, ...]:
    return tuple(_claim(d) for d in items or ())


def _labelled(d: Mapping[str, Any], key: str = "value") -> Labelled:
    return Labelled(str(d[key]), tuple(d["sources"]), d.get("text", ""))


def _when(as_of: str, sources: Iterable[str], dated: Mapping[str, str]) -> str:
    """How a figure's date reads (see :class:`Figure`); ``dated``: source id -> "updated
    2023-10-02" for the sources that carry a date of their own."""
    if as_of != "undated":
        return f"as of {as_of}"
    known = [dated[s] for s in sources if s in dated]
    return f"undated (article {known[0]})" if known else "undated"


def _framework(rel: str, d: Mapping[str, Any], dated: Mapping[str, str]) -> Framework:
    hw = d.get("hello_world")
    return Framework(
        id=d["id"],
        name=d["name"],
        entry=d["entry"],
        aliases=tuple(d["aliases"]),
        summary=_claim(d["summary"]),
        categories=tuple(_labelled(c) for c in d["categories"]),
        facts=_claims(d["facts"]),
        file=rel,
        interface=tuple(_labelled(i) for i in d.get("interface", ())),
        async_support=_labelled(d["async_support"], "level") if "async_support" in d else None,
        builtins={
            k: Builtin(v["included"], v["text"], tuple(v["sources"]))
            for k, v in d["builtins"].items()
        }
        if "builtins" in d
        else None,
        companions=tuple(
            Labelled(c["name"], tuple(c["sources"]), c["role"]) for c in d.get("companions", ())
        ),
        history=_claims(d.get("history")),
        notable_users=tuple(_labelled(u, "name") for u in d.get("notable_users", ())),
        community=tuple(
            Figure(
                c["metric"],
                c["value"],
                c["as_of"],
                tuple(c["sources"]),
                c.get("note", ""),
                _when(c["as_of"], c["sources"], dated),
            )
            for c in d.get("community", ())
        ),
        bootstrap=Claim(
            f"{d['bootstrap']['command']}: {d['bootstrap']['text']}",
            tuple(d["bootstrap"]["sources"]),
        )
        if "bootstrap" in d
        else None,
        strengths=_claims(d.get("strengths")),
        weaknesses=_claims(d.get("weaknesses")),
        best_for=_claims(d.get("best_for")),
        avoid_when=_claims(d.get("avoid_when")),
        hello_world=HelloWorld(hw["code"], hw["run"], tuple(hw["sources"])) if hw else None,
        disagreements=tuple(
            Claim(f"{x['topic']}: {x['text']}", tuple(x["sources"]))
            for x in d.get("disagreements", ())
        ),
        traits={
            k: TraitScore(v["score"], v["why"], tuple(v["sources"])) for k, v in d["traits"].items()
        }
        if "traits" in d
        else None,
        errors=tuple(
            KnownError(
                e["topic"],
                e["says"],
                tuple(e["sources"]),
                e["correction"],
                tuple(e["evidence"]),
                tuple(e.get("topics", ())),
            )
            for e in d.get("errors", ())
        ),
    )


def _build(docs: dict[str, Any], fw_docs: dict[str, Any], version: str) -> KnowledgeBase:
    lex, qs = docs["lexicon.yaml"], docs["questions.yaml"]
    dated = {
        s["id"]: f"{s.get('date_kind', 'published')} {s['date']}"
        for s in docs["sources.yaml"]["sources"]
        if s.get("date", "undated") != "undated"
    }
    frameworks = {d["id"]: _framework(rel, d, dated) for rel, d in fw_docs.items()}
    return KnowledgeBase(
        frameworks=dict(sorted(frameworks.items())),
        sources={s["id"]: Source(**s) for s in docs["sources.yaml"]["sources"]},
        questions=tuple(
            Question(
                q["id"],
                q["prompt"],
                q["short"],
                q["why"],
                tuple(q.get("aliases", ())),
                tuple(
                    Option(
                        o["id"],
                        o["label"],
                        tuple(o["terms"]),
                        tuple(o.get("replies", ())),
                        dict(o["weights"]),
                        _claim(o["because"]) if "because" in o else None,
                        tuple(o.get("means", ())),
                        o.get("people_max"),
                    )
                    for o in q["options"]
                ),
            )
            for q in qs["questions"]
        ),
        traits={t["id"]: t["label"] for t in lex["traits"]},
        signals=tuple(
            Signal(s["id"], s["label"], tuple(s["terms"]), dict(s["weights"]))
            for s in lex.get("signals", ())
        ),
        not_covered=tuple(
            NotCovered(n["name"], n["language"], tuple(n.get("aliases", ())))
            for n in lex.get("not_covered", ())
        ),
        synonyms={k: tuple(v) for k, v in lex.get("synonyms", {}).items()},
        version=version,
        cues=_cues(docs["understanding.yaml"]),
        category_definitions={
            c["id"]: _claims(c["definitions"]) for c in lex.get("categories", ())
        },
    )


def _cues(d: Mapping[str, Any]) -> Cues:
    roles, neg, hom, attrs, figs = (
        d["roles"],
        d["negation"],
        d["homonyms"],
        d["attributes"],
        d["figures"],
    )
    return Cues(
        role_window=roles["window"],
        roles={
            "excluded.before": tuple(roles["excluded"]["before"]),
            "excluded.after": tuple(roles["excluded"]["after"]),
            "reference.before": tuple(roles["reference"]["before"]),
            "reference.after": tuple(roles["reference"]["after"]),
            "verb_guard": tuple(roles["verb_guard"]),
        },
        negation_window=neg["window"],
        negation={k: tuple(neg[k]) for k in ("before", "after", "pseudo", "terminate")},
        homonym_window=hom["window"],
        determiners=tuple(hom["determiners"]),
        tech=tuple(hom["tech"]),
        homonyms={k: tuple(v) for k, v in hom["words"].items()},
        criteria=tuple(
            Criterion(
                c["id"], c["label"], tuple(c["terms"]), tuple(c["traits"]), tuple(c["topics"])
            )
            for c in d["criteria"]
        ),
        selectors=tuple(
            Selector(s["id"], s["label"], s["field"], s["value"], tuple(s["terms"]))
            for s in attrs["selectors"]
        ),
        list_all_words=tuple(attrs["all"]),
        union=tuple(attrs["union"]),
        rank_cues=tuple(figs["rank_cues"]),
        least_cues=tuple(figs["least_cues"]),
        metrics={k: tuple(v) for k, v in figs["metrics"].items()},
        languages={k: tuple(v) for k, v in d["languages"].items()},
        list_all=tuple(d["list_all"]),
        intents={k: tuple(v) for k, v in d["intents"].items()},
        python_context=tuple(d["python_context"]),
        language_context=tuple(d["language_context"]),
        language_context_before=tuple(d["language_context_before"]),
        dialogue={
            **{act: tuple(v) for act, v in d["dialogue"]["acts"].items()},
            **{
                k: tuple(d["dialogue"][k])
                for k in ("filler", "hedges", "change", "correction", "people")
            },
        },
        commands={k: tuple(v) for k, v in d["dialogue"]["commands"].items()},
    )
