"""Polygon.io (now also served as Massive) over its public REST API.

Bars come from the aggregates endpoint
``/v2/aggs/ticker/{T}/range/{multiplier}/{timespan}/{from}/{to}``; the quote from the single
ticker snapshot ``/v2/snapshot/locale/us/markets/stocks/tickers/{T}``. Polygon answers an
unknown symbol's aggregates with ``200 {"resultsCount": 0}`` and no ``results`` key, exactly
as it answers a range with no trades, so an empty answer is disambiguated with
``/v3/reference/tickers/{T}`` (404 for unknown symbols). The key travels as a Bearer token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from types import TracebackType
from typing import Any

import httpx

from ..secret import Secret
from ._http import finish_daily, finish_intraday, get_json, history_days
from ._time import utc_from_epoch
from .bars import Bars, Quote, normalize_ticker
from .errors import NoBarsYet, ProviderUnavailable, UnknownTicker
from .sessions import market_date
from .timeframe import Timeframe

NAME = "Polygon"
_RANGE = {Timeframe.D1: (5, "minute"), Timeframe.D5: (30, "minute")}


def _shape_error() -> ProviderUnavailable:
    return ProviderUnavailable(f"{NAME} sent data in an unexpected shape.")


class PolygonProvider:
    """:class:`MarketDataProvider` backed by Polygon. Close it with :meth:`aclose`."""

    name = NAME

    def __init__(
        self,
        api_key: Secret,
        *,
        base_url: str = "https://api.polygon.io",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key.reveal()}", "Accept": "application/json"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> PolygonProvider:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        symbol = normalize_ticker(ticker)
        now = self._clock()
        today = market_date(now)
        window_start = today - timedelta(days=timeframe.spec.lookback_days)
        start = window_start - timedelta(days=history_days(timeframe, history))
        multiplier, span = _RANGE.get(timeframe, (1, "day"))
        path = f"/v2/aggs/ticker/{symbol}/range/{multiplier}/{span}/{start}/{today}"
        params = {"adjusted": "true", "sort": "asc", "limit": "50000"}
        status, data = await get_json(self._client, path, params, provider=NAME)
        if status == 404:
            raise UnknownTicker(symbol)
        results = self._results(data)
        if not results:
            await self._raise_empty(symbol, timeframe)
        as_of = utc_from_epoch(now)
        try:
            if timeframe.spec.intraday:
                rows = [
                    (int(r["t"]) // 1000, r["o"], r["h"], r["l"], r["c"], r.get("v", 0.0))
                    for r in results
                ]
                return finish_intraday(
                    ticker=symbol,
                    timeframe=timeframe,
                    rows=rows,
                    source=NAME,
                    as_of=as_of,
                    history=history,
                )
            # Daily bars are stamped at midnight New York time of their session.
            daily: list[tuple[date, float, float, float, float, float]] = [
                (market_date(int(r["t"]) / 1000), r["o"], r["h"], r["l"], r["c"], r.get("v", 0.0))
                for r in results
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise _shape_error() from exc
        return finish_daily(
            ticker=symbol,
            timeframe=timeframe,
            rows=daily,
            source=NAME,
            as_of=as_of,
            window_start=window_start,
            history=history,
        )

    async def quote(self, ticker: str) -> Quote:
        symbol = normalize_ticker(ticker)
        path = f"/v2/snapshot/locale/us/markets/stocks/tickers/{symbol}"
        status, data = await get_json(self._client, path, {}, provider=NAME)
        if status == 404 or (isinstance(data, dict) and "ticker" not in data):
            raise UnknownTicker(symbol)
        try:
            snap: dict[str, Any] = data["ticker"]
            trade = snap.get("lastTrade") or {}
            day = snap.get("day") or {}
            last = trade.get("p") or day.get("c")
            if not last:
                raise NoBarsYet("No trades yet today.")
            prev = float(snap["prevDay"]["c"])
            last = float(last)
            updated_ns = int(snap.get("updated") or 0)
            return Quote(
                ticker=symbol,
                last=last,
                change=last - prev,
                change_pct=(last - prev) / prev * 100.0 if prev else 0.0,
                volume=float(day.get("v") or 0.0),
                as_of=utc_from_epoch(updated_ns / 1e9 if updated_ns else self._clock()),
                source=NAME,
                simulated=False,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _shape_error() from exc

    @staticmethod
    def _results(data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, dict) or data.get("status") not in ("OK", "DELAYED"):
            raise _shape_error()
        results = data.get("results") or []
        if not isinstance(results, list):
            raise _shape_error()
        return results

    async def _raise_empty(self, symbol: str, timeframe: Timeframe) -> None:
        status, _ = await get_json(
            self._client, f"/v3/reference/tickers/{symbol}", {}, provider=NAME
        )
        if status == 404:
            raise UnknownTicker(symbol)
        if timeframe.spec.intraday:
            raise NoBarsYet()
        raise NoBarsYet("No daily bars are available for this range.")
