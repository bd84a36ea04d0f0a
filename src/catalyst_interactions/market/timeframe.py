"""Chart timeframes and what each one means for bars, look-back and cache lifetime."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class TimeframeSpec:
    bar_seconds: int  # width of one bar; 86_400 for daily bars
    lookback_days: int  # calendar days of history requested upstream
    sessions: int  # how many trading sessions to keep (intraday) / 0 = all daily bars
    ttl_seconds: float  # how long a fetched series stays fresh in CachedProvider

    @property
    def intraday(self) -> bool:
        return self.bar_seconds < 86_400


class Timeframe(enum.Enum):
    """The chart ranges offered to users; the value is what users type and what custom_ids hold."""

    D1 = "1D"  # 5-minute bars of the last session
    D5 = "5D"  # 30-minute bars of the last five sessions
    M1 = "1M"  # daily bars
    M3 = "3M"  # daily bars
    Y1 = "1Y"  # daily bars (~252)

    @property
    def spec(self) -> TimeframeSpec:
        return _SPECS[self]

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        """Parse ``"1d"``/``"1D"``; raise ``ValueError`` with a readable message otherwise."""
        try:
            return cls(text.strip().upper())
        except ValueError:
            allowed = ", ".join(tf.value for tf in cls)
            raise ValueError(f"unknown timeframe {text!r}; expected one of {allowed}") from None


_SPECS = {
    Timeframe.D1: TimeframeSpec(bar_seconds=300, lookback_days=6, sessions=1, ttl_seconds=60),
    Timeframe.D5: TimeframeSpec(bar_seconds=1800, lookback_days=10, sessions=5, ttl_seconds=300),
    Timeframe.M1: TimeframeSpec(bar_seconds=86_400, lookback_days=31, sessions=0, ttl_seconds=900),
    Timeframe.M3: TimeframeSpec(bar_seconds=86_400, lookback_days=92, sessions=0, ttl_seconds=1800),
    Timeframe.Y1: TimeframeSpec(
        bar_seconds=86_400, lookback_days=366, sessions=0, ttl_seconds=3600
    ),
}
