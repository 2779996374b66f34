"""Redis-backed session and deduplication stores, shared by every replica (redis-py asyncio).

Selected by ``ADVISOR_REDIS_URL``. Keys, under a prefix (default ``advisor:``):

- ``s:<conversation key>``: a session, JSON ``{"v": version, "u": updated, "e": expires,
  "d": data}``. Redis drops it :data:`~bot.sessions.EXPIRED_GRACE` seconds after it expires,
  so the TTL lives in Redis itself.
- ``active``: a sorted set of conversation keys scored by expiry time, for
  :meth:`RedisStore.count` (profiles are left out; stale members are trimmed on write).
- ``d:<id>``: an event id seen by :class:`RedisDedupe`, set with ``SET NX EX``.
- ``o:<id>``: an outbox entry (:mod:`bot.outbox`), a hash of ``kind``, ``payload`` (JSON),
  ``created`` and ``owner``; Redis drops it :data:`OUTBOX_KEEP` seconds after it was written.
- ``outbox:<kind>``: a sorted set of entry ids scored by due time. Claiming, renewing and saving
  an entry are Lua scripts, so atomic: two replicas never claim one entry. The scripts build
  entry key names from the prefix, which is fine on one Redis (not on Redis Cluster).

A conditional write (``put(..., expect=N)``) is optimistic locking with ``WATCH``/``MULTI``:
if another replica writes the session between our read and our ``EXEC``, the transaction is
discarded and ``put`` returns False, and the engine re-runs the turn on fresh state.

Every Redis failure (refused, timed out, reset) becomes
:class:`~bot.errors.StoreUnavailable`; redis-py's pool reconnects on the next call, so service
resumes when Redis is back without a restart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from bot.dedupe import DEFAULT_DEDUPE_TTL
from bot.errors import StoreUnavailable
from bot.sessions import EXPIRED_GRACE, Owed, Record, is_profile

#: Seconds to wait for a connection, and for any one reply.
CONNECT_TIMEOUT = 1.0
COMMAND_TIMEOUT = 2.0
#: Retries of one command on a connection error (with 50 ms, 100 ms … backoff, capped at 0.5 s).
#: A command that timed out is not retried: a hung Redis would cost 3 x COMMAND_TIMEOUT (6.3 s)
#: per call instead of 2 s, and a reset or refused connection fails fast anyway.
RETRIES = 2
DEFAULT_PREFIX = "advisor:"
#: Seconds an outbox entry is kept at most (bot.outbox drops entries older than an hour).
OUTBOX_KEEP = 2 * 60 * 60

_SAVE = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'payload', ARGV[2])
  return 1
end
return 0
"""
_RENEW = """
local kept = {}
for i = 4, #ARGV do
  if redis.call('HGET', ARGV[1] .. ARGV[i], 'owner') == ARGV[3] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i])
    kept[#kept + 1] = ARGV[i]
  end
end
return kept
"""
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[5]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local entry = redis.call('HMGET', key, 'payload', 'created')
  if entry[1] then
    redis.call('HSET', key, 'owner', ARGV[4])
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    out[#out + 1] = id
    out[#out + 1] = entry[1]
    out[#out + 1] = entry[2]
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""


def connect(url: str) -> Redis:
    """A redis-py asyncio client for ``url`` (``redis://host:port/db``, ``rediss://`` for TLS)
    with short timeouts, so a user gets "try again" within seconds when Redis is down. No
    connection is opened until the first command.

    Raises:
        ValueError: when the URL is malformed (redis-py's message).
    """
    return Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        retry=Retry(
            ExponentialBackoff(cap=0.5, base=0.05),
            RETRIES,
            supported_errors=(redis_errors.ConnectionError,),
        ),
        health_check_interval=30,
    )


def _unavailable(exc: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"Redis: {type(exc).__name__}: {exc}")


class RedisStore:
    """A :class:`~bot.sessions.SessionStore` in Redis. It owns ``client`` and closes it.

    Args:
        client: from :func:`connect`.
        prefix: put before every key, so several apps can share one Redis database.
    Raises:
        StoreUnavailable: from any method except :meth:`ping` and :meth:`close`, when Redis
            cannot be reached or answers with an error.
    """

    def __init__(self, client: Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self._prefix = prefix
        self._active = f"{prefix}active"
        self._save = client.register_script(_SAVE)
        self._renew = client.register_script(_RENEW)
        self._claim = client.register_script(_CLAIM)

    def _key(self, key: str) -> str:
        return f"{self._prefix}s:{key}"

    @staticmethod
    def _decode(raw: bytes | str | None, now: float) -> tuple[dict[str, Any], float, float, int]:
        """(data, updated, expires, version); version 0 when absent or past the grace."""
        if raw is None:
            return {}, 0.0, 0.0, 0
        item = json.loads(raw)
        if now > item["e"] + EXPIRED_GRACE:
            return {}, 0.0, 0.0, 0
        return item["d"], item["u"], item["e"], int(item["v"])

    async def get(self, key: str, now: float) -> Record | None:
        """See :meth:`bot.sessions.SessionStore.get`."""
        try:
            raw = await self.client.get(self._key(key))
        except redis_errors.RedisError as exc:
            raise _unavailable(exc) from exc
        data, updated, expires, version = self._decode(raw, now)
        if version == 0:
            return None
        return Record(data, updated, now > expires, version)

    async def put(
        self,
        key: str,
        data: dict[str, Any],
        now: float,
        ttl: float,
        *,
        expect: int | None = None,
    ) -> bool:
        """See :meth:`bot.sessions.SessionStore.put`. Redis deletes the entry ``ttl`` +
        :data:`~bot.sessions.EXPIRED_GRACE` seconds from now."""
        name = self._key(key)
        expires = now + ttl
        keep_ms = math.ceil((ttl + EXPIRED_GRACE) * 1000)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                await pipe.watch(name)
                current = self._decode(await pipe.get(name), now)[3]
                if expect is not None and expect != current:
                    await pipe.unwatch()  # type: ignore[no-untyped-call]
                    return False
                value = json.dumps({"v": current + 1, "u": now, "e": expires, "d": data})
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(name, value, px=keep_ms)
                if not is_profile(key):
                    pipe.zadd(self._active, {key: expires})
                    pipe.zremrangebyscore(self._active, "-inf", f"({now - EXPIRED_GRACE}")
                await pipe.execute()
        except redis_errors.WatchError:
            if expect is not None:
                return False
            return await self.put(key, data, now, ttl)  # unconditional: last writer wins
        except redis_errors.RedisError as exc:
            raise _unavailable(exc) from exc
        return True

    async def delete(self, key: str) -> None:
        """See :meth:`bot.sessions.SessionStore.delete`."""
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(self._key(key))
                pipe.zrem(self._active, key)
                await pipe.execute()
        except redis_errors.RedisError as exc:
            raise _unavailable(exc) from exc

    async def count(self, now: float) -> int:
        """See :meth:`bot.sessions.SessionStore.count` (``ZCOUNT`` on the ``active`` set)."""
        try:
            return int(await self.client.zcount(self._active, now, "+inf"))
        except redis_errors.RedisError as exc:
            raise _unavailable(exc) from exc

    def _queue(self, kind: str) -> str:
        return f"{self._prefix}outbox:{kind}"

    async def outbox_add(self, kind: str, owed: Owed, *, due: float, owner: str) -> None:
        """See :meth:`bot.outbox.OutboxStore.outbox_add`."""
        name = f"{self._prefix}o:{owed.id}"
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(
                    name,
                    mapping={
                        "kind": kind,
                        "payload": json.dumps(owed.payload),
                        "created": repr(owed.created),
                        "owner": owner,
                    },
                )
                pipe.expire(name, OUTBOX_KEEP)
                pipe.zadd(self._queue(kind), {owed.id: due})
                await pipe.execute()
        except redis_errors.RedisError as exc:
            raise _unavailable(exc) from exc

    async def outbox_save(self, kind: str, owed: Owed, *, owner: str) -> bool:
        """See :meth:`bot.outbox.OutboxStore.outbox_save`."""
        try:
            saved = await self._save(
                keys=[f"{self._prefix}o:{owed.id}"], args=[owner, json.dumps(owed.payload)]
            )
        except redis_errors.RedisError as exc:
            raise _unavailable(exc) from exc
        return bool(saved)

    async def outbox_renew(
        self, kind: str, ids: Sequence[str], *, due: float, owner: str
    ) -> list[str]:
        """See :meth:`bot.outbox.OutboxStore.outbox_renew`."""
        try:
            kept = await self._renew(
                keys=[self._queue(kind)], args=[f"{self._prefix}o:", repr(due), owner, *ids]
            )
        except redis_errors.RedisError as exc:
            raise _unavailable(exc) from exc
        return [_text(i) for i in kept]

    async def outbox_claim(
        self, kind: str, *, now: float, due: float, owner: str, limit: int
    ) -> list[Owed]:
        """See :meth:`bot.outbox.OutboxStore.outbox_claim` (one Lua script, so atomic)."""
        try:
            flat = await self._claim(
                keys=[self._queue(kind)],
                args=[f"{self._prefix}o:", repr(now), repr(due), owner, limit],
            )
        except redis_errors.RedisError as exc:
            raise _unavailable(exc) from exc
        return [
            Owed(_text(flat[i]), json.loads(flat[i + 1]), float(flat[i + 2]))
            for i in range(0, len(flat), 3)
        ]

    async def outbox_done(self, kind: str, entry_id: str) -> None:
        """See :meth:`bot.outbox.OutboxStore.outbox_done`."""
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(f"{self._prefix}o:{entry_id}")
                pipe.zrem(self._queue(kind), entry_id)
                await pipe.execute()
        except redis_errors.RedisError as exc:
            raise _unavailable(exc) from exc

    async def ping(self) -> bool:
        """True when Redis answers ``PING``; never raises."""
        try:
            return bool(await self.client.ping())
        except redis_errors.RedisError:
            return False

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisDedupe:
    """A :class:`~bot.dedupe.DedupeStore` in Redis: ``SET key 1 NX EX ttl``, atomic across
    replicas, so a retry reaching another replica is still seen as a repeat.

    Args:
        client: from :func:`connect`; shared with a :class:`RedisStore`, which closes it.
        prefix: as for :class:`RedisStore`.
    """

    def __init__(self, client: Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self._prefix = prefix

    async def first_time(self, key: str, ttl: float = DEFAULT_DEDUPE_TTL) -> bool:
        """See :meth:`bot.dedupe.DedupeStore.first_time`.

        Raises:
            StoreUnavailable: when Redis cannot be reached.
        """
        try:
            created = await self.client.set(
                f"{self._prefix}d:{key}", b"1", nx=True, ex=max(1, math.ceil(ttl))
            )
        except redis_errors.RedisError as exc:
            raise _unavailable(exc) from exc
        return bool(created)

    async def close(self) -> None:
        """Nothing: the client belongs to the :class:`RedisStore`."""
