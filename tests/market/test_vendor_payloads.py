"""Both HTTP providers decode vendor answers into typed payload structs: an answer that is
JSON but not the documented shape is one clear ProviderUnavailable (never a KeyError or a
TypeError from deep inside), an answer that is not JSON another, and neither names the key
or the URL. Optional fields may be missing or null."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from upstream_server import FakeUpstream, Reply

from catalyst_interactions.market import (
    PolygonProvider,
    ProviderUnavailable,
    TiingoProvider,
    Timeframe,
)
from catalyst_interactions.secret import Secret

pytestmark = pytest.mark.loopback

KEY = "vendor-test-key-abcdef0123"
NOW = datetime(2025, 12, 30, 21, 30, tzinfo=UTC).timestamp()  # Tue 16:30 New York

Provider = PolygonProvider | TiingoProvider
Call = Callable[[Provider], Awaitable[object]]


def polygon(up: FakeUpstream) -> PolygonProvider:
    return PolygonProvider(Secret(KEY), base_url=up.base_url, clock=lambda: NOW)


def tiingo(up: FakeUpstream) -> TiingoProvider:
    return TiingoProvider(Secret(KEY), base_url=up.base_url, clock=lambda: NOW)


def intraday(p: Provider) -> Awaitable[object]:
    return p.bars("AAPL", Timeframe.D1)


def daily(p: Provider) -> Awaitable[object]:
    return p.bars("AAPL", Timeframe.M3)


def quote(p: Provider) -> Awaitable[object]:
    return p.quote("AAPL")


AGG = {"t": 1767105000000, "o": 1.0, "h": 2.0, "l": 0.5, "c": 1.5, "v": 10}
IEX = {"date": "2025-12-30T14:30:00.000Z", "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5}
EOD = {**IEX, "date": "2025-12-29T00:00:00.000Z", "volume": 10}
TOP = {"timestamp": "2025-12-30T10:33:38-05:00", "tngoLast": 2.0, "prevClose": 1.0}

POLYGON_AGGS = "/v2/aggs/ticker/AAPL/*"
POLYGON_SNAPSHOT = "/v2/snapshot/locale/us/markets/stocks/tickers/AAPL"

MALFORMED = [
    # Polygon aggregates
    ("polygon", POLYGON_AGGS, intraday, {"status": "OK", "results": [{**AGG, "t": "today"}]}),
    ("polygon", POLYGON_AGGS, intraday, {"status": "OK", "results": [{"o": 1.0}]}),
    ("polygon", POLYGON_AGGS, daily, {"status": "OK", "results": [{**AGG, "c": None}]}),
    ("polygon", POLYGON_AGGS, daily, {"status": "OK", "results": {"t": 1}}),
    ("polygon", POLYGON_AGGS, daily, {"results": [AGG]}),  # no status
    ("polygon", POLYGON_AGGS, daily, [AGG]),
    # Polygon snapshot
    ("polygon", POLYGON_SNAPSHOT, quote, {"ticker": []}),
    ("polygon", POLYGON_SNAPSHOT, quote, {"ticker": {"lastTrade": {"p": "191.6"}}}),
    ("polygon", POLYGON_SNAPSHOT, quote, {"ticker": {"lastTrade": {"p": 191.6}}}),  # no prevDay
    ("polygon", POLYGON_SNAPSHOT, quote, ["a", "list"]),
    # Tiingo IEX bars
    ("tiingo", "/iex/AAPL/prices", intraday, [{**IEX, "date": "yesterday"}]),
    ("tiingo", "/iex/AAPL/prices", intraday, [{**IEX, "close": None}]),
    ("tiingo", "/iex/AAPL/prices", intraday, [{"open": 1.0}]),
    ("tiingo", "/iex/AAPL/prices", intraday, {"detail": "not a list"}),
    # Tiingo end-of-day bars
    (
        "tiingo",
        "/tiingo/daily/AAPL/prices",
        daily,
        [{k: v for k, v in EOD.items() if k != "volume"}],
    ),
    ("tiingo", "/tiingo/daily/AAPL/prices", daily, [{**EOD, "adjClose": "1.5"}]),
    # Tiingo top of book
    ("tiingo", "/iex/AAPL", quote, [{k: v for k, v in TOP.items() if k != "prevClose"}]),
    ("tiingo", "/iex/AAPL", quote, [{**TOP, "timestamp": 1767108000}]),
    ("tiingo", "/iex/AAPL", quote, {"ticker": "AAPL"}),
]


@pytest.mark.parametrize(
    ("vendor", "route", "call", "body"),
    MALFORMED,
    ids=[f"{v}-{c.__name__}-{i}" for i, (v, _, c, _) in enumerate(MALFORMED)],
)
async def test_an_answer_not_of_the_documented_shape_is_one_clear_error(
    upstream: FakeUpstream,
    caplog: pytest.LogCaptureFixture,
    vendor: str,
    route: str,
    call: Call,
    body: object,
) -> None:
    upstream.routes[route] = Reply(body=body)
    make = polygon if vendor == "polygon" else tiingo
    name = "Polygon" if vendor == "polygon" else "Tiingo"
    with caplog.at_level(logging.WARNING, "catalyst_interactions.market"):
        async with make(upstream) as p:
            with pytest.raises(ProviderUnavailable) as info:
                await call(p)
    assert info.value.user_message == f"{name} sent data in an unexpected shape."
    assert KEY not in caplog.text and upstream.base_url not in caplog.text
    assert len(upstream.seen) == 1  # refused at the first answer, nothing asked after it


@pytest.mark.parametrize("vendor", ["polygon", "tiingo"])
async def test_an_answer_that_is_not_json_is_unreadable(
    upstream: FakeUpstream, vendor: str
) -> None:
    upstream.routes[POLYGON_SNAPSHOT] = upstream.routes["/iex/AAPL"] = Reply(body=b"{not json")
    make = polygon if vendor == "polygon" else tiingo
    async with make(upstream) as p:
        with pytest.raises(ProviderUnavailable) as info:
            await p.quote("AAPL")
    assert info.value.user_message == f"{p.name} sent an unreadable response."


async def test_optional_fields_may_be_missing_or_null(upstream: FakeUpstream) -> None:
    upstream.routes[POLYGON_SNAPSHOT] = Reply(
        body={"ticker": {"day": {"c": 2.0, "v": None}, "prevDay": {"c": 1.0}, "updated": None}}
    )
    upstream.routes["/iex/AAPL"] = Reply(body=[{**TOP, "tngoLast": None, "last": 3.0}])
    async with polygon(upstream) as p:
        from_day = await p.quote("AAPL")
    assert (from_day.last, from_day.change, from_day.volume) == (2.0, 1.0, 0.0)
    async with tiingo(upstream) as t:
        from_last = await t.quote("AAPL")
    assert (from_last.last, from_last.change_pct, from_last.volume) == (3.0, 200.0, 0.0)
    assert from_last.as_of == datetime(2025, 12, 30, 15, 33, 38, tzinfo=UTC)


def test_a_quote_against_a_zero_close_has_no_percentage() -> None:
    """A first day of trading has no previous close to compare with: 0 %, not a division
    by zero."""
    from catalyst_interactions.market import Quote

    first_day = Quote.against_close(
        ticker="NEWCO",
        last=12.0,
        previous_close=0.0,
        volume=5.0,
        as_of=datetime(2025, 12, 30, tzinfo=UTC),
        source="Polygon",
    )
    assert (first_day.change, first_day.change_pct, first_day.simulated) == (12.0, 0.0, False)
    usual = Quote.against_close(
        ticker="AAPL",
        last=110.0,
        previous_close=100.0,
        volume=5.0,
        as_of=datetime(2025, 12, 30, tzinfo=UTC),
        source="Polygon",
    )
    assert (usual.change, usual.change_pct) == (10.0, 10.0)
