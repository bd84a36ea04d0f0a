"""TiingoProvider against hand-written responses in Tiingo's documented shapes, over loopback."""

from __future__ import annotations

from collections.abc import Callable
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
    ProviderRateLimited,
    ProviderUnavailable,
    TiingoProvider,
    Timeframe,
    UnknownTicker,
)
from catalyst_interactions.secret import Secret

pytestmark = pytest.mark.loopback

KEY = "tiingo-test-key-0123456789"
# Tuesday 2025-12-30 16:30 New York (EST, UTC-5) = 21:30 UTC.
NOW = datetime(2025, 12, 30, 21, 30, tzinfo=UTC).timestamp()


def provider(up: FakeUpstream) -> TiingoProvider:
    return TiingoProvider(Secret(KEY), base_url=up.base_url, clock=lambda: NOW)


def iex_bar(iso: str, o: float, h: float, low: float, c: float, v: float) -> dict[str, object]:
    return {"date": iso, "close": c, "high": h, "low": low, "open": o, "volume": v}


INTRADAY = [
    # previous session: must be dropped from a 1D chart
    iex_bar("2025-12-29T20:55:00.000Z", 10.0, 10.2, 9.9, 10.1, 500),
    # 09:25 New York: pre-market, outside regular hours
    iex_bar("2025-12-30T14:25:00.000Z", 11.0, 11.0, 11.0, 11.0, 50),
    iex_bar("2025-12-30T14:30:00.000Z", 10.1, 10.6, 10.0, 10.5, 1200),
    iex_bar("2025-12-30T14:35:00.000Z", 10.5, 10.7, 10.4, 10.45, 800),
    iex_bar("2025-12-30T20:55:00.000Z", 10.45, 10.5, 10.3, 10.35, 1500),
]


async def test_intraday_parses_filters_and_sends_key_in_header(upstream: FakeUpstream) -> None:
    upstream.routes["/iex/AAPL/prices"] = Reply(body=INTRADAY)
    async with provider(upstream) as p:
        bars = await p.bars("aapl", Timeframe.D1)
    assert bars.ticker == "AAPL"
    assert bars.source == "Tiingo"
    assert not bars.simulated
    # 14:30Z is 09:30 EST -> epoch for 2025-12-30T14:30:00Z
    first = int(datetime(2025, 12, 30, 14, 30, tzinfo=UTC).timestamp())
    assert bars.timestamps.tolist() == [first, first + 300, first + 6 * 3600 + 1500]
    assert bars.open.tolist() == [10.1, 10.5, 10.45]
    assert bars.high.tolist() == [10.6, 10.7, 10.5]
    assert bars.low.tolist() == [10.0, 10.4, 10.3]
    assert bars.close.tolist() == [10.5, 10.45, 10.35]
    assert bars.volume.tolist() == [1200, 800, 1500]
    (req,) = upstream.seen
    assert req.headers["authorization"] == f"Token {KEY}"
    assert req.query["resampleFreq"] == ["5min"]
    assert "volume" in req.query["columns"][0]
    assert KEY not in req.path
    assert all(KEY not in v[0] for v in req.query.values())
    assert KEY not in repr(p.__dict__)


async def test_daily_uses_adjusted_columns_and_stamps_the_close(upstream: FakeUpstream) -> None:
    upstream.routes["/tiingo/daily/PG/prices"] = Reply(
        body=[
            {
                "date": "2025-12-29T00:00:00.000Z",
                "close": 90.44,
                "high": 91.0,
                "low": 89.92,
                "open": 90.84,
                "volume": 7255394,
                "adjClose": 74.3979026216,
                "adjHigh": 74.8585707493,
                "adjLow": 73.9701393602,
                "adjOpen": 74.7269512843,
                "adjVolume": 7255394,
                "divCash": 0.0,
                "splitFactor": 1.0,
            }
        ]
    )
    async with provider(upstream) as p:
        bars = await p.bars("PG", Timeframe.M1)
    # 16:00 EST on 2025-12-29 = 21:00 UTC
    assert bars.timestamps.tolist() == [int(datetime(2025, 12, 29, 21, 0, tzinfo=UTC).timestamp())]
    assert bars.close.tolist() == [74.3979026216]
    assert bars.open.tolist() == [74.7269512843]
    assert upstream.seen[0].query["startDate"] == [str(date(2025, 11, 29))]


async def test_404_detail_is_unknown_ticker(upstream: FakeUpstream) -> None:
    upstream.routes["/tiingo/daily/ZZZZ/prices"] = Reply(
        404, {"detail": "Error: Ticker 'ZZZZ' not found"}
    )
    async with provider(upstream) as p:
        with pytest.raises(UnknownTicker) as info:
            await p.bars("ZZZZ", Timeframe.Y1)
    assert info.value.user_message == "Unknown ticker: ZZZZ."


async def test_empty_intraday_for_known_ticker_is_no_bars_yet(upstream: FakeUpstream) -> None:
    upstream.routes["/iex/AAPL/prices"] = Reply(body=[])
    upstream.routes["/tiingo/daily/AAPL"] = Reply(body={"ticker": "AAPL", "name": "Apple Inc"})
    async with provider(upstream) as p:
        with pytest.raises(NoBarsYet):
            await p.bars("AAPL", Timeframe.D1)


async def test_empty_intraday_for_unknown_ticker(upstream: FakeUpstream) -> None:
    upstream.routes["/iex/QQQZ/prices"] = Reply(body=[])
    async with provider(upstream) as p:  # meta lookup falls through to the server's 404
        with pytest.raises(UnknownTicker):
            await p.bars("QQQZ", Timeframe.D1)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(429, {"detail": "Too many requests"}, {"Retry-After": "30"}), ProviderRateLimited),
        # Tiingo reports monthly quota exhaustion as a plain-text 200.
        (
            Reply(200, "You have run over your 500 symbol look up for this month. Please upgrade."),
            ProviderRateLimited,
        ),
        (Reply(502, "<html>Bad Gateway</html>"), ProviderUnavailable),
        (Reply(401, {"detail": "Invalid token."}), ProviderUnavailable),
        (Reply(200, {"unexpected": True}), ProviderUnavailable),
    ],
)
async def test_error_mapping(upstream: FakeUpstream, reply: Reply, error: type[Exception]) -> None:
    upstream.routes["/iex/AAPL/prices"] = reply
    async with provider(upstream) as p:
        with pytest.raises(error) as info:
            await p.bars("AAPL", Timeframe.D5)
    assert KEY not in str(info.value)
    if isinstance(info.value, ProviderRateLimited) and reply.status == 429:
        assert info.value.retry_after == 30.0


async def test_quote_from_top_of_book(upstream: FakeUpstream) -> None:
    upstream.routes["/iex/AAPL"] = Reply(
        body=[
            {
                "ticker": "AAPL",
                "timestamp": "2025-12-30T10:33:38.186520297-05:00",
                "lastSaleTimestamp": "2025-12-30T10:33:38.186520297-05:00",
                "last": 162.37,
                "lastSize": 100,
                "tngoLast": 162.33,
                "prevClose": 154.68,
                "open": 161.83,
                "high": 163.25,
                "low": 160.38,
                "mid": 162.67,
                "volume": 1000,
                "bidSize": 100,
                "bidPrice": 162.34,
                "askSize": 100,
                "askPrice": 163.0,
            }
        ]
    )
    async with provider(upstream) as p:
        q = await p.quote("AAPL")
    assert q.last == 162.33
    assert q.change == pytest.approx(162.33 - 154.68)
    assert q.change_pct == pytest.approx((162.33 - 154.68) / 154.68 * 100)
    assert q.as_of == datetime(2025, 12, 30, 15, 33, 38, 186520, tzinfo=UTC)


async def test_quote_unknown_is_empty_list(upstream: FakeUpstream) -> None:
    upstream.routes["/iex/NOPE"] = Reply(body=[])
    async with provider(upstream) as p:
        with pytest.raises(UnknownTicker):
            await p.quote("NOPE")


async def test_connection_refused_is_unavailable() -> None:
    p = TiingoProvider(Secret(KEY), base_url="http://127.0.0.1:9", clock=lambda: NOW, timeout=2)
    async with p:
        with pytest.raises(ProviderUnavailable):
            await p.bars("AAPL", Timeframe.M3)


async def test_junk_ticker_never_reaches_the_network(upstream: FakeUpstream) -> None:
    async with provider(upstream) as p:
        with pytest.raises(UnknownTicker):
            await p.bars("../../etc/passwd", Timeframe.D1)
    assert upstream.seen == []


# --- look-back history (issue #14) ---------------------------------------------------------
# At NOW a 1M chart shows the sessions from 2025-11-29 on (its 31 calendar days), so its first
# bar is Mon 2025-12-01 and the history is what precedes it; a 5D chart shows the last five
# sessions (2025-12-23 .. 2025-12-30, Christmas closed), its history ends on 2025-12-22.
FIRST_1M = date(2025, 12, 1)
FIRST_5D = date(2025, 12, 23)


def daily_from_start_date(held: list[tuple[date, float]]) -> Callable[[Seen], Reply]:
    """Tiingo's end-of-day endpoint: every bar it holds from ``startDate`` on."""

    def answer(seen: Seen) -> Reply:
        first = date.fromisoformat(seen.query["startDate"][0])
        return Reply(
            body=[
                {
                    "date": f"{d.isoformat()}T00:00:00.000Z",
                    **{k: c for k in ("open", "high", "low", "close")},
                    "volume": 1000,
                }
                for d, c in held
                if d >= first
            ]
        )

    return answer


def iex_from_start_date(held: list[tuple[datetime, float]]) -> Callable[[Seen], Reply]:
    """Tiingo's IEX endpoint (afterHours=false): regular-hours bars from ``startDate`` on."""

    def answer(seen: Seen) -> Reply:
        first = date.fromisoformat(seen.query["startDate"][0])
        return Reply(
            body=[
                iex_bar(t.strftime("%Y-%m-%dT%H:%M:%S.000Z"), c, c, c, c, 100)
                for t, c in held
                if t.astimezone(NY).date() >= first
            ]
        )

    return answer


def asked_start(up: FakeUpstream) -> date:
    (req,) = up.seen
    return date.fromisoformat(req.query["startDate"][0])


async def test_daily_history_precedes_the_range(upstream: FakeUpstream) -> None:
    held = daily_series(date(2025, 8, 1), date(2025, 12, 30))
    upstream.routes["/tiingo/daily/AAPL/prices"] = daily_from_start_date(held)
    async with provider(upstream) as p:
        bars = await p.bars("AAPL", Timeframe.M1, history=20)
    first = asked_start(upstream)
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
    upstream.routes["/tiingo/daily/AAPL/prices"] = daily_from_start_date(held)
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
    upstream.routes["/iex/AAPL/prices"] = iex_from_start_date(held)
    history = HISTORY_BARS["macd"]
    async with provider(upstream) as p:
        bars = await p.bars("AAPL", Timeframe.D5, history=history)
    first = asked_start(upstream)
    assert regular_bars_between(first, FIRST_5D - timedelta(days=1), 30) >= history
    assert_history_then_range(bars, held, FIRST_5D, history)


async def test_intraday_history_short_when_the_vendor_has_no_more(upstream: FakeUpstream) -> None:
    held = intraday_series(date(2025, 12, 17), date(2025, 12, 30), 30)
    upstream.routes["/iex/AAPL/prices"] = iex_from_start_date(held)
    async with provider(upstream) as p:
        bars = await p.bars("AAPL", Timeframe.D5, history=HISTORY_BARS["macd"])
    assert_history_from_12_17(bars, FIRST_5D)


async def test_long_daily_history_is_not_cut_short_by_holidays(upstream: FakeUpstream) -> None:
    # A 3M chart at NOW begins Mon 2025-09-29; MACD needs 154 sessions before it, a stretch
    # with six exchange holidays. The vendor holds the whole year, so all 154 must come back.
    first_3m = date(2025, 9, 29)
    held = daily_series(date(2025, 1, 2), date(2025, 12, 30))
    upstream.routes["/tiingo/daily/AAPL/prices"] = daily_from_start_date(held)
    async with provider(upstream) as p:
        bars = await p.bars("AAPL", Timeframe.M3, history=HISTORY_BARS["macd"])
    first = asked_start(upstream)
    assert len(trading_days(first, first_3m - timedelta(days=1))) >= HISTORY_BARS["macd"]
    assert bars.history == HISTORY_BARS["macd"]
    expected = [d for d, _ in held if d < first_3m][-HISTORY_BARS["macd"] :]
    assert [ny_date(int(t)) for t in bars.timestamps[: bars.start]] == expected
    assert ny_date(int(bars.timestamps[bars.start])) == first_3m
