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
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def bars(self, ticker: str, timeframe: Timeframe) -> Bars:
        self.calls += 1
        await self.gate.wait()
        if self.fail:
            raise ProviderUnavailable()
        return await self.inner.bars(ticker, timeframe)

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
