"""Settings read once from a mapping of environment variables.

Every variable is documented in README.md and deploy/.env.example. Tokens are wrapped in
:class:`Secret` so that ``repr(settings)`` and log lines never show them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ConfigError

#: The knowledge shipped with the source tree (``<repo>/knowledge``).
DEFAULT_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
#: Default session time-to-live, in seconds (24 hours).
DEFAULT_SESSION_TTL = 24 * 60 * 60
STORE_KINDS = ("sqlite", "memory")
#: Where HTTP mode listens by default: every interface, port 3000 (bolt's default port).
DEFAULT_HTTP_HOST = "0.0.0.0"
DEFAULT_HTTP_PORT = 3000


@dataclass(frozen=True, slots=True)
class Secret:
    """A token or password; ``str()`` and ``repr()`` mask it, ``reveal()`` returns it."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """Return the secret itself; call only where a library needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdecimal() or not 0 <= int(text) <= 65535:
        raise ConfigError(f"{name}: expected a port number from 0 to 65535, got {text!r}")
    return int(text)


def _default_db_path() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("framework-advisor")) / "sessions.sqlite3"


def _default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("framework-advisor"))


@dataclass(frozen=True, slots=True)
class Settings:
    """Runtime configuration.

    Attributes:
        knowledge_dir: folder with ``frameworks/*.yaml``, ``questions.yaml``, ``sources.yaml``.
        store: ``"sqlite"`` (default) or ``"memory"``.
        db_path: SQLite file for sessions (``ADVISOR_DB``; default in the user state dir).
        session_ttl: seconds a conversation lives after its last turn (``ADVISOR_SESSION_TTL``).
        cache_dir: where the validated knowledge is cached (``ADVISOR_CACHE_DIR``; ``off``
            disables it; default in the user cache dir).
        slack_bot_token, slack_app_token, slack_signing_secret, discord_token: platform secrets;
            ``None`` when unset.
        slack_api_url: base URL of Slack's Web API (``SLACK_API_URL``), "" for the real one;
            always ends with "/" when set.
        http_host, http_port: where HTTP mode listens (``ADVISOR_HTTP_HOST``,
            ``ADVISOR_HTTP_PORT``).
        discord_guild_id: sync app commands to this guild only (``DISCORD_GUILD_ID``), or None
            for global commands.
        discord_message_content: read free-text answers in flow threads; needs the privileged
            intent (``ADVISOR_DISCORD_MESSAGE_CONTENT=1``).
        discord_api_base, discord_gateway: overrides of Discord's REST base and gateway URL
            (``ADVISOR_DISCORD_API_BASE``, ``ADVISOR_DISCORD_GATEWAY``), "" for the real ones.
    """

    knowledge_dir: Path = DEFAULT_KNOWLEDGE_DIR
    store: str = "sqlite"
    db_path: Path | None = None
    session_ttl: int = DEFAULT_SESSION_TTL
    cache_dir: Path | None = None
    slack_bot_token: Secret | None = None
    slack_app_token: Secret | None = None
    slack_signing_secret: Secret | None = None
    discord_token: Secret | None = None
    slack_api_url: str = ""
    http_host: str = DEFAULT_HTTP_HOST
    http_port: int = DEFAULT_HTTP_PORT
    discord_guild_id: int | None = None
    discord_message_content: bool = False
    discord_api_base: str = ""
    discord_gateway: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``).

        Raises:
            ConfigError: naming the variable, when a value is malformed.
        """
        env = os.environ if env is None else env

        def secret(name: str) -> Secret | None:
            value = env.get(name, "").strip()
            return Secret(value) if value else None

        store = env.get("ADVISOR_STORE", "sqlite").strip().lower() or "sqlite"
        if store not in STORE_KINDS:
            raise ConfigError(
                f"ADVISOR_STORE: expected one of {', '.join(STORE_KINDS)}, got {store!r}"
            )
        ttl_text = env.get("ADVISOR_SESSION_TTL", "").strip()
        ttl = DEFAULT_SESSION_TTL
        if ttl_text:
            try:
                ttl = int(ttl_text)
            except ValueError:
                raise ConfigError(
                    f"ADVISOR_SESSION_TTL: expected a whole number of seconds, got {ttl_text!r}"
                ) from None
            if ttl <= 0:
                raise ConfigError(f"ADVISOR_SESSION_TTL: must be more than 0 seconds, got {ttl}")
        api_url = env.get("SLACK_API_URL", "").strip()
        if api_url and not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"SLACK_API_URL: expected an http(s) URL, got {api_url!r}")
        if api_url and not api_url.endswith("/"):
            api_url += "/"
        guild = env.get("DISCORD_GUILD_ID", "").strip()
        if guild and not guild.isdecimal():
            raise ConfigError(f"DISCORD_GUILD_ID: expected a numeric guild id, got {guild!r}")
        flag = env.get("ADVISOR_DISCORD_MESSAGE_CONTENT", "").strip().lower()
        if flag not in ("", "0", "1", "true", "false", "yes", "no"):
            raise ConfigError(f"ADVISOR_DISCORD_MESSAGE_CONTENT: expected 1 or 0, got {flag!r}")
        discord_urls = {
            name: env.get(name, "").strip()
            for name in ("ADVISOR_DISCORD_API_BASE", "ADVISOR_DISCORD_GATEWAY")
        }
        for name, url in discord_urls.items():
            schemes = ("ws://", "wss://") if name.endswith("GATEWAY") else ("http://", "https://")
            if url and not url.startswith(schemes):
                raise ConfigError(
                    f"{name}: expected a {schemes[0]} or {schemes[1]} URL, got {url!r}"
                )
        knowledge = env.get("ADVISOR_KNOWLEDGE_DIR", "").strip()
        db = env.get("ADVISOR_DB", "").strip()
        cache = env.get("ADVISOR_CACHE_DIR", "").strip()
        return cls(
            knowledge_dir=Path(knowledge) if knowledge else DEFAULT_KNOWLEDGE_DIR,
            store=store,
            db_path=Path(db).expanduser() if db else None,
            session_ttl=ttl,
            cache_dir=None
            if cache.lower() == "off"
            else (Path(cache) if cache else _default_cache_dir()),
            slack_bot_token=secret("SLACK_BOT_TOKEN"),
            slack_app_token=secret("SLACK_APP_TOKEN"),
            slack_signing_secret=secret("SLACK_SIGNING_SECRET"),
            discord_token=secret("DISCORD_TOKEN"),
            slack_api_url=api_url,
            http_host=env.get("ADVISOR_HTTP_HOST", "").strip() or DEFAULT_HTTP_HOST,
            http_port=_port(env, "ADVISOR_HTTP_PORT", DEFAULT_HTTP_PORT),
            discord_guild_id=int(guild) if guild else None,
            discord_message_content=flag in ("1", "true", "yes"),
            discord_api_base=discord_urls["ADVISOR_DISCORD_API_BASE"].rstrip("/"),
            discord_gateway=discord_urls["ADVISOR_DISCORD_GATEWAY"],
        )

    def resolved_db_path(self) -> Path:
        """The SQLite path to use: ``db_path`` or the per-user state directory default."""
        return self.db_path if self.db_path is not None else _default_db_path()
