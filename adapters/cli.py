"""The ``advisor`` command and composition root.

Subcommands: ``ask [--json] TEXT``, ``chat``, ``serve``, ``slack``, ``discord``,
``check-knowledge [DIR]``; ``--version`` prints ``advisor VERSION``. With no subcommand it runs
``serve`` when ``SLACK_BOT_TOKEN`` or ``DISCORD_TOKEN`` is set (every configured platform), else
the console chat. Platform adapters are imported lazily, so the console path never imports
slack_bolt, discord or aiohttp.

Exit codes: 0 OK, 2 bad knowledge or configuration (the message says what and where),
3 a platform cannot be reached at start-up, 1 unexpected error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.errors import ConfigError, KnowledgeError, PlatformUnreachable

EXIT_OK, EXIT_ERROR, EXIT_CONFIG, EXIT_UNREACHABLE = 0, 1, 2, 3
_log = logging.getLogger("advisor")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="advisor", description="Choose a Python web framework, with sources."
    )
    p.add_argument("--version", action="store_true", help="print `advisor VERSION` and exit")
    sub = p.add_subparsers(dest="command")
    ask = sub.add_parser("ask", help="answer one question and exit")
    ask.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: intent, frameworks, text, sources",
    )
    ask.add_argument("text", nargs="+", help="the question, e.g. 'flask vs pyramid'")
    sub.add_parser("chat", help="talk in the terminal (reads lines from stdin when piped)")
    sub.add_parser(
        "serve",
        help="run every platform whose token is set (Slack, Discord) plus /healthz, /readyz "
        "and /metrics; stops cleanly on SIGTERM",
    )
    sub.add_parser(
        "slack",
        help="run the Slack app (Socket Mode with SLACK_APP_TOKEN, else HTTP mode)",
    )
    sub.add_parser("discord", help="run the Discord bot (needs DISCORD_TOKEN)")
    check = sub.add_parser(
        "check-knowledge",
        help="validate a knowledge directory and check its citations against the articles",
    )
    check.add_argument("directory", nargs="?", help="default: the shipped knowledge/")
    check.add_argument(
        "--seeds",
        help="folder of the seed articles (default: $ADVISOR_SEEDS_DIR, else ../shared/seeds "
        "beside the project); the citation check is skipped when it is missing",
    )
    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    if args.version:
        print(f"advisor {_version()}", file=out)
        return EXIT_OK
    platforms: tuple[str, ...] = ()
    if args.command in ("slack", "discord"):
        platforms = (args.command,)
    elif args.command == "serve" or (args.command is None and _tokens_set()):
        platforms = ("slack", "discord")
    try:
        settings = Settings.from_env()
        from bot import logs

        logs.configure(settings.log_format, settings.log_level if platforms else "WARNING", err)
        if args.command == "check-knowledge":
            directory = Path(args.directory) if args.directory else settings.knowledge_dir
            return _check(directory, _seeds_dir(args.seeds, directory), out)
        from bot.knowledge import load

        kb = load(settings.knowledge_dir, cache_dir=settings.cache_dir)
        if args.command == "ask":
            return _ask(kb, " ".join(args.text), as_json=args.json, out=out, settings=settings)
        if platforms:
            import asyncio

            from adapters.serve import run

            asyncio.run(run(settings, kb, platforms))
            return EXIT_OK
        from adapters.console import run_chat

        return run_chat(kb, settings, stdin or sys.stdin, out)
    except KnowledgeError as exc:
        print(f"advisor: {exc}", file=err)
        return EXIT_CONFIG
    except ConfigError as exc:
        print(f"advisor: configuration error: {exc}", file=err)
        return EXIT_CONFIG
    except PlatformUnreachable as exc:
        print(f"advisor: {exc}", file=err)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception:
        _log.exception("unexpected error")
        return EXIT_ERROR


def _version() -> str:
    """This install's version (``importlib.metadata``), else the ``project.version`` of the
    pyproject.toml beside the package (a source tree that is not installed), else "unknown"."""
    from importlib import metadata

    try:
        return metadata.version("framework-advisor")
    except metadata.PackageNotFoundError:
        pass
    import tomllib

    try:
        with (Path(__file__).resolve().parent.parent / "pyproject.toml").open("rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _tokens_set() -> bool:
    """True when ``SLACK_BOT_TOKEN`` or ``DISCORD_TOKEN`` is set: bare ``advisor`` then runs
    ``serve`` instead of the console."""
    import os

    return any(os.environ.get(n, "").strip() for n in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN"))


def _seeds_dir(given: str | None, knowledge_dir: Path) -> Path:
    """``--seeds``, else ``ADVISOR_SEEDS_DIR``, else ``shared/seeds`` beside the project."""
    import os

    if given:
        return Path(given)
    env = os.environ.get("ADVISOR_SEEDS_DIR", "").strip()
    if env:
        return Path(env)
    return knowledge_dir.resolve().parent.parent / "shared" / "seeds"


def _check(directory: Path, seeds: Path, out: TextIO) -> int:
    """Validate ``directory`` (raises KnowledgeError), then check its citations against the
    seed articles in ``seeds``; prints every finding and one count per kind. Exit 2 when any."""
    from bot.audit import KINDS, audit
    from bot.knowledge import load

    kb = load(directory)
    full = len(kb.full_frameworks())
    print(
        f"OK: {directory}: {len(kb.frameworks)} frameworks ({full} full, "
        f"{len(kb.frameworks) - full} short), {len(kb.questions)} questions, "
        f"{len(kb.sources)} sources; version {kb.version}",
        file=out,
    )
    if not seeds.is_dir():
        print(f"citations: not checked; no seed articles at {seeds} (use --seeds DIR)", file=out)
        return EXIT_OK
    report = audit(directory, seeds)
    for finding in report.findings:
        print(f"  - {finding}", file=out)
    for sid in report.missing:
        print(f"citations: the copy of {sid} is missing from {seeds}; not checked", file=out)
    counts = ", ".join(f"{report.count(k)} {text}" for k, text in KINDS.items())
    print(f"citations against {len(report.articles)} articles in {seeds}: {counts}", file=out)
    return EXIT_CONFIG if report.findings else EXIT_OK


def _ask(kb: object, text: str, *, as_json: bool, out: TextIO, settings: Settings) -> int:
    from bot.engine import Engine
    from bot.knowledge import KnowledgeBase
    from bot.matching import load_matcher
    from bot.replies import render_text

    assert isinstance(kb, KnowledgeBase)
    replies = Engine(kb, matcher=load_matcher(kb, settings.cache_dir)).answer_once(text)
    body = "\n\n".join(render_text(r) for r in replies)
    if as_json:
        import json

        first = replies[0]
        sources = list(dict.fromkeys(s.id for r in replies for s in r.sources))
        frameworks = list(dict.fromkeys(f for r in replies for f in r.frameworks))
        json.dump(
            {"intent": first.intent, "frameworks": frameworks, "text": body, "sources": sources},
            out,
            ensure_ascii=False,
        )
        out.write("\n")
    else:
        out.write(body + "\n")
    return EXIT_OK


def entry() -> None:
    """The ``advisor`` console script: :func:`main`, then exit with its code. For ``ask``, a
    one-shot process, the garbage collector is paused from the start (it would otherwise scan
    the whole heap many times while modules and the cached knowledge load) and the heap is
    frozen before exit, so interpreter shutdown does not scan it either. Other commands run
    long and keep the collector as it is."""
    import gc

    one_shot = sys.argv[1:2] == ["ask"]
    if one_shot:
        gc.disable()
    code = main()
    if one_shot:
        gc.freeze()
    raise SystemExit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
