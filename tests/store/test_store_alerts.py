from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from catalyst_interactions.store import DuplicateAlert, InvalidValue, NewAlert, Store

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


def alert(ticker: str, minutes: int, score: float | None, title: str = "") -> NewAlert:
    return NewAlert(
        ticker=ticker,
        posted_at=T0 + timedelta(minutes=minutes),
        title=title or f"{ticker} catalyst at +{minutes}m",
        price=10.5,
        score=score,
        sentiment=0.25,
        reason="keyword: offering",
        source="businesswire",
        url=f"https://example.test/{ticker}/{minutes}",
    )


async def test_add_round_trips_every_field(store: Store) -> None:
    eastern = timezone(timedelta(hours=-5))
    new = NewAlert(
        ticker="sofi",
        posted_at=datetime(2024, 3, 4, 9, 45, 30, 123456, tzinfo=eastern),
        title="SoFi prices notes",
        price=7.42,
        score=0.67,
        sentiment=-0.2,
        reason="offering",
        source="prnewswire",
        url="https://example.test/sofi",
    )
    stored = await store.alerts.add(new)
    [loaded] = await store.alerts.recent("SOFI")
    assert loaded == stored
    assert loaded.ticker == "SOFI"
    assert loaded.posted_at == datetime(2024, 3, 4, 14, 45, 30, 123456, tzinfo=UTC)
    assert loaded.posted_at.utcoffset() == timedelta(0)
    assert (loaded.price, loaded.score, loaded.sentiment) == (7.42, 0.67, -0.2)
    assert (loaded.reason, loaded.source, loaded.url) == (
        "offering",
        "prnewswire",
        "https://example.test/sofi",
    )


async def test_same_ticker_time_and_title_is_a_duplicate(store: Store) -> None:
    await store.alerts.add(alert("AAPL", 0, 0.8))
    same_instant_other_zone = NewAlert(
        ticker="aapl",
        posted_at=T0.astimezone(timezone(timedelta(hours=2))),
        title="AAPL catalyst at +0m",
    )
    with pytest.raises(DuplicateAlert):
        await store.alerts.add(same_instant_other_zone)
    assert len(await store.alerts.recent()) == 1


async def test_recent_is_newest_first_with_limit_and_ticker_filter(store: Store) -> None:
    for minutes, ticker in [(0, "AAPL"), (5, "TSLA"), (10, "AAPL"), (15, "NVDA")]:
        await store.alerts.add(alert(ticker, minutes, 0.5))
    assert [a.title for a in await store.alerts.recent(limit=2)] == [
        "NVDA catalyst at +15m",
        "AAPL catalyst at +10m",
    ]
    assert [a.title for a in await store.alerts.recent("aapl")] == [
        "AAPL catalyst at +10m",
        "AAPL catalyst at +0m",
    ]
    with pytest.raises(InvalidValue):
        await store.alerts.recent(limit=0)


async def test_for_ticker_since_includes_the_boundary(store: Store) -> None:
    for minutes in (0, 10, 20):
        await store.alerts.add(alert("GME", minutes, 0.4))
    await store.alerts.add(alert("AMC", 15, 0.4))
    found = await store.alerts.for_ticker("GME", since=T0 + timedelta(minutes=10))
    assert [a.posted_at for a in found] == [T0 + timedelta(minutes=20), T0 + timedelta(minutes=10)]


async def test_stats_over_a_window(store: Store) -> None:
    await store.alerts.add(alert("OLD", -60, 0.99))  # before the window
    await store.alerts.add(alert("AAPL", 0, 0.8))
    await store.alerts.add(alert("AAPL", 5, 0.6))
    await store.alerts.add(alert("TSLA", 10, 0.4))
    await store.alerts.add(alert("NVDA", 15, None))  # unscored: counted, not averaged
    stats = await store.alerts.stats(since=T0)
    assert stats.count == 4
    assert stats.unique_tickers == 3
    assert stats.average_score == pytest.approx((0.8 + 0.6 + 0.4) / 3)

    empty = await store.alerts.stats(since=T0 + timedelta(days=1))
    assert (empty.count, empty.unique_tickers, empty.average_score) == (0, 0, None)


async def test_add_many_skips_duplicates_inside_and_across_batches(store: Store) -> None:
    batch = [alert("AAPL", 0, 0.5), alert("AAPL", 0, 0.5), alert("TSLA", 1, 0.5)]
    assert await store.alerts.add_many(batch) == (2, 1)
    assert await store.alerts.add_many(batch) == (0, 3)


async def test_naive_datetimes_are_refused_without_leaking_sqlalchemy(store: Store) -> None:
    with pytest.raises(InvalidValue):
        await store.alerts.add(NewAlert(ticker="AAPL", posted_at=datetime(2024, 1, 1), title="x"))
    with pytest.raises(InvalidValue):
        await store.alerts.for_ticker("AAPL", since=datetime(2024, 1, 1))
