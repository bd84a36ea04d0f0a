"""Tiingo over its public REST API: IEX intraday bars, end-of-day bars, IEX top-of-book quote.

Endpoints: ``/iex/{ticker}/prices`` (``resampleFreq=5min|30min``; ``columns`` must ask for
volume explicitly), ``/tiingo/daily/{ticker}/prices`` and ``/iex/{ticker}``. The key travels in
the ``Authorization: Token ...`` header, never in the URL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from ._http import VendorProvider
from .assemble import BarsRequest
from .bars import Bars, Quote, normalize_ticker
from .errors import NoBarsYet, UnknownTicker
from .timeframe import Timeframe

NAME = "Tiingo"
_RESAMPLE = {Timeframe.D1: "5min", Timeframe.D5: "30min"}


# -- Tiingo's payloads, as documented (fields we do not read are ignored) --------------------
class _IexBar(msgspec.Struct):
    """One bar of ``/iex/{T}/prices`` (``columns`` asks for volume)."""

    date: datetime  # start of the bar
    open: float
    high: float
    low: float
    close: float
    volume: float | None = None


class _DailyBar(msgspec.Struct, rename="camel"):
    """One bar of ``/tiingo/daily/{T}/prices``; the adjusted columns when Tiingo has them."""

    date: datetime  # midnight UTC of the session's date
    open: float
    high: float
    low: float
    close: float
    volume: float
    adj_open: float | None = None
    adj_high: float | None = None
    adj_low: float | None = None
    adj_close: float | None = None
    adj_volume: float | None = None


class _IexTop(msgspec.Struct, rename="camel"):
    """``/iex/{T}`` top of book (a list of one; empty for a symbol IEX lacks)."""

    timestamp: datetime
    prev_close: float
    tngo_last: float | None = None
    last: float | None = None
    volume: float | None = None


def _utc(moment: datetime) -> datetime:
    """Tiingo's times carry a zone; one without is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _or(adjusted: float | None, raw: float) -> float:
    return raw if adjusted is None else adjusted


class TiingoProvider(VendorProvider):
    """:class:`MarketDataProvider` backed by Tiingo. Close it with :meth:`aclose`."""

    name = NAME
    default_base_url = "https://api.tiingo.com"
    auth_scheme = "Token"

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        symbol = normalize_ticker(ticker)
        asked = BarsRequest(symbol, timeframe, history, NAME, self._clock())
        start = asked.fetch_from.isoformat()
        if timeframe.spec.intraday:
            params = {
                "startDate": start,
                "resampleFreq": _RESAMPLE[timeframe],
                "columns": "open,high,low,close,volume",
                "afterHours": "false",
            }
            bars = await self.get(f"/iex/{symbol}/prices", params, list[_IexBar])
            if bars is None:
                raise UnknownTicker(symbol)
            if not bars:
                await self._raise_empty(symbol)
            return asked.intraday(
                [
                    (int(_utc(b.date).timestamp()), b.open, b.high, b.low, b.close, b.volume or 0.0)
                    for b in bars
                ]
            )
        params = {"startDate": start, "resampleFreq": "daily"}
        daily = await self.get(f"/tiingo/daily/{symbol}/prices", params, list[_DailyBar])
        if daily is None:
            raise UnknownTicker(symbol)
        # Adjusted columns keep a split from showing as a cliff on 3M/1Y charts.
        return asked.daily(
            [
                (
                    b.date.date(),
                    _or(b.adj_open, b.open),
                    _or(b.adj_high, b.high),
                    _or(b.adj_low, b.low),
                    _or(b.adj_close, b.close),
                    _or(b.adj_volume, b.volume),
                )
                for b in daily
            ]
        )

    async def quote(self, ticker: str) -> Quote:
        symbol = normalize_ticker(ticker)
        tops = await self.get(f"/iex/{symbol}", {}, list[_IexTop])
        # Tiingo answers an unknown IEX symbol with an empty list (or a 404 detail).
        if not tops:
            raise UnknownTicker(symbol)
        top = tops[0]
        last = top.tngo_last or top.last
        if last is None:
            raise NoBarsYet("No trades yet today.")
        return Quote.against_close(
            ticker=symbol,
            last=last,
            previous_close=top.prev_close,
            volume=top.volume or 0.0,
            as_of=_utc(top.timestamp),
            source=NAME,
        )

    async def _raise_empty(self, symbol: str) -> None:
        """An empty intraday list means either "not open yet" or "no such symbol": ask meta."""
        if await self.get(f"/tiingo/daily/{symbol}", {}, object) is None:
            raise UnknownTicker(symbol)
        raise NoBarsYet()
