"""A TTL cache with request coalescing in front of any :class:`MarketDataProvider`.

Freshness depends on the timeframe (60 s for 1D up to an hour for 1Y). Concurrent misses for
the same key share one upstream call: the first caller starts a task, later callers await it
through :func:`asyncio.shield`, so one cancelled caller does not cancel the others. Errors are
not cached; the next call tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from .bars import Bars, Quote, normalize_ticker
from .provider import MarketDataProvider
from .timeframe import Timeframe

T = TypeVar("T")
_Key = tuple[str, str]


class CachedProvider:
    """Wraps ``inner``; ``clock`` is monotonic seconds and injectable for tests."""

    def __init__(
        self,
        inner: MarketDataProvider,
        *,
        ttl: Mapping[Timeframe, float] | None = None,
        quote_ttl: float = 15.0,
        max_entries: int = 2048,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = inner.name
        self._inner = inner
        self._ttl = {tf: tf.spec.ttl_seconds for tf in Timeframe} | dict(ttl or {})
        self._quote_ttl = quote_ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[_Key, tuple[float, Any]] = OrderedDict()
        self._inflight: dict[_Key, asyncio.Task[Any]] = {}

    async def bars(self, ticker: str, timeframe: Timeframe) -> Bars:
        symbol = normalize_ticker(ticker)
        return await self._get(
            (symbol, timeframe.value),
            self._ttl[timeframe],
            lambda: self._inner.bars(symbol, timeframe),
        )

    async def quote(self, ticker: str) -> Quote:
        symbol = normalize_ticker(ticker)
        return await self._get(
            (symbol, "quote"), self._quote_ttl, lambda: self._inner.quote(symbol)
        )

    async def _get(self, key: _Key, ttl: float, fetch: Callable[[], Awaitable[T]]) -> T:
        hit = self._entries.get(key)
        if hit is not None:
            expires, value = hit
            if self._clock() < expires:
                self._entries.move_to_end(key)
                return value  # type: ignore[no-any-return]
            del self._entries[key]
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fill(key, ttl, fetch))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        return await asyncio.shield(task)

    async def _fill(self, key: _Key, ttl: float, fetch: Callable[[], Awaitable[T]]) -> T:
        value = await fetch()
        self._entries[key] = (self._clock() + ttl, value)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return value
