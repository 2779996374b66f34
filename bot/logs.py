"""Logging set-up: plain text or one JSON object a line, with per-request context.

Adapters and the engine :func:`bind` fields (``platform``, ``intent``, ``request_id``,
``incident``) to the current asyncio task's context; every log line written from that task
carries them. Nothing here logs a message's text: at INFO the advisor logs what happened, not
what people typed, and tokens are :class:`~bot.config.Secret` so they never format.

Both formats write times in ISO 8601, in UTC with milliseconds and the offset spelled out
(``2026-11-21T21:16:13.913+00:00``), so lines from hosts in different time zones sort together.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import TextIO

from bot.config import LOG_FORMATS, LOG_LEVELS

#: The context fields, in the order text lines show them.
FIELDS = ("platform", "intent", "request_id", "incident")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"

#: ``time.strftime`` format of a log time, and how the milliseconds and UTC offset follow it
#: (``logging.Formatter.default_time_format`` / ``default_msec_format``).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
MSEC_FORMAT = "%s.%03d+00:00"

_context: ContextVar[dict[str, str]] = ContextVar("advisor_log_context", default={})  # noqa: B039


def bind(**fields: str) -> None:
    """Add ``fields`` to this task's log context (tasks created later inherit it)."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})


def current() -> dict[str, str]:
    """A copy of this task's log context."""
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Copies the bound context onto each record (as attributes), and a ``context`` string for
    the text format (`` [platform=slack intent=compare]`` or "")."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _context.get()
        for name in FIELDS:
            if not hasattr(record, name) and name in bound:
                setattr(record, name, bound[name])
        shown = [f"{n}={getattr(record, n)}" for n in FIELDS if hasattr(record, n)]
        record.context = f" [{' '.join(shown)}]" if shown else ""
        return True


class _IsoTimes(logging.Formatter):
    """A formatter whose ``%(asctime)s`` is ISO 8601 in UTC (see :data:`TIME_FORMAT`)."""

    converter = staticmethod(time.gmtime)
    default_time_format = TIME_FORMAT
    default_msec_format = MSEC_FORMAT


def _json_formatter() -> logging.Formatter:
    """python-json-logger's formatter without the text format's ``context`` helper field.
    Imported here, so text logging (the console, ``advisor ask``) never loads it."""
    from pythonjsonlogger.json import JsonFormatter

    # python-json-logger fills "time" through logging.Formatter.formatTime, which reads the
    # time attributes _IsoTimes sets (they come before logging.Formatter's in the MRO).
    class Json(JsonFormatter, _IsoTimes):
        def add_fields(
            self,
            log_data: dict[str, object],
            record: logging.LogRecord,
            message_dict: dict[str, object],
        ) -> None:
            super().add_fields(log_data, record, message_dict)
            log_data.pop("context", None)

    return Json(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def configure(fmt: str, level: str, stream: TextIO) -> None:
    """Send every logger's records to ``stream`` as ``fmt`` (``text`` or ``json``) at
    ``level``, replacing earlier handlers. Third-party loggers that would log request bodies
    at INFO (slack_bolt logs rejected requests' bodies) are raised to WARNING.

    Raises:
        ValueError: for a format or level not in :data:`LOG_FORMATS` / :data:`LOG_LEVELS`.
    """
    if fmt not in LOG_FORMATS or level not in LOG_LEVELS:
        raise ValueError(f"log format {fmt!r} / level {level!r}")
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    if fmt == "json":
        handler.setFormatter(_json_formatter())
    else:
        handler.setFormatter(_IsoTimes(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("slack_bolt", "slack_sdk", "discord.http", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
