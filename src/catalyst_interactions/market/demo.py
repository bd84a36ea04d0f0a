"""An offline provider of clearly SIMULATED prices, for ``make run``, demos and tests.

Every series is a deterministic function of (ticker, trading day): a seeded geometric random
walk of daily anchors, and within each session a Brownian bridge from the open to the close
in 78 five-minute bars with a U-shaped volume profile. Daily, 5D and 1D views are therefore
mutually consistent. Every result says ``simulated=True`` and ``source="simulated demo data"``.
Weekends are closed; exchange holidays are not modelled.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np

from ._time import utc_from_epoch
from .bars import Bars, FloatArray, IntArray, Quote, normalize_ticker
from .errors import NoBarsYet, UnknownTicker
from .sessions import (
    MARKET_TZ,
    is_weekday,
    market_date,
    previous_weekday,
    session_close_utc,
    session_open_utc,
)
from .symbols import DEMO_SYMBOLS, unknown_to_demo
from .timeframe import Timeframe

SOURCE = "simulated demo data"
BARS_PER_SESSION = 78
_EPOCH = date(2020, 1, 1)  # day index 0 of every simulated path
_HORIZON = 6000  # trading days of daily anchors (past 2042)
_DAILY_VOL = 0.018
_START_PRICE = {
    "AAPL": 130.0,
    "MSFT": 160.0,
    "NVDA": 60.0,
    "TSLA": 90.0,
    "AMD": 48.0,
    "SPY": 320.0,
    "QQQ": 210.0,
    "AMZN": 95.0,
    "META": 210.0,
    "GOOGL": 68.0,
    "BRK.B": 225.0,
}
_BASE_VOLUME = 40e6


class _Session(NamedTuple):
    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


def _seed(symbol: str) -> int:
    return int.from_bytes(hashlib.sha256(symbol.encode()).digest()[:8], "big")


def _day_index(day: date) -> int:
    return int(np.busday_count(_EPOCH, day))


class DemoProvider:
    """:class:`MarketDataProvider` over simulated data; ``clock`` returns epoch seconds."""

    name = SOURCE

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._anchors: dict[str, tuple[FloatArray, FloatArray]] = {}
        self._sessions: dict[tuple[str, int], _Session] = {}

    def known_symbols(self) -> dict[str, str]:
        """Exactly the symbols simulated here (autocomplete offers these and no others)."""
        return DEMO_SYMBOLS

    def _symbol(self, ticker: str) -> str:
        symbol = normalize_ticker(ticker)
        if symbol not in DEMO_SYMBOLS:
            raise UnknownTicker(symbol, unknown_to_demo(symbol))
        return symbol

    def _daily_anchors(self, symbol: str) -> tuple[FloatArray, FloatArray]:
        """(open, close) of every simulated trading day since the epoch."""
        if symbol not in self._anchors:
            rng = np.random.default_rng([_seed(symbol), 0])
            drift = 0.0004
            returns = rng.normal(drift, _DAILY_VOL, _HORIZON)
            close = _START_PRICE[symbol] * np.exp(np.cumsum(returns))
            gaps = rng.normal(0.0, _DAILY_VOL / 4, _HORIZON)
            prev = np.concatenate(([_START_PRICE[symbol]], close[:-1]))
            self._anchors[symbol] = (prev * np.exp(gaps), close)
        return self._anchors[symbol]

    def _session(self, symbol: str, day: date) -> _Session:
        """The 78 five-minute bars of ``day``."""
        idx = _day_index(day)
        key = (symbol, idx)
        cached = self._sessions.get(key)
        if cached is not None:
            return cached
        opens, closes = self._daily_anchors(symbol)
        o_day, c_day = float(opens[idx]), float(closes[idx])
        rng = np.random.default_rng([_seed(symbol), 1, idx])
        step = _DAILY_VOL / np.sqrt(BARS_PER_SESSION)
        walk = np.concatenate(([0.0], np.cumsum(rng.normal(0.0, step, BARS_PER_SESSION))))
        k = np.arange(BARS_PER_SESSION + 1) / BARS_PER_SESSION
        bridge = walk - k * walk[-1]  # pinned to 0 at both ends
        path = np.exp(np.log(o_day) + k * (np.log(c_day) - np.log(o_day)) + bridge)
        bar_open, bar_close = path[:-1], path[1:]
        wick = np.abs(rng.normal(0.0, step / 2, (2, BARS_PER_SESSION)))
        high = np.maximum(bar_open, bar_close) * np.exp(wick[0])
        low = np.minimum(bar_open, bar_close) * np.exp(-wick[1])
        x = np.linspace(-1.0, 1.0, BARS_PER_SESSION)
        shape = 1.0 + 3.0 * x**2  # busy open and close, quiet lunch
        day_volume = _BASE_VOLUME * float(np.exp(rng.normal(0.0, 0.3)))
        volume = np.round(
            day_volume * shape / shape.sum() * np.exp(rng.normal(0, 0.25, BARS_PER_SESSION))
        )
        ts = session_open_utc(day) + 300 * np.arange(BARS_PER_SESSION, dtype=np.int64)
        session = _Session(ts, bar_open, high, low, bar_close, volume)
        if len(self._sessions) > 4096:
            self._sessions.clear()
        self._sessions[key] = session
        return session

    def _last_session(self, now: float) -> date:
        today = market_date(now)
        if is_weekday(today) and now >= session_open_utc(today):
            return today
        return previous_weekday(today)

    def _completed(self, symbol: str, day: date, now: float, bar_seconds: int = 300) -> _Session:
        """The session cut to bars that have finished by ``now``."""
        s = self._session(symbol, day)
        if now >= session_close_utc(day):
            return s
        n = int((now - session_open_utc(day)) // bar_seconds) * (bar_seconds // 300)
        return _Session(s.ts[:n], s.open[:n], s.high[:n], s.low[:n], s.close[:n], s.volume[:n])

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        symbol = self._symbol(ticker)
        now = self._clock()
        last = self._last_session(now)
        spec = timeframe.spec
        if timeframe is Timeframe.D1:
            days = [last]
        elif timeframe is Timeframe.D5:
            days = [last]
            while len(days) < spec.sessions:
                days.insert(0, previous_weekday(days[0]))
        else:
            first = last - timedelta(days=spec.lookback_days)
            span = range((last - first).days + 1)
            days = [d for d in (first + timedelta(days=i) for i in span) if is_weekday(d)]
        days = [d for d in days if d >= _EPOCH]  # nothing is simulated before the epoch
        rows = [self._bars_of(symbol, d, now, timeframe) for d in days]
        earlier = self._history(symbol, days[0] if days else last, now, timeframe, history)
        cols = [np.concatenate([getattr(r, f) for r in [earlier, *rows]]) for f in _Session._fields]
        if len(cols[0]) == len(earlier.ts):
            raise NoBarsYet()
        return Bars(
            ticker=symbol,
            timeframe=timeframe,
            timestamps=cols[0].astype(np.int64),
            open=cols[1],
            high=cols[2],
            low=cols[3],
            close=cols[4],
            volume=cols[5],
            source=SOURCE,
            simulated=True,
            as_of=utc_from_epoch(now),
            tz=str(MARKET_TZ),
            start=len(earlier.ts),
        )

    def _bars_of(self, symbol: str, day: date, now: float, timeframe: Timeframe) -> _Session:
        """``day``'s bars at ``timeframe``'s width, cut to those finished by ``now``."""
        if timeframe is Timeframe.D1:
            return self._completed(symbol, day, now)
        if timeframe is Timeframe.D5:
            return _resample(self._completed(symbol, day, now, 1800), 6)
        return _daily(self._completed(symbol, day, now), day)

    def _history(
        self, symbol: str, before: date, now: float, timeframe: Timeframe, bars: int
    ) -> _Session:
        """The last ``bars`` bars of the sessions before ``before`` (fewer at the epoch)."""
        parts: list[_Session] = []
        count, day = 0, before
        while count < bars:
            day = previous_weekday(day)
            if day < _EPOCH:
                break
            part = self._bars_of(symbol, day, now, timeframe)
            parts.insert(0, part)
            count += len(part.ts)
        if not parts:
            return _Session(*(np.empty(0, dtype=f) for f in (np.int64, *[np.float64] * 5)))
        cols = [np.concatenate([getattr(p, f) for p in parts])[-bars:] for f in _Session._fields]
        return _Session(*cols)

    async def quote(self, ticker: str) -> Quote:
        symbol = self._symbol(ticker)
        now = self._clock()
        last_day = self._last_session(now)
        today = self._completed(symbol, last_day, now)
        prev_close = float(self._session(symbol, previous_weekday(last_day)).close[-1])
        if len(today.close) == 0:
            raise NoBarsYet("No trades yet today.")
        last = float(today.close[-1])
        return Quote.against_close(
            ticker=symbol,
            last=last,
            previous_close=prev_close,
            volume=float(today.volume.sum()),
            as_of=utc_from_epoch(now),
            source=SOURCE,
            simulated=True,
        )


def _resample(s: _Session, factor: int) -> _Session:
    """Merge ``factor`` consecutive bars (5-min -> 30-min with factor 6)."""
    n = len(s.ts) // factor * factor
    shape = (-1, factor)
    return _Session(
        s.ts[:n:factor],
        s.open[:n:factor],
        s.high[:n].reshape(shape).max(axis=1),
        s.low[:n].reshape(shape).min(axis=1),
        s.close[factor - 1 : n : factor],
        s.volume[:n].reshape(shape).sum(axis=1),
    )


def _daily(s: _Session, day: date) -> _Session:
    if len(s.ts) == 0:
        return s
    return _Session(
        np.asarray([session_close_utc(day)], dtype=np.int64),
        s.open[:1],
        np.asarray([s.high.max()]),
        np.asarray([s.low.min()]),
        s.close[-1:],
        np.asarray([s.volume.sum()]),
    )
