"""Client-side rate limiting for Discord's REST API.

Theory (Discord RL, hikari ``buckets.py``)
------------------------------------------
Discord limits requests per *bucket*. A response names its bucket in
``X-RateLimit-Bucket`` (an opaque hash) and describes it with ``X-RateLimit-Limit``
(capacity), ``X-RateLimit-Remaining`` (left in the current window) and
``X-RateLimit-Reset-After`` (seconds until the window refills; ``X-RateLimit-Reset`` is the
same moment as an epoch and is ignored here so that clock skew does not matter).

Several route templates may share one bucket hash, but the limit is enforced per bucket
*and* per major parameter: ``POST /channels/1/messages`` and ``POST /channels/2/messages``
share a hash yet have separate counters. So the key of a live bucket is
``<bucket hash>|<major parameters>``, and a store remembers which hash each route template
maps to. Until a route has been answered once its hash is unknown; such requests are let
through (the first request to a route is never the one that is limited, unless another
process used it, and then the 429 handling below catches it).

Before sending, a client *acquires* a slot: if the bucket's window has passed, the bucket
is assumed refilled (``remaining = limit``, a new window of the last seen length starts);
if ``remaining`` is zero the client waits until the reset; otherwise it takes one. After
the response, the headers are *recorded*. Responses can arrive out of order and from
other processes, so while a window is live the store keeps the smaller ``remaining`` and
the later reset: it may wait a little too long, it does not send too early.

A 429 means the model was wrong (another process, a hidden per-field limit, a shared
resource). Its body carries ``retry_after`` (also the ``Retry-After`` header) and ``global``;
``X-RateLimit-Scope`` says ``user`` (our bucket), ``global`` (the whole bot) or ``shared``
(a resource shared with others; does not count toward the invalid-request ban). A bucket
429 *blocks* the bucket until ``retry_after``; a global one blocks every bot-authenticated
route. Each 401/403/429 counts toward a 10,000-per-10-minute IP ban, which is why waiting
before sending matters more than reacting afterwards.

The global limit is 50 requests per second per bot. Interaction endpoints (callback,
followups, ``@original``) are exempt, so only bot-authenticated routes count toward it.

A :class:`RateLimitStore` holds this state. :class:`MemoryRateLimitStore` serves one
process; :class:`~catalyst_interactions.discord.rest.redis_ratelimit.RedisRateLimitStore`
lets many worker processes share one view, taking slots atomically in a Lua script.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["GLOBAL_PER_SECOND", "MemoryRateLimitStore", "RateLimitHeaders", "RateLimitStore"]

GLOBAL_PER_SECOND = 50


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    """The bucket description carried by a response."""

    bucket: str | None
    limit: int
    remaining: int
    reset_after: float

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateLimitHeaders | None:
        """Read the ``X-RateLimit-*`` headers; None when absent or malformed."""
        try:
            limit = int(headers["x-ratelimit-limit"])
            remaining = int(headers["x-ratelimit-remaining"])
            reset_after = float(headers["x-ratelimit-reset-after"])
        except (KeyError, ValueError):
            return None
        if limit < 1 or remaining < 0 or not math.isfinite(reset_after) or reset_after < 0:
            return None
        return cls(headers.get("x-ratelimit-bucket") or None, limit, remaining, reset_after)


class RateLimitStore(Protocol):
    """Shared bucket state. ``route`` is the route template name, ``major`` its major key."""

    async def acquire(self, route: str, major: str, *, global_limited: bool) -> float:
        """Take a slot. Returns 0.0 when the request may go now, else seconds to wait
        before asking again (nothing was taken)."""
        ...

    async def record(self, route: str, major: str, headers: RateLimitHeaders) -> None:
        """Learn the bucket of ``route`` and its state from a response."""
        ...

    async def block(self, route: str, major: str, retry_after: float, bucket: str | None) -> None:
        """A bucket-scoped 429: no request on this bucket for ``retry_after`` seconds."""
        ...

    async def block_global(self, retry_after: float) -> None:
        """A global 429: no bot-authenticated request for ``retry_after`` seconds."""
        ...

    async def aclose(self) -> None:
        """Release resources the store owns."""
        ...


@dataclass(slots=True)
class _Bucket:
    limit: int
    remaining: int
    reset_at: float
    period: float


class MemoryRateLimitStore:
    """Per-process store. Every method runs without awaiting, so it is atomic on one loop."""

    _PURGE_EVERY = 256

    def __init__(
        self,
        *,
        global_per_second: int = GLOBAL_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._global_limit = global_per_second
        self._clock = clock
        self._routes: dict[str, str] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._global_until = 0.0
        self._global_window = -1
        self._global_used = 0
        self._records = 0

    def _key(self, route: str, major: str) -> str:
        return f"{self._routes.get(route, route)}|{major}"

    async def acquire(self, route: str, major: str, *, global_limited: bool) -> float:
        now = self._clock()
        if global_limited:
            if self._global_until > now:
                return self._global_until - now
            second = math.floor(now)
            if second != self._global_window:
                self._global_window, self._global_used = second, 0
            if self._global_used >= self._global_limit:
                return second + 1 - now
        bucket = self._buckets.get(self._key(route, major))
        if bucket is not None:
            if now >= bucket.reset_at:
                bucket.remaining, bucket.reset_at = bucket.limit, now + bucket.period
            if bucket.remaining <= 0:
                return bucket.reset_at - now
            bucket.remaining -= 1
        if global_limited:
            self._global_used += 1
        return 0.0

    async def record(self, route: str, major: str, headers: RateLimitHeaders) -> None:
        now = self._clock()
        if headers.bucket:
            self._routes[route] = headers.bucket
        key = self._key(route, major)
        reset_at = now + headers.reset_after
        bucket = self._buckets.get(key)
        if bucket is not None and now < bucket.reset_at:
            bucket.limit = headers.limit
            bucket.remaining = min(bucket.remaining, headers.remaining)
            bucket.reset_at = max(bucket.reset_at, reset_at)
            bucket.period = max(bucket.period, headers.reset_after)
        else:
            period = max(bucket.period if bucket else 0.0, headers.reset_after)
            self._buckets[key] = _Bucket(headers.limit, headers.remaining, reset_at, period)
        self._records += 1
        if self._records % self._PURGE_EVERY == 0:
            self._purge(now)

    async def block(self, route: str, major: str, retry_after: float, bucket: str | None) -> None:
        now = self._clock()
        if bucket:
            self._routes[route] = bucket
        key = self._key(route, major)
        state = self._buckets.get(key)
        if state is None:
            self._buckets[key] = _Bucket(1, 0, now + retry_after, retry_after)
        else:
            state.remaining = 0
            state.reset_at = max(state.reset_at, now + retry_after)

    async def block_global(self, retry_after: float) -> None:
        self._global_until = max(self._global_until, self._clock() + retry_after)

    async def aclose(self) -> None:
        self._buckets.clear()

    def _purge(self, now: float) -> None:
        # Interaction routes make one bucket per token; drop those long past their window.
        stale = [k for k, b in self._buckets.items() if b.reset_at + b.period + 60 < now]
        for key in stale:
            del self._buckets[key]
