"""The one exception tree of the core.

::

    AdvisorError                 base of everything the core raises on purpose
    ├── ConfigError              a setting is missing, malformed or contradicts another (exit 2)
    ├── KnowledgeError           the knowledge base failed validation (exit 2); holds every Problem
    ├── PlatformUnreachable      Slack or Discord cannot be reached at start-up (exit 3)
    └── StoreError               a session store failed
        └── StoreUnavailable     the store cannot be reached right now (retry later)

Messages are written for operators. Adapters never echo them into chat: users get a
friendly sentence and an incident id instead.
"""

from __future__ import annotations

from dataclasses import dataclass


class AdvisorError(Exception):
    """Base class of every deliberate error raised by the core."""


class ConfigError(AdvisorError):
    """A configuration variable is missing, malformed or contradicts another.

    The message names the variable, e.g. ``ADVISOR_SESSION_TTL: expected seconds, got 'x'``.
    """


class PlatformUnreachable(AdvisorError):
    """A platform cannot be reached at start-up (no network, no DNS, a refused gateway). The
    message is one line naming the URL and the reason; ``advisor`` exits 3. Retrying later may
    help; changing the configuration does not."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem: the file, the key path inside it and what is wrong.

    ``path`` is dotted with list indexes, e.g. ``community[1].as_of``; empty for the whole file.
    """

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class KnowledgeError(AdvisorError):
    """The knowledge directory is invalid. ``problems`` lists every problem found, in order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"knowledge base is invalid ({len(self.problems)} problem(s)):\n{lines}")


class StoreError(AdvisorError):
    """A session store operation failed."""


class StoreUnavailable(StoreError):
    """The session store cannot be reached now; answer politely and retry later."""
