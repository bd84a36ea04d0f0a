"""CachedProvider: TTL per timeframe with a fake clock, request coalescing, errors not cached."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from catalyst_interactions.market import (
    Bars,
    CachedProvider,
    DemoProvider,
    ProviderUnavailable,
    Quote,
    Timeframe,
)

NOW = datetime(2025, 12, 30, 22, 0, tzinfo=UTC).timestamp()


class Counting:
    """Wraps the demo provider, counts upstream calls, and can be held at a gate."""

    name = "counting"

    def __init__(self) -> None:
        self.inner = DemoProvider(clock=lambda: NOW)
        self.calls = 0
        self.asked: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        self.calls += 1
        self.asked.append(history)
        await self.gate.wait()
        if self.fail:
            raise ProviderUnavailable()
        return await self.inner.bars(ticker, timeframe, history=history)

    async def quote(self, ticker: str) -> Quote:
        self.calls += 1
        return await self.inner.quote(ticker)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_ttl_depends_on_timeframe() -> None:
    upstream, clock = Counting(), Clock()
    cache = CachedProvider(upstream, clock=clock)
    await cache.bars("AAPL", Timeframe.D1)
    await cache.bars("AAPL", Timeframe.Y1)
    assert upstream.calls == 2
    clock.t += 59
    await cache.bars("aapl", Timeframe.D1)
    assert upstream.calls == 2  # still fresh (same key after normalising)
    clock.t += 2  # 61 s: the 1D entry has expired, the 1Y entry (1 h) has not
    await cache.bars("AAPL", Timeframe.D1)
    await cache.bars("AAPL", Timeframe.Y1)
    assert upstream.calls == 3
    clock.t += 3600
    await cache.bars("AAPL", Timeframe.Y1)
    assert upstream.calls == 4


async def test_ten_concurrent_calls_make_one_fetch() -> None:
    upstream = Counting()
    upstream.gate.clear()
    cache = CachedProvider(upstream, clock=Clock())
    tasks = [asyncio.create_task(cache.bars("MSFT", Timeframe.M1)) for _ in range(10)]
    while upstream.calls == 0:
        await asyncio.sleep(0)
    upstream.gate.set()
    results = await asyncio.gather(*tasks)
    assert upstream.calls == 1
    assert all(r is results[0] for r in results)


async def test_cancelled_caller_does_not_cancel_the_others() -> None:
    upstream = Counting()
    upstream.gate.clear()
    cache = CachedProvider(upstream, clock=Clock())
    first = asyncio.create_task(cache.bars("NVDA", Timeframe.M1))
    second = asyncio.create_task(cache.bars("NVDA", Timeframe.M1))
    while upstream.calls == 0:
        await asyncio.sleep(0)
    first.cancel()
    upstream.gate.set()
    bars = await second
    assert bars.ticker == "NVDA"
    assert upstream.calls == 1
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_errors_are_shared_but_not_cached() -> None:
    upstream = Counting()
    upstream.fail = True
    cache = CachedProvider(upstream, clock=Clock())
    with pytest.raises(ProviderUnavailable):
        await cache.bars("AMD", Timeframe.M3)
    upstream.fail = False
    assert (await cache.bars("AMD", Timeframe.M3)).ticker == "AMD"
    assert upstream.calls == 2


async def test_quote_ttl_and_lru_bound() -> None:
    upstream, clock = Counting(), Clock()
    cache = CachedProvider(upstream, clock=clock, quote_ttl=15, max_entries=2)
    await cache.quote("AAPL")
    await cache.quote("AAPL")
    assert upstream.calls == 1
    await cache.quote("MSFT")
    await cache.quote("NVDA")  # evicts AAPL, the least recently used
    await cache.quote("AAPL")
    assert upstream.calls == 4


async def test_less_history_is_served_from_an_entry_with_more() -> None:
    """Switching a chart's indicators does not refetch: the entry with the most history
    asked so far answers every smaller request, trimmed to exactly what was asked."""
    upstream = Counting()
    cache = CachedProvider(upstream, clock=Clock())
    most = await cache.bars("AAPL", Timeframe.M3, history=154)
    fewer = await cache.bars("AAPL", Timeframe.M3, history=19)
    none = await cache.bars("AAPL", Timeframe.M3)
    assert upstream.asked == [154]
    assert (most.history, fewer.history, none.history) == (154, 19, 0)
    assert fewer.timestamps.tolist() == most.timestamps[154 - 19 :].tolist()
    assert none.timestamps.tolist() == most.window().timestamps.tolist()
    direct = await DemoProvider(clock=lambda: NOW).bars("AAPL", Timeframe.M3, history=19)
    assert fewer.version == direct.version  # same bytes as asking the provider directly
    await cache.bars("AAPL", Timeframe.M3, history=200)  # more than cached: fetched
    assert upstream.asked == [154, 200]
