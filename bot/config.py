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


def _shipped_knowledge_dir() -> Path:
    """The folder of the knowledge shipped with the package. pyproject.toml maps the package
    ``bot.knowledge_data`` onto the repository's top-level ``knowledge/``, so a wheel installs
    it as ``bot/knowledge_data/`` and an editable install (or a plain source tree) has it as
    ``<repo>/knowledge``. Those two folders are looked at first, as plain paths: they are
    what ``importlib.resources.files("bot.knowledge_data")`` returns there, and importing
    ``importlib.resources`` would cost ``advisor ask`` about 10 ms. Any other layout asks
    ``importlib.resources``. Never raises."""
    here = Path(__file__).resolve().parent
    for folder in (here / "knowledge_data", here.parent / "knowledge"):
        if (folder / "sources.yaml").is_file():
            return folder
    from importlib import resources

    try:
        found: object = resources.files("bot.knowledge_data")
    except ModuleNotFoundError:
        found = None
    return found if isinstance(found, Path) else here.parent / "knowledge"


#: The knowledge shipped with the package (see :func:`_shipped_knowledge_dir`);
#: ``ADVISOR_KNOWLEDGE_DIR`` overrides it.
DEFAULT_KNOWLEDGE_DIR = _shipped_knowledge_dir()

#: Default session time-to-live, in seconds (24 hours).
DEFAULT_SESSION_TTL = 24 * 60 * 60
#: Longest session time-to-live accepted, in seconds (365 days): every store, Redis included,
#: can hold an expiry that far ahead, plus the grace period.
MAX_SESSION_TTL = 365 * 24 * 60 * 60
STORE_KINDS = ("sqlite", "memory", "redis")
#: Where HTTP mode listens by default: every interface, port 3000 (bolt's default port).
DEFAULT_HTTP_HOST = "0.0.0.0"
DEFAULT_HTTP_PORT = 3000
#: Where the operations endpoints (/healthz, /readyz, /metrics) listen by default.
DEFAULT_OPS_HOST = "0.0.0.0"
DEFAULT_OPS_PORT = 8080
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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


def _shown(text: str) -> str:
    """``text`` for an error message: quoted, and cut when long (a value may be huge)."""
    return repr(text) if len(text) <= 60 else f"{text[:40]!r}… ({len(text):,} characters)"


def _whole(text: str, low: int, high: int) -> int | None:
    """``text`` as a whole number from ``low`` to ``high``, or None. Digits are counted before
    ``int()`` is called, so a value of thousands of digits never reaches Python's
    integer-string limit."""
    if not (text.isascii() and text.isdecimal()) or len(text) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    port = _whole(text, 0, 65535)
    if port is None:
        raise ConfigError(f"{name}: expected a port number from 0 to 65535, got {_shown(text)}")
    return port


def _redis_url(text: str) -> str:
    """Check ``ADVISOR_REDIS_URL`` the way redis-py will read it, but strictly: redis-py
    silently uses database 0 for a path such as ``/abc``.

    Raises:
        ConfigError: naming the variable; the password is never shown.
    """
    from urllib.parse import parse_qsl, urlsplit

    name = "ADVISOR_REDIS_URL"
    shown = _shown(text.split("@")[-1])
    if not text.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{name}: expected a redis://, rediss:// or unix:// URL, got {shown}")
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(f"{name}: the port is not a number in {shown}") from None
    databases = [v for k, v in parse_qsl(parts.query) if k == "db"]
    if parts.scheme != "unix" and parts.path.strip("/"):
        databases.append(parts.path.strip("/"))
    for db in databases:
        if _whole(db, 0, 1 << 31) is None:
            raise ConfigError(
                f"{name}: the database must be a number (redis://host:6379/0), got {_shown(db)}"
            )
    return text


#: Most Discord shards accepted in ``ADVISOR_DISCORD_SHARDS``.
MAX_SHARDS = 10_000
#: Largest Discord id (a snowflake is an unsigned 64-bit number).
MAX_SNOWFLAKE = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """Which Discord shards this process runs (``ADVISOR_DISCORD_SHARDS``).

    Attributes:
        count: total shards across all processes, or None for Discord's recommended count.
        ids: the shard ids this process runs, or None for all of them.
    """

    count: int | None = None
    ids: tuple[int, ...] | None = None


def _shards(text: str) -> ShardPlan | None:
    """Parse ``""`` (no sharding), ``auto``, ``N`` or ``N:A-B`` / ``N:A,B,C``."""
    name = "ADVISOR_DISCORD_SHARDS"
    text = text.strip().lower()
    if not text:
        return None
    if text == "auto":
        return ShardPlan()
    count_text, _, ids_text = text.partition(":")
    count = _whole(count_text, 1, MAX_SHARDS)
    if count is None:
        raise ConfigError(
            f"{name}: expected auto, N or N:A-B (e.g. 4:0-1) with N up to {MAX_SHARDS}, got "
            f"{_shown(text)}"
        )
    if not ids_text:
        return ShardPlan(count=count)
    ids: list[int] = []
    for part in ids_text.split(","):
        low_text, dash, high_text = part.strip().partition("-")
        low = _whole(low_text, 0, count - 1)
        high = _whole(high_text, 0, count - 1) if dash else low
        if low is None or high is None:
            raise ConfigError(
                f"{name}: expected shard ids like 0-1 or 0,2, below the shard count {count}, "
                f"got {_shown(ids_text)}"
            )
        ids += range(low, high + 1)
    if not ids or max(ids) >= count or len(set(ids)) != len(ids):
        raise ConfigError(
            f"{name}: shard ids must be distinct and below the shard count {count}, got "
            f"{ids_text!r}"
        )
    return ShardPlan(count=count, ids=tuple(ids))


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
        store: ``"sqlite"`` (default), ``"memory"`` or ``"redis"`` (the default when
            ``ADVISOR_REDIS_URL`` is set).
        redis_url: ``ADVISOR_REDIS_URL``; when set, sessions and Slack retry de-duplication
            are shared through Redis. "" when unset.
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
        discord_shards: ``ADVISOR_DISCORD_SHARDS`` parsed; None runs one plain connection.
        ops_host, ops_port: where /healthz, /readyz and /metrics listen (``ADVISOR_OPS_HOST``,
            ``ADVISOR_OPS_PORT``); ``ops_port`` None when set to ``off``.
        log_format: ``text`` or ``json`` (``ADVISOR_LOG_FORMAT``).
        log_level: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR`` (``ADVISOR_LOG_LEVEL``).
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
    redis_url: str = ""
    discord_shards: ShardPlan | None = None
    ops_host: str = DEFAULT_OPS_HOST
    ops_port: int | None = DEFAULT_OPS_PORT
    log_format: str = "text"
    log_level: str = "INFO"

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

        redis_url = env.get("ADVISOR_REDIS_URL", "").strip()
        if redis_url:
            _redis_url(redis_url)
        default_store = "redis" if redis_url else "sqlite"
        store = env.get("ADVISOR_STORE", "").strip().lower() or default_store
        if store not in STORE_KINDS:
            raise ConfigError(
                f"ADVISOR_STORE: expected one of {', '.join(STORE_KINDS)}, got {store!r}"
            )
        if store == "redis" and not redis_url:
            raise ConfigError("ADVISOR_REDIS_URL: not set; ADVISOR_STORE=redis needs it")
        log_format = env.get("ADVISOR_LOG_FORMAT", "").strip().lower() or "text"
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"ADVISOR_LOG_FORMAT: expected text or json, got {log_format!r}")
        log_level = env.get("ADVISOR_LOG_LEVEL", "").strip().upper() or "INFO"
        if log_level not in LOG_LEVELS:
            raise ConfigError(
                f"ADVISOR_LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}"
            )
        ops_off = env.get("ADVISOR_OPS_PORT", "").strip().lower() == "off"
        ttl_text = env.get("ADVISOR_SESSION_TTL", "").strip()
        ttl = DEFAULT_SESSION_TTL
        if ttl_text:
            checked = _whole(ttl_text, 1, MAX_SESSION_TTL)
            if checked is None:
                raise ConfigError(
                    "ADVISOR_SESSION_TTL: expected a whole number of seconds from 1 to "
                    f"{MAX_SESSION_TTL} (365 days), got {_shown(ttl_text)}"
                )
            ttl = checked
        api_url = env.get("SLACK_API_URL", "").strip()
        if api_url and not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"SLACK_API_URL: expected an http(s) URL, got {api_url!r}")
        if api_url and not api_url.endswith("/"):
            api_url += "/"
        guild = env.get("DISCORD_GUILD_ID", "").strip()
        guild_id = _whole(guild, 0, MAX_SNOWFLAKE) if guild else None
        if guild and guild_id is None:
            raise ConfigError(f"DISCORD_GUILD_ID: expected a numeric guild id, got {_shown(guild)}")
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
            discord_guild_id=guild_id,
            discord_message_content=flag in ("1", "true", "yes"),
            discord_api_base=discord_urls["ADVISOR_DISCORD_API_BASE"].rstrip("/"),
            discord_gateway=discord_urls["ADVISOR_DISCORD_GATEWAY"],
            redis_url=redis_url,
            discord_shards=_shards(env.get("ADVISOR_DISCORD_SHARDS", "")),
            ops_host=env.get("ADVISOR_OPS_HOST", "").strip() or DEFAULT_OPS_HOST,
            ops_port=None if ops_off else _port(env, "ADVISOR_OPS_PORT", DEFAULT_OPS_PORT),
            log_format=log_format,
            log_level=log_level,
        )

    def resolved_db_path(self) -> Path:
        """The SQLite path to use: ``db_path`` or the per-user state directory default."""
        return self.db_path if self.db_path is not None else _default_db_path()
