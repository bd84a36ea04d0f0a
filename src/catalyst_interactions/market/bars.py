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
    version: str = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        columns = (self.open, self.high, self.low, self.close, self.volume)
        if any(len(col) != n for col in columns):
            raise ValueError("Bars columns must all have the same length")
        if n > 1 and not bool(np.all(np.diff(self.timestamps) > 0)):
            raise ValueError("Bars timestamps must be strictly increasing")
        digest = hashlib.sha256()
        digest.update(f"{self.ticker}|{self.timeframe.value}|{self.tz}|{self.source}|".encode())
        digest.update(b"S" if self.simulated else b"L")
        digest.update(np.ascontiguousarray(self.timestamps, dtype=np.int64).tobytes())
        for col in columns:
            digest.update(np.ascontiguousarray(col, dtype=np.float64).tobytes())
        object.__setattr__(self, "version", digest.hexdigest()[:20])

    def __len__(self) -> int:
        return len(self.timestamps)

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
