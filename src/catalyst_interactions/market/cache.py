"""A TTL cache with request coalescing in front of any :class:`MarketDataProvider`.

Freshness depends on the timeframe (60 s for 1D up to an hour for 1Y). Concurrent misses for
the same key share one upstream call: the first caller starts a task, later callers await it
through :func:`asyncio.shield`, so one cancelled caller does not cancel the others. Errors are
not cached; the next call tries again.

Bars are kept once per ticker and timeframe, with the most history asked for so far: a
request for less history is answered from that entry (trimmed), so switching a chart's
indicators does not refetch.
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
_Flight = tuple[str, str, int]


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
        self._inflight: dict[_Flight, asyncio.Task[Any]] = {}

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        symbol = normalize_ticker(ticker)
        history = max(0, history)
        bars: Bars
        _, bars = await self._get(
            (symbol, timeframe.value),
            history,
            self._ttl[timeframe],
            lambda: self._with_asked(history, self._inner.bars(symbol, timeframe, history=history)),
        )
        return bars.keep_history(history)

    def known_symbols(self) -> dict[str, str] | None:
        """The inner provider's complete symbol list, when it has one."""
        known = getattr(self._inner, "known_symbols", None)
        return known() if callable(known) else None

    async def quote(self, ticker: str) -> Quote:
        symbol = normalize_ticker(ticker)
        _, quote = await self._get(
            (symbol, "quote"),
            0,
            self._quote_ttl,
            lambda: self._with_asked(0, self._inner.quote(symbol)),
        )
        return quote  # type: ignore[no-any-return]

    @staticmethod
    async def _with_asked(asked: int, pending: Awaitable[T]) -> tuple[int, T]:
        return asked, await pending

    async def _get(
        self,
        key: _Key,
        history: int,
        ttl: float,
        fetch: Callable[[], Awaitable[tuple[int, Any]]],
    ) -> tuple[int, Any]:
        """``(history asked of the provider, value)``; an entry that was fetched with at
        least ``history`` answers, a fresh fetch with ``history`` otherwise."""
        hit = self._entries.get(key)
        if hit is not None:
            expires, entry = hit
            if self._clock() < expires and entry[0] >= history:
                self._entries.move_to_end(key)
                return entry  # type: ignore[no-any-return]
            if self._clock() >= expires:
                del self._entries[key]
        flight = (*key, history)
        task = self._inflight.get(flight)
        if task is None:
            task = asyncio.ensure_future(self._fill(key, ttl, fetch))
            self._inflight[flight] = task
            task.add_done_callback(lambda _t: self._inflight.pop(flight, None))
        return await asyncio.shield(task)

    async def _fill(
        self, key: _Key, ttl: float, fetch: Callable[[], Awaitable[tuple[int, Any]]]
    ) -> tuple[int, Any]:
        entry = await fetch()
        current = self._entries.get(key)
        # Keep the entry with more history when two fetches of one key finish.
        if current is None or self._clock() >= current[0] or current[1][0] <= entry[0]:
            self._entries[key] = (self._clock() + ttl, entry)
            self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return entry
