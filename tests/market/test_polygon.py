"""PolygonProvider against hand-written responses in Polygon's documented shapes, over loopback."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from canned_sessions import (
    NY,
    assert_history_from_12_17,
    assert_history_then_range,
    daily_series,
    intraday_series,
    ny_date,
    regular_bars_between,
    trading_days,
)
from upstream_server import FakeUpstream, Reply, Seen

from catalyst_interactions.charts.warmup import HISTORY_BARS, short_of_history
from catalyst_interactions.market import (
    NoBarsYet,
    PolygonProvider,
    ProviderRateLimited,
    ProviderUnavailable,
    Timeframe,
    UnknownTicker,
)
from catalyst_interactions.secret import Secret

pytestmark = pytest.mark.loopback

KEY = "polygon-test-key-abcdef"
NOW = datetime(2025, 12, 30, 21, 30, tzinfo=UTC).timestamp()  # Tue 16:30 New York
AGGS_1D = "/v2/aggs/ticker/AAPL/range/5/minute/2025-12-24/2025-12-30"


def provider(up: FakeUpstream) -> PolygonProvider:
    return PolygonProvider(Secret(KEY), base_url=up.base_url, clock=lambda: NOW)


def ms(y: int, mo: int, d: int, h: int, mi: int) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp() * 1000)


def agg(t: int, o: float, h: float, low: float, c: float, v: float) -> dict[str, object]:
    return {"v": v, "vw": (h + low + c) / 3, "o": o, "c": c, "h": h, "l": low, "t": t, "n": 12}


def envelope(results: list[dict[str, object]] | None) -> dict[str, object]:
    body: dict[str, object] = {
        "ticker": "AAPL",
        "queryCount": len(results or []),
        "resultsCount": len(results or []),
        "adjusted": True,
        "status": "OK",
        "request_id": "6a7e466379af0a71039d60cc78e72282",
    }
    if results is not None:  # Polygon omits "results" entirely when nothing matched
        body["results"] = results
        body["count"] = len(results)
    return body


async def test_intraday_keeps_last_regular_session(upstream: FakeUpstream) -> None:
    upstream.routes[AGGS_1D] = Reply(
        body=envelope(
            [
                agg(ms(2025, 12, 29, 20, 55), 1, 2, 0.5, 1.5, 10),  # previous session
                agg(ms(2025, 12, 30, 13, 0), 9, 9, 9, 9, 1),  # 08:00 pre-market
                agg(ms(2025, 12, 30, 14, 30), 190.0, 190.9, 189.8, 190.5, 35000),
                agg(ms(2025, 12, 30, 14, 35), 190.5, 191.0, 190.1, 190.2, 21000),
                agg(ms(2025, 12, 30, 21, 5), 8, 8, 8, 8, 1),  # 16:05 after-hours
            ]
        )
    )
    async with provider(upstream) as p:
        bars = await p.bars("AAPL", Timeframe.D1)
    assert bars.timestamps.tolist() == [
        ms(2025, 12, 30, 14, 30) // 1000,
        ms(2025, 12, 30, 14, 35) // 1000,
    ]
    assert bars.close.tolist() == [190.5, 190.2]
    assert bars.volume.tolist() == [35000, 21000]
    assert bars.source == "Polygon"
    req = upstream.seen[0]
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.query == {"adjusted": ["true"], "sort": ["asc"], "limit": ["50000"]}


async def test_daily_bars_are_stamped_at_the_close(upstream: FakeUpstream) -> None:
    # Polygon stamps daily bars at midnight New York: 2025-12-29 05:00 UTC.
    upstream.routes["/v2/aggs/ticker/AAPL/range/1/day/2025-09-29/2025-12-30"] = Reply(
        body=envelope([agg(ms(2025, 12, 29, 5, 0), 250.0, 252.0, 249.0, 251.0, 4.1e7)])
    )
    async with provider(upstream) as p:
        bars = await p.bars("AAPL", Timeframe.M3)
    assert bars.timestamps.tolist() == [int(datetime(2025, 12, 29, 21, 0, tzinfo=UTC).timestamp())]
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0]) == (250.0, 252.0, 249.0, 251.0)


async def test_empty_results_unknown_vs_not_open(upstream: FakeUpstream) -> None:
    upstream.routes[AGGS_1D] = Reply(body=envelope(None))
    upstream.routes["/v3/reference/tickers/AAPL"] = Reply(
        body={
            "request_id": "x",
            "results": {"ticker": "AAPL", "name": "Apple Inc."},
            "status": "OK",
        }
    )
    async with provider(upstream) as p:
        with pytest.raises(NoBarsYet):
            await p.bars("AAPL", Timeframe.D1)
        del upstream.routes["/v3/reference/tickers/AAPL"]
        upstream.routes["/v3/reference/tickers/AAPL"] = Reply(
            404, {"status": "NOT_FOUND", "request_id": "y", "message": "Ticker not found."}
        )
        with pytest.raises(UnknownTicker):
            await p.bars("AAPL", Timeframe.D1)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (
            Reply(
                429,
                {
                    "status": "ERROR",
                    "request_id": "r",
                    "error": "You've exceeded the maximum requests per minute, please wait or "
                    "upgrade your subscription to continue.",
                },
            ),
            ProviderRateLimited,
        ),
        (
            Reply(401, {"status": "ERROR", "request_id": "r", "error": "Unknown API Key"}),
            ProviderUnavailable,
        ),
        (
            Reply(
                403,
                {
                    "status": "NOT_AUTHORIZED",
                    "request_id": "r",
                    "message": "You are not entitled to this data. Please upgrade your plan.",
                },
            ),
            ProviderUnavailable,
        ),
        (
            Reply(500, {"status": "ERROR", "request_id": "r", "error": "internal"}),
            ProviderUnavailable,
        ),
        (Reply(503, ""), ProviderUnavailable),
        (Reply(200, {"status": "ERROR", "request_id": "r", "error": "odd"}), ProviderUnavailable),
    ],
)
async def test_error_mapping(upstream: FakeUpstream, reply: Reply, error: type[Exception]) -> None:
    upstream.routes[AGGS_1D] = reply
    async with provider(upstream) as p:
        with pytest.raises(error) as info:
            await p.bars("AAPL", Timeframe.D1)
    assert KEY not in str(info.value)
    assert "polygon.io" not in str(info.value)


async def test_quote_from_snapshot(upstream: FakeUpstream) -> None:
    upstream.routes["/v2/snapshot/locale/us/markets/stocks/tickers/AAPL"] = Reply(
        body={
            "status": "OK",
            "request_id": "657e430f1ae768891f018e08e03598d8",
            "ticker": {
                "ticker": "AAPL",
                "todaysChangePerc": 0.82,
                "todaysChange": 1.27,
                "updated": 1767108000000000000,
                "day": {"o": 190.0, "h": 192.0, "l": 189.5, "c": 191.5, "v": 42000000, "vw": 191.0},
                "lastTrade": {
                    "c": [14, 41],
                    "i": "4046",
                    "p": 191.62,
                    "s": 100,
                    "t": 1767108000000000000,
                    "x": 10,
                },
                "min": {
                    "o": 191.5,
                    "h": 191.7,
                    "l": 191.4,
                    "c": 191.6,
                    "v": 52000,
                    "vw": 191.55,
                    "t": 1767107940000,
                },
                "prevDay": {
                    "o": 188.0,
                    "h": 190.5,
                    "l": 187.2,
                    "c": 190.0,
                    "v": 50000000,
                    "vw": 189.1,
                },
            },
        }
    )
    async with provider(upstream) as p:
        q = await p.quote("aapl")
    assert q.last == 191.62
    assert q.change == pytest.approx(1.62)
    assert q.change_pct == pytest.approx(1.62 / 190.0 * 100)
    assert q.volume == 42000000
    assert q.as_of == datetime.fromtimestamp(1767108000, UTC)


async def test_quote_unknown_ticker(upstream: FakeUpstream) -> None:
    upstream.routes["/v2/snapshot/locale/us/markets/stocks/tickers/ZZZZ"] = Reply(
        404, {"status": "NOT_FOUND", "request_id": "z", "message": "Ticker not found."}
    )
    async with provider(upstream) as p:
        with pytest.raises(UnknownTicker):
            await p.quote("ZZZZ")


# --- look-back history (issue #14) ---------------------------------------------------------
# At NOW a 1M chart shows the sessions from 2025-11-29 on (its 31 calendar days), so its first
# bar is Mon 2025-12-01 and the history is what precedes it; a 5D chart shows the last five
# sessions (2025-12-23 .. 2025-12-30, Christmas closed), its history ends on 2025-12-22.
FIRST_1M = date(2025, 12, 1)
FIRST_5D = date(2025, 12, 23)


def aggs_in_range(
    series: list[tuple[datetime, float]], extended: Sequence[datetime] = ()
) -> Callable[[Seen], Reply]:
    """A vendor holding ``series`` that answers only the bars inside the asked date range."""

    def answer(seen: Seen) -> Reply:
        first, last = (date.fromisoformat(p) for p in seen.path.rsplit("/", 2)[1:])
        rows = [(t, c) for t, c in series] + [(t, 1.0) for t in extended]
        rows.sort()
        return Reply(
            body=envelope(
                [
                    agg(int(t.timestamp() * 1000), c, c + 0.1, c - 0.1, c, 1000)
                    for t, c in rows
                    if first <= t.astimezone(NY).date() <= last
                ]
            )
        )

    return answer


def asked_range(up: FakeUpstream) -> tuple[date, date]:
    (req,) = up.seen
    first, last = req.path.rsplit("/", 2)[1:]
    return date.fromisoformat(first), date.fromisoformat(last)


def midnight_ny(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=NY)


async def test_daily_history_precedes_the_range(upstream: FakeUpstream) -> None:
    held = daily_series(date(2025, 8, 1), date(2025, 12, 30))
    upstream.routes["/v2/aggs/ticker/AAPL/range/1/day/*"] = aggs_in_range(
        [(midnight_ny(d), c) for d, c in held]
    )
    async with provider(upstream) as p:
        bars = await p.bars("AAPL", Timeframe.M1, history=20)
    first, last = asked_range(upstream)
    assert last == date(2025, 12, 30)
    # The request reaches back far enough for 20 sessions before the chart's first bar.
    assert len(trading_days(first, FIRST_1M - timedelta(days=1))) >= 20
    assert (FIRST_1M - first).days <= 20 * 7 // 5 + 14  # ... and not a year further
    before = [(d, c) for d, c in held if d < FIRST_1M][-20:]
    shown = [(d, c) for d, c in held if d >= FIRST_1M]
    assert [ny_date(int(t)) for t in bars.timestamps] == [d for d, _ in before + shown]
    assert bars.close.tolist() == [c for _, c in before + shown]
    assert bars.start == bars.history == 20
    assert ny_date(int(bars.timestamps[bars.start])) == FIRST_1M
    assert [ny_date(int(t)) for t in bars.window().timestamps] == [d for d, _ in shown]


async def test_daily_history_short_when_the_vendor_has_no_more(upstream: FakeUpstream) -> None:
    listed = date(2025, 11, 20)  # a recent listing: six sessions before the chart's first bar
    held = daily_series(listed, date(2025, 12, 30))
    upstream.routes["/v2/aggs/ticker/AAPL/range/1/day/*"] = aggs_in_range(
        [(midnight_ny(d), c) for d, c in held]
    )
    async with provider(upstream) as p:
        bars = await p.bars("AAPL", Timeframe.M1, history=49)
    expected_history = [d for d, _ in held if d < FIRST_1M]
    assert expected_history == [date(2025, 11, n) for n in (20, 21, 24, 25, 26, 28)]
    assert bars.history == len(expected_history)  # what exists, not what was asked
    assert ny_date(int(bars.timestamps[0])) == listed
    assert ny_date(int(bars.window().timestamps[0])) == FIRST_1M
    # What the chart's "no price history before ..." note is decided from:
    assert short_of_history(["vwap", "sma20", "sma50"], bars.history) == ["sma20", "sma50"]


async def test_intraday_history_precedes_the_range(upstream: FakeUpstream) -> None:
    held = intraday_series(date(2025, 10, 1), date(2025, 12, 30), 30)
    # Polygon also returns pre-market and after-hours bars: they are no history bars.
    extended = [
        datetime(d.year, d.month, d.day, h, 0, tzinfo=NY).astimezone(UTC)
        for d in trading_days(date(2025, 10, 1), date(2025, 12, 30))
        for h in (8, 17)
    ]
    upstream.routes["/v2/aggs/ticker/AAPL/range/30/minute/*"] = aggs_in_range(held, extended)
    history = HISTORY_BARS["macd"]
    async with provider(upstream) as p:
        bars = await p.bars("AAPL", Timeframe.D5, history=history)
    first, _ = asked_range(upstream)
    assert regular_bars_between(first, FIRST_5D - timedelta(days=1), 30) >= history
    assert_history_then_range(bars, held, FIRST_5D, history)


async def test_intraday_history_short_when_the_vendor_has_no_more(upstream: FakeUpstream) -> None:
    held = intraday_series(date(2025, 12, 17), date(2025, 12, 30), 30)
    upstream.routes["/v2/aggs/ticker/AAPL/range/30/minute/*"] = aggs_in_range(held)
    async with provider(upstream) as p:
        bars = await p.bars("AAPL", Timeframe.D5, history=HISTORY_BARS["macd"])
    assert_history_from_12_17(bars, FIRST_5D)


async def test_long_daily_history_is_not_cut_short_by_holidays(upstream: FakeUpstream) -> None:
    # A 3M chart at NOW begins Mon 2025-09-29; MACD needs 154 sessions before it, a stretch
    # with six exchange holidays. The vendor holds the whole year, so all 154 must come back.
    first_3m = date(2025, 9, 29)
    held = daily_series(date(2025, 1, 2), date(2025, 12, 30))
    upstream.routes["/v2/aggs/ticker/AAPL/range/1/day/*"] = aggs_in_range(
        [(midnight_ny(d), c) for d, c in held]
    )
    async with provider(upstream) as p:
        bars = await p.bars("AAPL", Timeframe.M3, history=HISTORY_BARS["macd"])
    first, _ = asked_range(upstream)
    assert len(trading_days(first, first_3m - timedelta(days=1))) >= HISTORY_BARS["macd"]
    assert bars.history == HISTORY_BARS["macd"]
    expected = [d for d, _ in held if d < first_3m][-HISTORY_BARS["macd"] :]
    assert [ny_date(int(t)) for t in bars.timestamps[: bars.start]] == expected
    assert ny_date(int(bars.timestamps[bars.start])) == first_3m
