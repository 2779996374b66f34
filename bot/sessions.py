"""Session stores: where conversation state lives between turns, with a time-to-live.

A store maps a :class:`ConversationKey` (as a string) to a JSON-ready dict. An entry past its
TTL is still reported for a grace period, marked ``expired``, so that the engine can say "that
conversation expired" instead of silently starting over; after the grace it is deleted.

- :class:`MemoryStore`: a dict; for tests and throwaway runs.
- :class:`SQLiteStore`: the default; one file, WAL mode, every call run on one worker thread so
  the event loop never blocks on disk. Committed turns survive ``kill -9``.
- :class:`bot.redis_backend.RedisStore`: shared by several replicas (``ADVISOR_REDIS_URL``).

Every record carries a ``version`` that each write increments. A write may name the version it
read (``expect=``); it then succeeds only if nobody wrote in between, which is how two replicas
updating one conversation at once avoid losing an answer (optimistic locking).

Each store also keeps the outbox of replies owed (:class:`bot.outbox.OutboxStore`, design in
:mod:`bot.outbox`) beside the sessions: in SQLite the ``outbox`` table, where a claim is one
``UPDATE … RETURNING`` statement and so atomic across processes sharing the file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.errors import ConfigError, StoreUnavailable

if TYPE_CHECKING:
    from bot.config import Settings

_log = logging.getLogger(__name__)

#: How long an expired entry is still reported as expired before it is deleted, in seconds.
EXPIRED_GRACE = 7 * 24 * 60 * 60
#: SQLite purges expired entries once every this many writes.
PURGE_EVERY = 500
#: The ``channel`` of a per-person profile key; no platform has a channel of that name.
#: Profiles are not conversations, so :meth:`SessionStore.count` leaves them out.
PROFILE_CHANNEL = "*profile*"
#: The columns the SQLite ``sessions`` table must have (``version`` is added when missing).
SESSION_COLUMNS = frozenset({"key", "data", "updated", "expires"})
#: What a profile key's string form contains (between the separators).
PROFILE_MARKER = f"|{PROFILE_CHANNEL}|"


def is_profile(key: str) -> bool:
    """True when ``key`` (a :meth:`ConversationKey.as_string`) names a per-person profile."""
    return PROFILE_MARKER in key


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationKey:
    """Who is talking where; sessions never mix across different keys.

    ``platform`` is console, slack or discord; ``workspace`` a Slack team or Discord guild id;
    ``thread`` a thread ts or id, "" for none; ``user`` the person's id.
    """

    platform: str
    workspace: str = ""
    channel: str = ""
    thread: str = ""
    user: str = ""

    def as_string(self) -> str:
        """A stable, unambiguous string form, used as the store key."""
        parts = (self.platform, self.workspace, self.channel, self.thread, self.user)
        return "|".join(p.replace("\\", "\\\\").replace("|", "\\|") for p in parts)


@dataclass(frozen=True, slots=True)
class Record:
    """A stored session: its ``data``, last write time (epoch seconds), whether it expired,
    and its ``version`` (1 after the first write, +1 after each)."""

    data: dict[str, Any]
    updated: float
    expired: bool
    version: int = 1


@dataclass(slots=True)
class Owed:
    """An outbox entry (:mod:`bot.outbox`): its ``id``, the adapter's JSON ``payload`` (changed
    in place before :meth:`bot.outbox.Outbox.save`), and when it was written (``created``,
    seconds since the epoch)."""

    id: str
    payload: dict[str, Any]
    created: float = 0.0


class SessionStore(Protocol):
    """What the engine needs from a store. All times are seconds since the epoch.

    Every method may raise :class:`~bot.errors.StoreUnavailable` when the backend is down.
    """

    async def get(self, key: str, now: float) -> Record | None:
        """The record for ``key``, or None when there is none (or it is past the grace)."""
        ...

    async def put(
        self,
        key: str,
        data: dict[str, Any],
        now: float,
        ttl: float,
        *,
        expect: int | None = None,
    ) -> bool:
        """Store ``data`` for ``key``, to expire ``ttl`` seconds after ``now``.

        With ``expect`` (a :attr:`Record.version`, or 0 for "no record"), write only when the
        stored version is still that one. Returns True when written, False on such a conflict.
        """
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        ...

    async def ping(self) -> bool:
        """True when the store answers."""
        ...

    async def count(self, now: float) -> int:
        """How many conversations have not expired at ``now`` (profiles are not counted)."""
        ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


class MemoryStore:
    """A dict-backed :class:`SessionStore` (not shared between processes)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float, float, int]] = {}
        # outbox: id -> [kind, payload JSON, created, due, owner]
        self._outbox: dict[str, list[Any]] = {}

    async def get(self, key: str, now: float) -> Record | None:
        """See :meth:`SessionStore.get`."""
        item = self._data.get(key)
        if item is None:
            return None
        raw, updated, expires, version = item
        if now > expires + EXPIRED_GRACE:
            del self._data[key]
            return None
        return Record(json.loads(raw), updated, now > expires, version)

    async def put(
        self,
        key: str,
        data: dict[str, Any],
        now: float,
        ttl: float,
        *,
        expect: int | None = None,
    ) -> bool:
        """See :meth:`SessionStore.put`."""
        item = self._data.get(key)
        current = 0 if item is None or now > item[2] + EXPIRED_GRACE else item[3]
        if expect is not None and expect != current:
            return False
        self._data[key] = (json.dumps(data), now, now + ttl, current + 1)
        return True

    async def count(self, now: float) -> int:
        """See :meth:`SessionStore.count`."""
        return sum(1 for k, v in self._data.items() if v[2] >= now and not is_profile(k))

    async def delete(self, key: str) -> None:
        """See :meth:`SessionStore.delete`."""
        self._data.pop(key, None)

    async def ping(self) -> bool:
        """Always True."""
        return True

    async def outbox_add(self, kind: str, owed: Owed, *, due: float, owner: str) -> None:
        """See :meth:`bot.outbox.OutboxStore.outbox_add`."""
        self._outbox[owed.id] = [kind, json.dumps(owed.payload), owed.created, due, owner]

    async def outbox_save(self, kind: str, owed: Owed, *, owner: str) -> bool:
        """See :meth:`bot.outbox.OutboxStore.outbox_save`."""
        entry = self._outbox.get(owed.id)
        if entry is None or entry[4] != owner:
            return False
        entry[1] = json.dumps(owed.payload)
        return True

    async def outbox_renew(
        self, kind: str, ids: Sequence[str], *, due: float, owner: str
    ) -> list[str]:
        """See :meth:`bot.outbox.OutboxStore.outbox_renew`."""
        kept = [i for i in ids if i in self._outbox and self._outbox[i][4] == owner]
        for i in kept:
            self._outbox[i][3] = due
        return kept

    async def outbox_claim(
        self, kind: str, *, now: float, due: float, owner: str, limit: int
    ) -> list[Owed]:
        """See :meth:`bot.outbox.OutboxStore.outbox_claim`."""
        ready = sorted((e[3], i) for i, e in self._outbox.items() if e[0] == kind and e[3] <= now)
        claimed = []
        for _, i in ready[:limit]:
            entry = self._outbox[i]
            entry[3], entry[4] = due, owner
            claimed.append(Owed(i, json.loads(entry[1]), entry[2]))
        return claimed

    async def outbox_done(self, kind: str, entry_id: str) -> None:
        """See :meth:`bot.outbox.OutboxStore.outbox_done`."""
        self._outbox.pop(entry_id, None)

    async def close(self) -> None:
        """Drop everything."""
        self._data.clear()
        self._outbox.clear()


class SQLiteStore:
    """A :class:`SessionStore` in one SQLite file (WAL), driven from one worker thread.

    Args:
        path: the database file; its folder is created. ``":memory:"`` works for tests.
    Raises:
        StoreUnavailable: from any method when the file cannot be opened or written.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = self._path = str(path)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        self._db: sqlite3.Connection | None = None
        self._writes = 0

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")
            db.execute(
                "CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, data TEXT "
                "NOT NULL, updated REAL NOT NULL, expires REAL NOT NULL, "
                "version INTEGER NOT NULL DEFAULT 1)"
            )
            try:
                columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
                missing = sorted(SESSION_COLUMNS - columns)
                if missing:
                    raise sqlite3.DatabaseError(
                        f"its table 'sessions' is not this program's: it lacks the columns "
                        f"{', '.join(missing)}"
                    )
                if "version" not in columns:  # a file written before versions existed
                    db.execute("ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                    "payload TEXT NOT NULL, created REAL NOT NULL, due REAL NOT NULL, "
                    "owner TEXT NOT NULL)"
                )
                db.execute("CREATE INDEX IF NOT EXISTS outbox_due ON outbox (kind, due)")
            except sqlite3.Error:
                db.close()
                raise
            self._db = db
        return self._db

    async def _run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fn, *args)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"SQLite store {self._path}: {exc}") from exc

    def _get(self, key: str, now: float) -> Record | None:
        row = (
            self._connect()
            .execute("SELECT data, updated, expires, version FROM sessions WHERE key = ?", (key,))
            .fetchone()
        )
        if row is None or now > row[2] + EXPIRED_GRACE:
            return None
        return Record(json.loads(row[0]), row[1], now > row[2], row[3])

    def _put(self, key: str, raw: str, now: float, ttl: float, expect: int | None) -> bool:
        db = self._connect()
        # A row past its grace is gone as far as get() is concerned, so it counts as absent.
        db.execute("DELETE FROM sessions WHERE key = ? AND expires < ?", (key, now - EXPIRED_GRACE))
        if expect is None:
            db.execute(
                "INSERT INTO sessions (key, data, updated, expires) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET data = excluded.data, "
                "updated = excluded.updated, expires = excluded.expires, "
                "version = sessions.version + 1",
                (key, raw, now, now + ttl),
            )
            written = True
        elif expect == 0:
            cursor = db.execute(
                "INSERT OR IGNORE INTO sessions (key, data, updated, expires) VALUES (?, ?, ?, ?)",
                (key, raw, now, now + ttl),
            )
            written = cursor.rowcount == 1
        else:
            cursor = db.execute(
                "UPDATE sessions SET data = ?, updated = ?, expires = ?, version = version + 1 "
                "WHERE key = ? AND version = ?",
                (raw, now, now + ttl, key, expect),
            )
            written = cursor.rowcount == 1
        self._writes += 1
        if self._writes % PURGE_EVERY == 0:
            db.execute("DELETE FROM sessions WHERE expires < ?", (now - EXPIRED_GRACE,))
        return written

    async def get(self, key: str, now: float) -> Record | None:
        """See :meth:`SessionStore.get`."""
        result: Record | None = await self._run(self._get, key, now)
        return result

    async def put(
        self,
        key: str,
        data: dict[str, Any],
        now: float,
        ttl: float,
        *,
        expect: int | None = None,
    ) -> bool:
        """See :meth:`SessionStore.put`."""
        written: bool = await self._run(self._put, key, json.dumps(data), now, ttl, expect)
        return written

    async def count(self, now: float) -> int:
        """See :meth:`SessionStore.count`."""
        row = await self._run(
            lambda: (
                self._connect()
                .execute(
                    "SELECT COUNT(*) FROM sessions WHERE expires >= ? AND instr(key, ?) = 0",
                    (now, PROFILE_MARKER),
                )
                .fetchone()
            )
        )
        return int(row[0])

    async def delete(self, key: str) -> None:
        """See :meth:`SessionStore.delete`."""
        await self._run(
            lambda: self._connect().execute("DELETE FROM sessions WHERE key = ?", (key,))
        )

    async def check(self) -> None:
        """Open the file and prove it can be read and written (a write lock is taken and
        released; nothing changes). Call once at start-up.

        Raises:
            StoreUnavailable: naming the file, when it is not an SQLite database, has another
                program's ``sessions`` table, is read-only, or its folder cannot be made.
        """

        def _check() -> None:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")

        await self._run(_check)

    async def outbox_add(self, kind: str, owed: Owed, *, due: float, owner: str) -> None:
        """See :meth:`bot.outbox.OutboxStore.outbox_add`."""
        row = (owed.id, kind, json.dumps(owed.payload), owed.created, due, owner)
        await self._run(
            lambda: self._connect().execute(
                "INSERT OR REPLACE INTO outbox (id, kind, payload, created, due, owner) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
        )

    async def outbox_save(self, kind: str, owed: Owed, *, owner: str) -> bool:
        """See :meth:`bot.outbox.OutboxStore.outbox_save`."""
        raw = json.dumps(owed.payload)
        cursor = await self._run(
            lambda: self._connect().execute(
                "UPDATE outbox SET payload = ? WHERE id = ? AND owner = ?", (raw, owed.id, owner)
            )
        )
        return bool(cursor.rowcount == 1)

    async def outbox_renew(
        self, kind: str, ids: Sequence[str], *, due: float, owner: str
    ) -> list[str]:
        """See :meth:`bot.outbox.OutboxStore.outbox_renew`."""

        def renew() -> list[str]:
            db, kept = self._connect(), []
            for start in range(0, len(ids), 500):  # SQLite's limit on host parameters
                chunk = list(ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"UPDATE outbox SET due = ? WHERE owner = ? AND id IN ({marks}) RETURNING id",
                    (due, owner, *chunk),
                ).fetchall()
                kept += [row[0] for row in rows]
            return kept

        kept: list[str] = await self._run(renew)
        return kept

    async def outbox_claim(
        self, kind: str, *, now: float, due: float, owner: str, limit: int
    ) -> list[Owed]:
        """See :meth:`bot.outbox.OutboxStore.outbox_claim`: one statement, so atomic even
        between processes sharing the file."""
        rows = await self._run(
            lambda: (
                self._connect()
                .execute(
                    "UPDATE outbox SET due = ?, owner = ? WHERE id IN (SELECT id FROM outbox "
                    "WHERE kind = ? AND due <= ? ORDER BY due LIMIT ?) "
                    "RETURNING id, payload, created",
                    (due, owner, kind, now, limit),
                )
                .fetchall()
            )
        )
        return [Owed(row[0], json.loads(row[1]), row[2]) for row in rows]

    async def outbox_done(self, kind: str, entry_id: str) -> None:
        """See :meth:`bot.outbox.OutboxStore.outbox_done`."""
        await self._run(
            lambda: self._connect().execute("DELETE FROM outbox WHERE id = ?", (entry_id,))
        )

    async def ping(self) -> bool:
        """True when a trivial query succeeds."""
        try:
            await self._run(lambda: self._connect().execute("SELECT 1").fetchone())
        except StoreUnavailable:
            return False
        return True

    async def close(self) -> None:
        """Close the connection and stop the worker thread."""

        def _close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        try:
            await self._run(_close)
        finally:
            self._pool.shutdown(wait=True)


def open_store(kind: str, db_path: Path, redis_url: str = "") -> SessionStore:
    """Build the store named by ``kind`` (``sqlite``, ``memory`` or ``redis``).

    Raises:
        ValueError: for an unknown kind, or ``redis`` without ``redis_url`` (Settings already
            rejects both).
    """
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(db_path)
    if kind == "redis" and redis_url:
        from bot.redis_backend import RedisStore, connect

        return RedisStore(connect(redis_url))
    raise ValueError(f"unknown store kind {kind!r} (or redis without a URL)")


def store_for(settings: Settings) -> SessionStore:
    """The session store ``settings`` names (``ADVISOR_STORE``; Redis at
    ``ADVISOR_REDIS_URL``, SQLite at ``ADVISOR_DB``). Opens no connection yet.

    Raises:
        ConfigError: naming ``ADVISOR_REDIS_URL`` when redis-py rejects it.
    """
    if settings.store == "redis":
        from bot.redis_backend import RedisStore, connect

        try:
            return RedisStore(connect(settings.redis_url))
        except ValueError as exc:
            raise ConfigError(f"ADVISOR_REDIS_URL: {exc}") from None
    return open_store(settings.store, settings.resolved_db_path())


async def check_store(store: SessionStore, settings: Settings) -> None:
    """Start-up check of a session store, before any adapter starts taking messages.

    An SQLite file that cannot serve (corrupt, another schema, read-only, its folder cannot
    be made) is a configuration error: better to stop at once than to start and then answer
    every turn with "try again". A Redis that does not answer is not: replicas may start
    before Redis does, so it is logged and ``/readyz`` reports it until Redis answers.

    Raises:
        ConfigError: naming ``ADVISOR_DB`` and the file.
    """
    if isinstance(store, SQLiteStore):
        try:
            await store.check()
        except StoreUnavailable as exc:
            cause = exc.__cause__ or exc
            raise ConfigError(
                f"ADVISOR_DB: cannot keep sessions in {store.path}: {cause}"
            ) from None
    elif not await store.ping():
        _log.warning("the session store does not answer yet; /readyz reports it until it does")
