from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from store_support import FakeClock

from catalyst_interactions.store import (
    AlreadyWatching,
    InvalidTicker,
    NotWatching,
    Store,
    WatchlistFull,
    normalize_ticker,
)
from catalyst_interactions.tickers import TickerError
from support.ticker_table import IDS, TABLE, Row

USER = "123456789012345678"
OTHER = "876543210987654321"


async def test_add_normalises_and_lists_oldest_first(store: Store, clock: FakeClock) -> None:
    first = await store.watchlists.add(USER, " nvda ", max_size=10)
    clock.advance(minutes=1)
    await store.watchlists.add(USER, "$aapl", max_size=10)
    clock.advance(minutes=1)
    await store.watchlists.add(USER, "brk.b", max_size=10)

    assert first.ticker == "NVDA"
    entries = await store.watchlists.list(USER)
    assert [e.ticker for e in entries] == ["NVDA", "AAPL", "BRK.B"]
    assert entries[1].added_at == clock.now - timedelta(minutes=1)
    assert entries[0].added_at.utcoffset() is not None
    assert await store.watchlists.list(OTHER) == []


async def test_duplicate_is_refused_case_insensitively(store: Store) -> None:
    await store.watchlists.add(USER, "TSLA", max_size=5)
    with pytest.raises(AlreadyWatching):
        await store.watchlists.add(USER, "tsla", max_size=5)
    assert [e.ticker for e in await store.watchlists.list(USER)] == ["TSLA"]


async def test_full_list_refuses_new_tickers_but_not_other_users(store: Store) -> None:
    for ticker in ("A", "B", "C"):
        await store.watchlists.add(USER, ticker, max_size=3)
    with pytest.raises(WatchlistFull) as caught:
        await store.watchlists.add(USER, "D", max_size=3)
    assert caught.value.max_size == 3
    # Re-adding a present ticker to a full list says "already watching", the truer answer.
    with pytest.raises(AlreadyWatching):
        await store.watchlists.add(USER, "A", max_size=3)
    await store.watchlists.add(OTHER, "D", max_size=3)
    assert len(await store.watchlists.list(USER)) == 3


async def test_remove_and_not_watching(store: Store) -> None:
    await store.watchlists.add(USER, "AMC", max_size=5)
    await store.watchlists.remove(USER, "amc")
    assert await store.watchlists.list(USER) == []
    with pytest.raises(NotWatching):
        await store.watchlists.remove(USER, "AMC")
    with pytest.raises(NotWatching):
        await store.watchlists.remove(OTHER, "GME")


async def test_clear_counts_removed_rows(store: Store) -> None:
    for ticker in ("X", "Y"):
        await store.watchlists.add(USER, ticker, max_size=5)
    await store.watchlists.add(OTHER, "Z", max_size=5)
    assert await store.watchlists.clear(USER) == 2
    assert await store.watchlists.clear(USER) == 0
    assert [e.ticker for e in await store.watchlists.list(OTHER)] == ["Z"]


@pytest.mark.parametrize(
    "bad", ["", "   ", "AAPL; DROP TABLE", "TOO-LONG-TICKER-SYMBOL", "A B", "$"]
)
def test_invalid_tickers_are_refused(bad: str) -> None:
    with pytest.raises(InvalidTicker):
        normalize_ticker(bad)


@pytest.mark.parametrize("row", TABLE, ids=IDS)
async def test_the_ticker_table_in_the_store(store: Store, row: Row) -> None:
    """The store keeps exactly the symbols the commands accept, and refuses the rest with
    the member-facing sentence (as its own InvalidTicker, also a TickerError)."""
    if row.symbol is not None:
        entry = await store.watchlists.add(USER, row.typed, max_size=5)
        assert entry.ticker == row.symbol
        assert [e.ticker for e in await store.watchlists.list(USER)] == [row.symbol]
        await store.watchlists.remove(USER, row.typed)
        assert await store.watchlists.list(USER) == []
        return
    for attempt in (
        store.watchlists.add(USER, row.typed, max_size=5),
        store.watchlists.remove(USER, row.typed),
        store.alerts.for_ticker(row.typed, datetime(2024, 1, 1, tzinfo=UTC)),
    ):
        with pytest.raises(InvalidTicker) as info:
            await attempt
        assert isinstance(info.value, TickerError) and str(info.value) == row.refusal
    assert await store.watchlists.list(USER) == []


async def test_add_refuses_an_invalid_ticker_before_touching_the_list(store: Store) -> None:
    with pytest.raises(InvalidTicker):
        await store.watchlists.add(USER, "AAPL; DROP TABLE", max_size=5)
    assert await store.watchlists.list(USER) == []


async def test_concurrent_adds_never_exceed_max_size(store: Store) -> None:
    max_size, attempts = 5, 20
    results = await asyncio.gather(
        *(store.watchlists.add(USER, f"T{i}", max_size=max_size) for i in range(attempts)),
        return_exceptions=True,
    )
    added = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(added) == max_size
    assert all(isinstance(r, WatchlistFull) for r in refused), refused
    stored = await store.watchlists.list(USER)
    assert sorted(e.ticker for e in stored) == sorted(e.ticker for e in added)


async def test_concurrent_adds_of_one_ticker_store_it_once(store: Store) -> None:
    results = await asyncio.gather(
        *(store.watchlists.add(USER, "GME", max_size=5) for _ in range(10)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, AlreadyWatching) for r in results if isinstance(r, BaseException))
    assert [e.ticker for e in await store.watchlists.list(USER)] == ["GME"]
