"""A :class:`~catalyst_interactions.discord.rest.ratelimit.RateLimitStore` in Redis.

Many worker processes (one bot token) share one view of the buckets, so together they
respect Discord's limits. The algorithm is the one described in ``ratelimit.py``; each
operation is a Lua script, so reading a bucket and taking a slot is atomic, and time comes
from the Redis server (``TIME``), so the processes' clocks do not need to agree.

Keys (all under one hash tag so a cluster keeps them in one slot):
``{prefix}:routes`` hash route template -> bucket hash; ``{prefix}:b:<hash>|<major>`` hash
limit/remaining/reset_at/period, expiring a minute after its window; ``{prefix}:gu`` the
global-block end; ``{prefix}:g:<second>`` the global counter of that second.

When Redis is unreachable the store fails open: requests go out unthrottled (one warning
per outage) and Discord's 429s, which the client honours locally, remain the backstop.
Delivering a reply matters more than perfect pacing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .ratelimit import GLOBAL_PER_SECOND, RateLimitHeaders

__all__ = ["RedisRateLimitStore"]

_log = logging.getLogger(__name__)

_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local p = KEYS[1]
local function fmt(x) return string.format('%.6f', x) end
local function bucket_key(route)
  local h = redis.call('HGET', p .. ':routes', route)
  if not h then h = route end
  return p .. ':b:' .. h .. '|' .. ARGV[2]
end
local function save(k, limit, remaining, reset_at, period)
  redis.call('HSET', k, 'limit', limit, 'remaining', remaining,
             'reset_at', fmt(reset_at), 'period', fmt(period))
  redis.call('PEXPIREAT', k, math.floor((reset_at + period + 60) * 1000))
end
-- After a response (ARGV: route, major, bucket): remember the bucket Discord named for the
-- route ('' when it named none), then the key of the route's bucket.
local function answered_bucket_key()
  if ARGV[3] ~= '' then redis.call('HSET', p .. ':routes', ARGV[1], ARGV[3]) end
  return bucket_key(ARGV[1])
end
"""

# ARGV: route, major, global_limited ("1"/"0"), global limit per second
_ACQUIRE = (
    _PRELUDE
    + """
local glimited = ARGV[3] == '1'
local gkey
if glimited then
  local gu = tonumber(redis.call('GET', p .. ':gu') or '0')
  if gu > now then return fmt(gu - now) end
  local sec = math.floor(now)
  gkey = p .. ':g:' .. sec
  if tonumber(redis.call('GET', gkey) or '0') >= tonumber(ARGV[4]) then
    return fmt(sec + 1 - now)
  end
end
local k = bucket_key(ARGV[1])
local s = redis.call('HMGET', k, 'limit', 'remaining', 'reset_at', 'period')
if s[1] then
  local limit, remaining = tonumber(s[1]), tonumber(s[2])
  local reset_at, period = tonumber(s[3]), tonumber(s[4])
  if now >= reset_at then remaining = limit; reset_at = now + period end
  if remaining <= 0 then return fmt(reset_at - now) end
  save(k, limit, remaining - 1, reset_at, period)
end
if glimited then
  redis.call('INCR', gkey)
  redis.call('EXPIRE', gkey, 2)
end
return '0'
"""
)

# ARGV: route, major, bucket ('' if unknown), limit, remaining, reset_after
_RECORD = (
    _PRELUDE
    + """
local k = answered_bucket_key()
local limit, remaining, after = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local reset_at, period = now + after, after
local s = redis.call('HMGET', k, 'remaining', 'reset_at', 'period')
if s[1] then
  period = math.max(tonumber(s[3]), after)
  if now < tonumber(s[2]) then
    remaining = math.min(tonumber(s[1]), remaining)
    reset_at = math.max(tonumber(s[2]), reset_at)
  end
end
save(k, limit, remaining, reset_at, period)
return 0
"""
)

# ARGV: route, major, bucket ('' if unknown), retry_after
_BLOCK = (
    _PRELUDE
    + """
local k = answered_bucket_key()
local after = tonumber(ARGV[4])
local s = redis.call('HMGET', k, 'limit', 'reset_at', 'period')
if s[1] then
  save(k, tonumber(s[1]), 0, math.max(tonumber(s[2]), now + after), tonumber(s[3]))
else
  save(k, 1, 0, now + after, after)
end
return 0
"""
)

# ARGV: retry_after
_BLOCK_GLOBAL = (
    _PRELUDE
    + """
local ends = now + tonumber(ARGV[1])
local gu = tonumber(redis.call('GET', p .. ':gu') or '0')
if ends > gu then
  redis.call('SET', p .. ':gu', fmt(ends), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 0
"""
)


def _check_prefix(prefix: str) -> None:
    if not prefix or "{" in prefix or "}" in prefix:
        raise ValueError("prefix must be non-empty and contain no braces")


class RedisRateLimitStore:
    """Bucket state shared through Redis by every process using the same ``prefix``.

    Use one prefix per bot (e.g. ``catalyst:rl:<application id>``). The client passed in
    stays the caller's; :meth:`from_url` builds one that :meth:`aclose` closes.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        global_per_second: int = GLOBAL_PER_SECOND,
        owns_client: bool = False,
    ) -> None:
        _check_prefix(prefix)
        self._redis = redis
        self._owns = owns_client
        self._down = False
        self._keys = [f"{{{prefix}}}"]
        self._global_limit = str(global_per_second)
        self._acquire = redis.register_script(_ACQUIRE)
        self._record = redis.register_script(_RECORD)
        self._block = redis.register_script(_BLOCK)
        self._block_global = redis.register_script(_BLOCK_GLOBAL)

    @classmethod
    def from_url(cls, url: str, *, prefix: str, **kwargs: Any) -> RedisRateLimitStore:
        _check_prefix(prefix)
        return cls(Redis.from_url(url), prefix=prefix, owns_client=True, **kwargs)

    async def acquire(self, route: str, major: str, *, global_limited: bool) -> float:
        args = [route, major, "1" if global_limited else "0", self._global_limit]
        wait = await self._call(self._acquire(keys=self._keys, args=args))
        return max(0.0, float(wait)) if wait is not None else 0.0

    async def record(self, route: str, major: str, headers: RateLimitHeaders) -> None:
        args = [
            route,
            major,
            headers.bucket or "",
            str(headers.limit),
            str(headers.remaining),
            repr(headers.reset_after),
        ]
        await self._call(self._record(keys=self._keys, args=args))

    async def block(self, route: str, major: str, retry_after: float, bucket: str | None) -> None:
        args = [route, major, bucket or "", repr(retry_after)]
        await self._call(self._block(keys=self._keys, args=args))

    async def block_global(self, retry_after: float) -> None:
        await self._call(self._block_global(keys=self._keys, args=[repr(retry_after)]))

    async def _call(self, pending: Awaitable[Any]) -> Any:
        """Run a script; None when Redis is unavailable (fail open)."""
        try:
            result = await pending
        except (RedisError, OSError) as exc:
            if not self._down:
                _log.warning(
                    "rate-limit store unavailable (%s); not throttling", type(exc).__name__
                )
            self._down = True
            return None
        if self._down:
            _log.info("rate-limit store reachable again")
            self._down = False
        return result

    async def aclose(self) -> None:
        if self._owns:
            await self._redis.aclose()
