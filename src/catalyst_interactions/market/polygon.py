"""Polygon.io (now also served as Massive) over its public REST API.

Bars come from the aggregates endpoint
``/v2/aggs/ticker/{T}/range/{multiplier}/{timespan}/{from}/{to}``; the quote from the single
ticker snapshot ``/v2/snapshot/locale/us/markets/stocks/tickers/{T}``. Polygon answers an
unknown symbol's aggregates with ``200 {"resultsCount": 0}`` and no ``results`` key, exactly
as it answers a range with no trades, so an empty answer is disambiguated with
``/v3/reference/tickers/{T}`` (404 for unknown symbols). The key travels as a Bearer token.
"""

from __future__ import annotations

import msgspec

from ._http import VendorProvider
from ._time import utc_from_epoch
from .assemble import BarsRequest
from .bars import Bars, Quote, normalize_ticker
from .errors import NoBarsYet, UnknownTicker
from .sessions import market_date
from .timeframe import Timeframe

NAME = "Polygon"
_RANGE = {Timeframe.D1: (5, "minute"), Timeframe.D5: (30, "minute")}


# -- Polygon's payloads, as documented (fields we do not read are ignored) -------------------
class _Agg(msgspec.Struct):
    """One aggregate bar."""

    start_ms: int = msgspec.field(name="t")  # epoch ms (daily bars: midnight New York)
    open: float = msgspec.field(name="o")
    high: float = msgspec.field(name="h")
    low: float = msgspec.field(name="l")
    close: float = msgspec.field(name="c")
    volume: float | None = msgspec.field(default=None, name="v")


class _Aggs(msgspec.Struct):
    """``/v2/aggs/...``: ``results`` is left out when nothing matched."""

    status: str
    results: list[_Agg] | None = None


class _Trade(msgspec.Struct):
    price: float | None = msgspec.field(default=None, name="p")


class _Day(msgspec.Struct):
    """Today's bar so far (``day``) or the previous session's (``prevDay``)."""

    close: float | None = msgspec.field(default=None, name="c")
    volume: float | None = msgspec.field(default=None, name="v")


class _Snapshot(msgspec.Struct, rename="camel"):
    last_trade: _Trade | None = None
    day: _Day | None = None
    prev_day: _Day | None = None
    updated: int | None = None  # epoch nanoseconds


class _SnapshotAnswer(msgspec.Struct):
    """``/v2/snapshot/.../tickers/{T}``: no ``ticker`` object for a symbol Polygon lacks."""

    ticker: _Snapshot | None = None


class PolygonProvider(VendorProvider):
    """:class:`MarketDataProvider` backed by Polygon. Close it with :meth:`aclose`."""

    name = NAME
    default_base_url = "https://api.polygon.io"
    auth_scheme = "Bearer"

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        symbol = normalize_ticker(ticker)
        asked = BarsRequest(symbol, timeframe, history, NAME, self._clock())
        multiplier, span = _RANGE.get(timeframe, (1, "day"))
        path = (
            f"/v2/aggs/ticker/{symbol}/range/{multiplier}/{span}/{asked.fetch_from}/{asked.today}"
        )
        params = {"adjusted": "true", "sort": "asc", "limit": "50000"}
        answer = await self.get(path, params, _Aggs)
        if answer is None:
            raise UnknownTicker(symbol)
        if answer.status not in ("OK", "DELAYED"):
            raise self.shape_error()
        results = answer.results or []
        if not results:
            await self._raise_empty(symbol, timeframe)
        if timeframe.spec.intraday:
            return asked.intraday(
                [
                    (r.start_ms // 1000, r.open, r.high, r.low, r.close, r.volume or 0.0)
                    for r in results
                ]
            )
        # Daily bars are stamped at midnight New York time of their session.
        return asked.daily(
            [
                (market_date(r.start_ms / 1000), r.open, r.high, r.low, r.close, r.volume or 0.0)
                for r in results
            ]
        )

    async def quote(self, ticker: str) -> Quote:
        symbol = normalize_ticker(ticker)
        path = f"/v2/snapshot/locale/us/markets/stocks/tickers/{symbol}"
        answer = await self.get(path, {}, _SnapshotAnswer)
        if answer is None or answer.ticker is None:
            raise UnknownTicker(symbol)
        snap = answer.ticker
        day = snap.day or _Day()
        last = (snap.last_trade or _Trade()).price or day.close
        if not last:
            raise NoBarsYet("No trades yet today.")
        if snap.prev_day is None or snap.prev_day.close is None:
            raise self.shape_error()
        return Quote.against_close(
            ticker=symbol,
            last=last,
            previous_close=snap.prev_day.close,
            volume=day.volume or 0.0,
            as_of=utc_from_epoch(snap.updated / 1e9 if snap.updated else self._clock()),
            source=NAME,
        )

    async def _raise_empty(self, symbol: str, timeframe: Timeframe) -> None:
        """No aggregates: either no such symbol or nothing traded yet; the reference says."""
        reference = await self.get(f"/v3/reference/tickers/{symbol}", {}, object)
        if reference is None:
            raise UnknownTicker(symbol)
        if timeframe.spec.intraday:
            raise NoBarsYet()
        raise NoBarsYet("No daily bars are available for this range.")
