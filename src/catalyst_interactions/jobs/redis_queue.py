"""The scale-out job queue on Redis streams.

Layout under a key prefix P (all state changes are Lua scripts, so each is atomic
and costs one round trip):

- ``P:stream`` with consumer group ``workers``: runnable jobs, one entry per run.
  A claim reads one entry with XREADGROUP inside the claim script, so delivery and
  lease registration cannot be separated by a crash.
- ``P:job:<id>`` hash: the encoded `Job` plus its mutable state (state, attempts,
  lease, fencing token, current stream entry, dead reason).
- ``P:seen:<id>``: SET NX marker with a TTL beyond the token's life (dedupe after ack).
- ``P:pending`` / ``P:leases`` / ``P:dead`` sorted sets: the jobs per state, for
  depth, listing and lease expiry (scored by order, lease end, order).
- ``P:delayed`` sorted set: retries by due time, moved into the stream when due.
- ``P:owner:<user>`` set: the owner's job ids, for the per-owner cap. Ids of jobs no longer
  pending or running are removed lazily, when the set is full; it expires with the token.

Leases are exact per claim (``P:leases``), not the stream's idle time: a claim
script hands an expired one to the next claimer with XCLAIM, attempts + 1.
Idle claimers block on XREAD after the stream's newest id, so an XADD wakes them
within a round trip. Durability is Redis's own: run it with ``appendonly yes``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import msgspec
import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from catalyst_interactions.discord.snowflake import INTERACTION_TOKEN_LIFETIME_S
from catalyst_interactions.jobs.job import ClaimedJob, Job, JobInfo, JobState
from catalyst_interactions.jobs.queue import (
    ClaimsInBatches,
    OwnerQuotaExceeded,
    QueueClosed,
    QueueError,
    QueueUnavailable,
    check_list_request,
    lease_lost,
    renewed,
)

GROUP = "workers"
DEFAULT_PREFIX = "catalyst:jobs"
#: Dedupe markers outlive the token by this much (clock skew, late redelivery).
DEDUPE_MARGIN_S = 300

_COMMON = """
local P = ARGV[1]
local STREAM = P .. ':stream'
local GROUP = 'workers'
local function jobkey(id) return P .. ':job:' .. id end
local function drop_entry(key)
  local entry = redis.call('HGET', key, 'entry')
  if entry then
    redis.call('XACK', STREAM, GROUP, entry)
    redis.call('XDEL', STREAM, entry)
    redis.call('HDEL', key, 'entry')
  end
end
local function make_runnable(id, key, not_before, now)
  if not_before > now then
    redis.call('ZADD', P .. ':delayed', not_before, id)
  else
    redis.call('HSET', key, 'entry', redis.call('XADD', STREAM, '*', 'id', id))
  end
end
local function current_claim(id, token)
  local key = jobkey(id)
  local st = redis.call('HMGET', key, 'state', 'token')
  if st[1] ~= 'running' or st[2] ~= token then return nil end
  return key
end
-- Ends the claim (id, token): its stream entry and its lease go. nil if not current.
local function end_claim(id, token)
  local key = current_claim(id, token)
  if not key then return nil end
  drop_entry(key)
  redis.call('ZREM', P .. ':leases', id)
  redis.call('HDEL', key, 'consumer', 'lease_until')
  return key
end
-- Lists the job under a state's sorted set ('pending', 'dead'), in enqueue order.
local function file_under(state, id, key)
  redis.call('ZADD', P .. ':' .. state, redis.call('HGET', key, 'seq'), id)
end
"""

# ARGV: P, id, encoded job, dedupe ttl, attempts, not_before, last_error, now, owner, cap
# -> 1 enqueued, 0 duplicate, 2 the owner's cap is reached
_ENQUEUE = (
    _COMMON
    + """
local id = ARGV[2]
local key = jobkey(id)
if redis.call('EXISTS', key) == 1 then return 0 end
if redis.call('EXISTS', P .. ':seen:' .. id) == 1 then return 0 end
local owner, cap = ARGV[9], tonumber(ARGV[10])
if owner ~= '' and cap > 0 then
  local okey = P .. ':owner:' .. owner
  if redis.call('SCARD', okey) >= cap then
    for _, other in ipairs(redis.call('SMEMBERS', okey)) do
      local st = redis.call('HGET', jobkey(other), 'state')
      if st ~= 'pending' and st ~= 'running' then redis.call('SREM', okey, other) end
    end
    if redis.call('SCARD', okey) >= cap then return 2 end
  end
  redis.call('SADD', okey, id)
  redis.call('EXPIRE', okey, ARGV[4])
end
if not redis.call('SET', P .. ':seen:' .. id, '1', 'NX', 'EX', ARGV[4]) then return 0 end
local seq = redis.call('INCR', P .. ':seq')
redis.call('HSET', key, 'job', ARGV[3], 'state', 'pending', 'attempts', ARGV[5],
  'not_before', ARGV[6], 'seq', seq, 'token', 0)
if ARGV[7] ~= '' then redis.call('HSET', key, 'last_error', ARGV[7]) end
redis.call('ZADD', P .. ':pending', seq, id)
make_runnable(id, key, tonumber(ARGV[6]), tonumber(ARGV[8]))
return 1
"""
)

# ARGV: P, now, consumer, lease_until
# -> {1, id, job, attempts, not_before, last_error, token} or {0, next_due, newest_entry}
_CLAIM = (
    _COMMON
    + """
local now = tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', P .. ':delayed', '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  redis.call('ZREM', P .. ':delayed', id)
  redis.call('HSET', jobkey(id), 'entry', redis.call('XADD', STREAM, '*', 'id', id))
end
local function take(id, key, expired)
  redis.call('HINCRBY', key, 'token', 1)
  redis.call('HSET', key, 'state', 'running', 'consumer', ARGV[3], 'lease_until', ARGV[4])
  if expired then
    redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'last_error', 'lease expired')
  end
  redis.call('ZREM', P .. ':pending', id)
  redis.call('ZADD', P .. ':leases', ARGV[4], id)
  local f = redis.call('HMGET', key, 'job', 'attempts', 'not_before', 'last_error', 'token')
  return {1, id, f[1], f[2], f[3], f[4], f[5]}
end
for _ = 1, 16 do
  local r = redis.call('XREADGROUP', 'GROUP', GROUP, ARGV[3], 'COUNT', 1, 'STREAMS', STREAM, '>')
  if not r then break end
  local entry = r[1][2][1]
  local id = entry[2][2]
  local key = jobkey(id)
  local st = redis.call('HMGET', key, 'state', 'entry')
  if st[1] == 'pending' and st[2] == entry[1] then return take(id, key, false) end
  -- An entry left behind by a dropped or re-queued job: discard it.
  redis.call('XACK', STREAM, GROUP, entry[1])
  redis.call('XDEL', STREAM, entry[1])
end
local expired = redis.call('ZRANGEBYSCORE', P .. ':leases', '-inf', now, 'LIMIT', 0, 1)
if expired[1] then
  local id = expired[1]
  local key = jobkey(id)
  local entry = redis.call('HGET', key, 'entry')
  if entry then redis.call('XCLAIM', STREAM, GROUP, ARGV[3], 0, entry, 'JUSTID') end
  return take(id, key, true)
end
local next_due = ''
for _, z in ipairs({P .. ':delayed', P .. ':leases'}) do
  local first = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
  if first[2] and (next_due == '' or tonumber(first[2]) < tonumber(next_due)) then
    next_due = first[2]
  end
end
local newest = redis.call('XREVRANGE', STREAM, '+', '-', 'COUNT', 1)
return {0, next_due, newest[1] and newest[1][1] or '0-0'}
"""
)

# ARGV: P, id, token, lease_until
_RENEW = (
    _COMMON
    + """
local key = current_claim(ARGV[2], ARGV[3])
if not key then return 0 end
redis.call('HSET', key, 'lease_until', ARGV[4])
redis.call('ZADD', P .. ':leases', ARGV[4], ARGV[2])
return 1
"""
)

# ARGV: P, id, token
_ACK = (
    _COMMON
    + """
local key = end_claim(ARGV[2], ARGV[3])
if not key then return 0 end
redis.call('DEL', key)
return 1
"""
)

# ARGV: P, id, token, not_before, error, now
_RETRY = (
    _COMMON
    + """
local id = ARGV[2]
local key = end_claim(id, ARGV[3])
if not key then return 0 end
redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'state', 'pending', 'not_before', ARGV[4], 'last_error', ARGV[5])
file_under('pending', id, key)
make_runnable(id, key, tonumber(ARGV[4]), tonumber(ARGV[6]))
return 1
"""
)

# ARGV: P, id, token, reason
_DEAD = (
    _COMMON
    + """
local id = ARGV[2]
local key = end_claim(id, ARGV[3])
if not key then return 0 end
redis.call('HSET', key, 'state', 'dead', 'reason', ARGV[4])
file_under('dead', id, key)
return 1
"""
)

# ARGV: P, id, now
_REQUEUE = (
    _COMMON
    + """
local id = ARGV[2]
local key = jobkey(id)
if redis.call('HGET', key, 'state') ~= 'dead' then return 0 end
redis.call('ZREM', P .. ':dead', id)
redis.call('HSET', key, 'state', 'pending', 'attempts', 0, 'not_before', 0)
redis.call('HDEL', key, 'reason')
file_under('pending', id, key)
make_runnable(id, key, 0, tonumber(ARGV[3]))
return 1
"""
)

# ARGV: P, id
_DROP = (
    _COMMON
    + """
local id = ARGV[2]
local key = jobkey(id)
if redis.call('EXISTS', key) == 0 then return 0 end
drop_entry(key)
for _, z in ipairs({'pending', 'delayed', 'leases', 'dead'}) do
  redis.call('ZREM', P .. ':' .. z, id)
end
redis.call('DEL', key)
return 1
"""
)

_INFO_FIELDS = ("job", "state", "attempts", "not_before", "last_error", "consumer", "lease_until")
_STATE_SET = {"pending": "pending", "running": "leases", "dead": "dead"}


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


class RedisJobQueue(ClaimsInBatches):
    """`JobQueue` on Redis; any number of processes and hosts may share a prefix."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        poll_interval_s: float = 0.5,
        max_per_owner: int = 0,
        owns_client: bool = True,
    ) -> None:
        self._client = client
        self._owns_client = owns_client
        """False for the process's shared client: :meth:`close` leaves it to its owner."""
        self._prefix = prefix
        self._max_per_owner = max_per_owner
        # Bounds how late a claimer notices a retry or lease that another client
        # made due; new work wakes it at once via XREAD.
        self._poll_interval_s = poll_interval_s
        self._stream = f"{prefix}:stream"
        self._decoder = msgspec.msgpack.Decoder(Job)
        self._encoder = msgspec.msgpack.Encoder()
        self._scripts = {
            name: client.register_script(source)
            for name, source in (
                ("enqueue", _ENQUEUE),
                ("claim", _CLAIM),
                ("renew", _RENEW),
                ("ack", _ACK),
                ("retry", _RETRY),
                ("dead", _DEAD),
                ("requeue", _REQUEUE),
                ("drop", _DROP),
            )
        }
        self._group_ready = False
        self._waiting = 0
        self._closed = False

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str | None = None, max_per_owner: int = 0
    ) -> RedisJobQueue:
        """A queue on a new client for `url` (connects lazily, on first use)."""
        return cls(
            redis.Redis.from_url(url), prefix=prefix or DEFAULT_PREFIX, max_per_owner=max_per_owner
        )

    def __repr__(self) -> str:
        return f"RedisJobQueue(prefix={self._prefix!r})"

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def waiting(self) -> int:
        return self._waiting

    @asynccontextmanager
    async def _translate(self) -> AsyncIterator[None]:
        if self._closed:
            raise QueueClosed("queue is closed")
        try:
            yield
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            if self._closed:
                raise QueueClosed("queue is closed") from exc
            raise QueueUnavailable(f"redis queue: {type(exc).__name__}: {exc}") from exc
        except RedisError as exc:
            raise QueueError(f"redis queue: {exc}") from exc

    async def _script(self, name: str, *args: Any) -> Any:
        async with self._translate():
            return await self._scripts[name](args=(self._prefix, *args))

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        async with self._translate():
            try:
                await self._client.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._group_ready = True

    async def enqueue(self, job: Job) -> bool:
        now = time.time()
        ttl = math.ceil(max(job.deadline - now, INTERACTION_TOKEN_LIFETIME_S) + DEDUPE_MARGIN_S)
        added = await self._script(
            "enqueue",
            job.id,
            self._encoder.encode(job),
            ttl,
            job.attempts,
            repr(job.not_before),
            job.last_error or "",
            repr(now),
            job.owner,
            self._max_per_owner,
        )
        if added == 2:
            raise OwnerQuotaExceeded(self._max_per_owner)
        return bool(added)

    async def _claim_once(self, now: float, consumer: str, lease_until: float) -> Sequence[Any]:
        args = (repr(now), consumer, repr(lease_until))
        try:
            result: Sequence[Any] = await self._script("claim", *args)
        except QueueError as exc:
            # The group vanished (keys deleted under us): make it again, once.
            if "NOGROUP" not in str(exc):
                raise
            self._group_ready = False
            await self._ensure_group()
            result = await self._script("claim", *args)
        return result

    def _claimed(self, result: Sequence[Any], consumer: str, lease_until: float) -> ClaimedJob:
        _, _, blob, attempts, not_before, last_error, token = result
        job = msgspec.structs.replace(
            self._decoder.decode(blob),
            attempts=int(attempts),
            not_before=float(not_before),
            last_error=_text(last_error),
        )
        return ClaimedJob(
            job=job, consumer=consumer, lease_until=lease_until, token=_text(token) or ""
        )

    async def _claim_many(
        self, consumer: str, lease_s: float, timeout_s: float, limit: int
    ) -> list[ClaimedJob]:
        await self._ensure_group()
        loop = asyncio.get_running_loop()
        end = loop.time() + max(timeout_s, 0.0)
        while True:
            now = time.time()
            lease_until = now + lease_s
            result = await self._claim_once(now, consumer, lease_until)
            if result[0] == 1:
                # The first one came: take what else is runnable now, without waiting
                # (each is one atomic script call; Redis has no write lock to share).
                claimed = [self._claimed(result, consumer, lease_until)]
                while len(claimed) < limit:
                    now = time.time()
                    lease_until = now + lease_s
                    result = await self._claim_once(now, consumer, lease_until)
                    if result[0] != 1:
                        break
                    claimed.append(self._claimed(result, consumer, lease_until))
                return claimed
            remaining = end - loop.time()
            if remaining <= 0:
                return []
            wait_s = min(remaining, self._poll_interval_s)
            next_due = _text(result[1])
            if next_due:
                wait_s = min(wait_s, float(next_due) - time.time())
            self._waiting += 1
            try:
                async with self._translate():
                    # Returns as soon as anything is added after the newest entry seen.
                    await self._client.xread(
                        {self._stream: result[2]}, count=1, block=max(1, math.ceil(wait_s * 1000))
                    )
            finally:
                self._waiting -= 1

    async def renew(self, claimed: ClaimedJob, lease_s: float) -> ClaimedJob:
        until = time.time() + lease_s
        if not await self._script("renew", claimed.job.id, claimed.token, repr(until)):
            raise lease_lost(claimed)
        return renewed(claimed, until)

    async def ack(self, claimed: ClaimedJob) -> None:
        if not await self._script("ack", claimed.job.id, claimed.token):
            raise lease_lost(claimed)

    async def retry(self, claimed: ClaimedJob, delay_s: float, error: str) -> None:
        now = time.time()
        not_before = now + max(delay_s, 0.0)
        args = (claimed.job.id, claimed.token, repr(not_before), error, repr(now))
        if not await self._script("retry", *args):
            raise lease_lost(claimed)

    async def dead(self, claimed: ClaimedJob, reason: str) -> None:
        if not await self._script("dead", claimed.job.id, claimed.token, reason):
            raise lease_lost(claimed)

    async def depth(self) -> int:
        async with self._translate():
            return int(await self._client.zcard(f"{self._prefix}:pending"))

    async def list(self, state: JobState, limit: int = 100) -> list[JobInfo]:
        check_list_request(state, limit)
        if limit == 0:
            return []
        async with self._translate():
            ids = cast(
                "list[bytes]",
                await self._client.zrange(f"{self._prefix}:{_STATE_SET[state]}", 0, limit - 1),
            )
            pipe = self._client.pipeline(transaction=False)
            for raw_id in ids:
                pipe.hmget(f"{self._prefix}:job:{raw_id.decode()}", [*_INFO_FIELDS, "reason"])
            rows = await pipe.execute()
        infos = []
        for row in rows:
            blob, row_state, attempts, not_before, last_error, consumer, lease, reason = row
            if blob is None or _text(row_state) != state:
                continue  # changed state between the two reads
            job = self._decoder.decode(blob)
            infos.append(
                JobInfo(
                    id=job.id,
                    handler=job.handler,
                    state=state,
                    attempts=int(attempts),
                    deadline=job.deadline,
                    enqueued_at=job.enqueued_at,
                    not_before=float(not_before),
                    last_error=_text(last_error),
                    consumer=_text(consumer),
                    lease_until=None if lease is None else float(lease),
                    reason=_text(reason),
                )
            )
        return infos

    async def requeue_dead(self, job_id: str) -> bool:
        return bool(await self._script("requeue", job_id, repr(time.time())))

    async def drop(self, job_id: str) -> bool:
        return bool(await self._script("drop", job_id))

    async def ping(self) -> None:
        async with self._translate():
            await self._client.ping()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_client:
            await self._client.aclose()
