"""How many bars before a chart's first bar each indicator needs (no numpy: the edge may
import this).

A simple average over ``n`` bars is defined from its ``n``-th bar. An exponential one
(EMA, Wilder's RSI smoothing, MACD) is defined as soon as its seed (the plain mean of the
first ``n`` values) is, but it only *agrees* with the same indicator computed over the
whole history once the seed's weight, ``(1 - alpha) ** k`` after ``k`` more bars, has
faded. We fetch bars until that weight is below :data:`SETTLE`, so a line at the chart's
left edge is the value a trader sees on a platform that computes from the first trade.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

SETTLE = 1e-3
"""Weight of the seed (relative to the true value's) left at the chart's first bar."""


def settle_bars(alpha: float) -> int:
    """Bars until exponential smoothing with ``alpha`` has forgotten its seed to SETTLE."""
    return math.ceil(math.log(SETTLE) / math.log(1.0 - alpha))


def _ema(n: int) -> int:
    return (n - 1) + settle_bars(2.0 / (n + 1))


HISTORY_BARS: dict[str, int] = {
    # VWAP restarts every session on intraday charts and is anchored at the chart's first
    # bar on daily ones: it needs nothing before the chart.
    "vwap": 0,
    "sma20": 19,
    "sma50": 49,
    "bollinger": 19,
    "ema9": _ema(9),
    "ema21": _ema(21),
    # Wilder smoothing (alpha 1/14) seeded by the mean of the first 14 changes.
    "rsi": 14 + settle_bars(1.0 / 14),
    # EMA 26 (the slower line) settled, then the signal EMA 9 of the MACD line settled.
    "macd": _ema(26) + _ema(9),
}
"""History bars per indicator (the names of ``charts.catalog.INDICATORS``)."""

DEFINED_FROM: dict[str, int] = {
    "vwap": 0,
    "sma20": 19,
    "sma50": 49,
    "bollinger": 19,
    "ema9": 8,
    "ema21": 20,
    "rsi": 14,
    "macd": 25 + 8,
}
"""Index of the first bar at which each indicator has a value at all (its signal line for
MACD): with fewer history bars than this, its line starts inside the chart."""


def history_needed(indicators: Iterable[str]) -> int:
    """Bars of history the chart needs for ``indicators`` (the longest one's)."""
    return max((HISTORY_BARS.get(name, 0) for name in indicators), default=0)


def short_of_history(indicators: Iterable[str], available: int) -> list[str]:
    """The indicators that cannot be settled at the chart's first bar with ``available``
    history bars (the provider had no more), in the given order."""
    return [name for name in indicators if HISTORY_BARS.get(name, 0) > available]
