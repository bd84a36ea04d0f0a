"""Value types handed from providers to renderers: OHLCV bars and a quote.

Both are plain frozen dataclasses of numpy arrays and scalars, so they pickle cheaply into
a rendering process pool.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from .tickers import normalize_ticker as normalize_ticker
from .timeframe import Timeframe

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Bars:
    """OHLCV bars, oldest first.

    ``timestamps`` are UTC epoch seconds: the bar start for intraday bars, the session close
    (16:00 in ``tz``) for daily bars, so that a daily bar shows its own date in ``tz``.
    ``version`` hashes the content (not ``as_of``) and keys the render cache.

    ``start`` is the index of the first bar of the requested range: the bars before it are
    *history* fetched only so that indicators are already running when the chart begins
    (an SMA 50 needs 49 earlier bars). :meth:`window` is what a chart shows. A provider
    returns fewer history bars than asked for only when it has no more.
    """

    ticker: str
    timeframe: Timeframe
    timestamps: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    source: str
    simulated: bool
    as_of: datetime
    tz: str = "America/New_York"
    start: int = 0
    version: str = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        columns = (self.open, self.high, self.low, self.close, self.volume)
        if any(len(col) != n for col in columns):
            raise ValueError("Bars columns must all have the same length")
        if not 0 <= self.start <= n:
            raise ValueError("Bars start must be an index into the bars")
        if n > 1 and not bool(np.all(np.diff(self.timestamps) > 0)):
            raise ValueError("Bars timestamps must be strictly increasing")
        digest = hashlib.sha256()
        digest.update(f"{self.ticker}|{self.timeframe.value}|{self.tz}|{self.source}|".encode())
        digest.update(b"S" if self.simulated else b"L")
        if self.start:
            digest.update(f"|history {self.start}|".encode())
        digest.update(np.ascontiguousarray(self.timestamps, dtype=np.int64).tobytes())
        for col in columns:
            digest.update(np.ascontiguousarray(col, dtype=np.float64).tobytes())
        object.__setattr__(self, "version", digest.hexdigest()[:20])

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def history(self) -> int:
        """How many bars before the requested range are included (see ``start``)."""
        return self.start

    def window(self) -> Bars:
        """Only the requested range (what a chart shows), without the history before it."""
        return self if self.start == 0 else self._slice(self.start, 0)

    def keep_history(self, bars: int) -> Bars:
        """The same range with at most ``bars`` history bars before it."""
        if self.start <= bars:
            return self
        return self._slice(self.start - bars, bars)

    def _slice(self, first: int, start: int) -> Bars:
        return Bars(
            ticker=self.ticker,
            timeframe=self.timeframe,
            timestamps=self.timestamps[first:],
            open=self.open[first:],
            high=self.high[first:],
            low=self.low[first:],
            close=self.close[first:],
            volume=self.volume[first:],
            source=self.source,
            simulated=self.simulated,
            as_of=self.as_of,
            tz=self.tz,
            start=start,
        )

    @classmethod
    def from_columns(
        cls,
        *,
        ticker: str,
        timeframe: Timeframe,
        timestamps: list[int] | IntArray,
        open: list[float] | FloatArray,
        high: list[float] | FloatArray,
        low: list[float] | FloatArray,
        close: list[float] | FloatArray,
        volume: list[float] | FloatArray,
        source: str,
        simulated: bool,
        as_of: datetime,
        tz: str = "America/New_York",
        start: int = 0,
    ) -> Bars:
        """Build from lists or arrays, coercing dtypes (int64 seconds, float64 prices)."""
        return cls(
            ticker=ticker,
            timeframe=timeframe,
            timestamps=np.asarray(timestamps, dtype=np.int64),
            open=np.asarray(open, dtype=np.float64),
            high=np.asarray(high, dtype=np.float64),
            low=np.asarray(low, dtype=np.float64),
            close=np.asarray(close, dtype=np.float64),
            volume=np.asarray(volume, dtype=np.float64),
            source=source,
            simulated=simulated,
            as_of=as_of,
            tz=tz,
            start=start,
        )


@dataclass(frozen=True)
class Quote:
    """Last price and the change against the previous session's close."""

    ticker: str
    last: float
    change: float
    change_pct: float
    volume: float
    as_of: datetime
    source: str
    simulated: bool

    @classmethod
    def against_close(
        cls,
        *,
        ticker: str,
        last: float,
        previous_close: float,
        volume: float,
        as_of: datetime,
        source: str,
        simulated: bool = False,
    ) -> Quote:
        """The quote of ``last`` with its change against ``previous_close`` (0 % when that
        close is 0, as for a first day of trading)."""
        change = last - previous_close
        return cls(
            ticker=ticker,
            last=last,
            change=change,
            change_pct=change / previous_close * 100.0 if previous_close else 0.0,
            volume=volume,
            as_of=as_of,
            source=source,
            simulated=simulated,
        )
