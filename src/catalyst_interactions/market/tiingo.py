"""Tiingo over its public REST API: IEX intraday bars, end-of-day bars, IEX top-of-book quote.

Endpoints: ``/iex/{ticker}/prices`` (``resampleFreq=5min|30min``; ``columns`` must ask for
volume explicitly), ``/tiingo/daily/{ticker}/prices`` and ``/iex/{ticker}``. The key travels in
the ``Authorization: Token ...`` header, never in the URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any

import httpx

from ..secret import Secret
from ._http import finish_daily, finish_intraday, get_json, history_days
from ._time import parse_iso, utc_from_epoch
from .bars import Bars, Quote, normalize_ticker
from .errors import NoBarsYet, ProviderUnavailable, UnknownTicker
from .sessions import market_date
from .timeframe import Timeframe

NAME = "Tiingo"
_RESAMPLE = {Timeframe.D1: "5min", Timeframe.D5: "30min"}


def _shape_error() -> ProviderUnavailable:
    return ProviderUnavailable(f"{NAME} sent data in an unexpected shape.")


class TiingoProvider:
    """:class:`MarketDataProvider` backed by Tiingo. Close it with :meth:`aclose`."""

    name = NAME

    def __init__(
        self,
        api_key: Secret,
        *,
        base_url: str = "https://api.tiingo.com",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            headers={"Authorization": f"Token {api_key.reveal()}", "Accept": "application/json"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> TiingoProvider:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _window_start(self, timeframe: Timeframe) -> date:
        return market_date(self._clock()) - timedelta(days=timeframe.spec.lookback_days)

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        symbol = normalize_ticker(ticker)
        as_of = utc_from_epoch(self._clock())
        window_start = self._window_start(timeframe)
        start = (window_start - timedelta(days=history_days(timeframe, history))).isoformat()
        if timeframe.spec.intraday:
            params = {
                "startDate": start,
                "resampleFreq": _RESAMPLE[timeframe],
                "columns": "open,high,low,close,volume",
                "afterHours": "false",
            }
            status, data = await get_json(
                self._client, f"/iex/{symbol}/prices", params, provider=NAME
            )
            if status == 404:
                raise UnknownTicker(symbol)
            rows = self._intraday_rows(data)
            if not rows:
                await self._raise_empty(symbol)
            return finish_intraday(
                ticker=symbol,
                timeframe=timeframe,
                rows=rows,
                source=NAME,
                as_of=as_of,
                history=history,
            )
        params = {"startDate": start, "resampleFreq": "daily"}
        status, data = await get_json(
            self._client, f"/tiingo/daily/{symbol}/prices", params, provider=NAME
        )
        if status == 404:
            raise UnknownTicker(symbol)
        return finish_daily(
            ticker=symbol,
            timeframe=timeframe,
            rows=self._daily_rows(data),
            source=NAME,
            as_of=as_of,
            window_start=window_start,
            history=history,
        )

    async def quote(self, ticker: str) -> Quote:
        symbol = normalize_ticker(ticker)
        status, data = await get_json(self._client, f"/iex/{symbol}", {}, provider=NAME)
        # Tiingo answers an unknown IEX symbol with an empty list (or a 404 detail).
        if status == 404 or data == []:
            raise UnknownTicker(symbol)
        try:
            top: dict[str, Any] = data[0]
            last = top.get("tngoLast") or top.get("last")
            prev = float(top["prevClose"])
            if last is None:
                raise NoBarsYet("No trades yet today.")
            last = float(last)
            return Quote(
                ticker=symbol,
                last=last,
                change=last - prev,
                change_pct=(last - prev) / prev * 100.0 if prev else 0.0,
                volume=float(top.get("volume") or 0.0),
                as_of=parse_iso(top["timestamp"]),
                source=NAME,
                simulated=False,
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise _shape_error() from exc

    async def _raise_empty(self, symbol: str) -> None:
        """An empty intraday list means either "not open yet" or "no such symbol": ask meta."""
        status, _ = await get_json(self._client, f"/tiingo/daily/{symbol}", {}, provider=NAME)
        if status == 404:
            raise UnknownTicker(symbol)
        raise NoBarsYet()

    @staticmethod
    def _intraday_rows(data: Any) -> list[tuple[int, float, float, float, float, float]]:
        try:
            return [
                (
                    int(parse_iso(r["date"]).timestamp()),
                    float(r["open"]),
                    float(r["high"]),
                    float(r["low"]),
                    float(r["close"]),
                    float(r.get("volume") or 0.0),
                )
                for r in data
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise _shape_error() from exc

    @staticmethod
    def _daily_rows(data: Any) -> list[tuple[date, float, float, float, float, float]]:
        # Adjusted columns keep a split from showing as a cliff on 3M/1Y charts.
        try:
            return [
                (
                    datetime.fromisoformat(r["date"][:10]).date(),
                    float(r.get("adjOpen", r["open"])),
                    float(r.get("adjHigh", r["high"])),
                    float(r.get("adjLow", r["low"])),
                    float(r.get("adjClose", r["close"])),
                    float(r.get("adjVolume", r["volume"])),
                )
                for r in data
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise _shape_error() from exc
