"""Technical indicators on numpy arrays, matching TradingView's definitions.

Every function returns arrays as long as its input with ``NaN`` where the indicator is not
yet defined (warm-up), so results line up with bar indices when plotted.

Choices, stated once:
- EMA is seeded with the SMA of its first ``n`` values (TradingView ``ta.ema``), then
  ``alpha = 2 / (n + 1)``.
- RSI uses Wilder's smoothing (``alpha = 1 / n``) seeded with the plain mean of the first
  ``n`` gains and losses (TradingView ``ta.rma``); the first value sits at index ``n``.
- Bollinger bands use the *population* standard deviation (``ddof=0``), as TradingView's
  ``ta.stdev`` does.
- VWAP uses the typical price ``(high + low + close) / 3`` and restarts at every session.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ..market.bars import Bars

Array = npt.NDArray[np.float64]


def _nan(n: int) -> Array:
    return np.full(n, np.nan, dtype=np.float64)


def sma(values: Array, n: int) -> Array:
    """Simple moving average over ``n`` values."""
    x = np.asarray(values, dtype=np.float64)
    out = _nan(len(x))
    if n <= 0 or len(x) < n:
        return out
    csum = np.cumsum(np.concatenate(([0.0], x)))
    out[n - 1 :] = (csum[n:] - csum[:-n]) / n
    return out


def _smooth(x: Array, n: int, alpha: float) -> Array:
    """Exponential smoothing seeded with the mean of the first ``n`` finite values."""
    out = _nan(len(x))
    finite = np.flatnonzero(np.isfinite(x))
    if n <= 0 or len(finite) < n:
        return out
    start = int(finite[0])
    seed_end = start + n - 1
    acc = float(np.mean(x[start : seed_end + 1]))
    out[seed_end] = acc
    keep = 1.0 - alpha
    for i in range(seed_end + 1, len(x)):
        acc = alpha * float(x[i]) + keep * acc
        out[i] = acc
    return out


def ema(values: Array, n: int) -> Array:
    """Exponential moving average, ``alpha = 2 / (n + 1)``, SMA-seeded."""
    return _smooth(np.asarray(values, dtype=np.float64), n, 2.0 / (n + 1))


def rsi(close: Array, n: int = 14) -> Array:
    """Relative strength index with Wilder smoothing; 100 when there were no losses."""
    x = np.asarray(close, dtype=np.float64)
    out = _nan(len(x))
    if len(x) <= n:
        return out
    delta = np.diff(x)
    gain = np.concatenate(([np.nan], np.maximum(delta, 0.0)))
    loss = np.concatenate(([np.nan], np.maximum(-delta, 0.0)))
    avg_gain = _smooth(gain, n, 1.0 / n)
    avg_loss = _smooth(loss, n, 1.0 / n)
    valid = np.isfinite(avg_gain)
    with np.errstate(divide="ignore", invalid="ignore"):
        rs = avg_gain[valid] / avg_loss[valid]
        out[valid] = np.where(avg_loss[valid] == 0.0, 100.0, 100.0 - 100.0 / (1.0 + rs))
    return out


def macd(
    close: Array, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[Array, Array, Array]:
    """(MACD line, signal line, histogram): ``ema(fast) - ema(slow)``, its ``ema(signal)``."""
    x = np.asarray(close, dtype=np.float64)
    line = ema(x, fast) - ema(x, slow)
    sig = _smooth(line, signal, 2.0 / (signal + 1))
    return line, sig, line - sig


def bollinger(close: Array, n: int = 20, k: float = 2.0) -> tuple[Array, Array, Array]:
    """(middle, upper, lower) bands: SMA(n) +/- k population standard deviations."""
    x = np.asarray(close, dtype=np.float64)
    mid = sma(x, n)
    upper, lower = _nan(len(x)), _nan(len(x))
    if n > 0 and len(x) >= n:
        windows = np.lib.stride_tricks.sliding_window_view(x, n)
        sd = windows.std(axis=1, ddof=0)
        upper[n - 1 :] = mid[n - 1 :] + k * sd
        lower[n - 1 :] = mid[n - 1 :] - k * sd
    return mid, upper, lower


def vwap(
    high: Array,
    low: Array,
    close: Array,
    volume: Array,
    session: npt.NDArray[np.int64] | None = None,
) -> Array:
    """Volume-weighted average of the typical price, restarted whenever ``session`` changes.

    ``session`` labels each bar (e.g. its trading date as an ordinal); ``None`` anchors the
    whole series at its first bar. Bars before any volume trades are ``NaN``.
    """
    tp = (np.asarray(high) + np.asarray(low) + np.asarray(close)) / 3.0
    vol = np.asarray(volume, dtype=np.float64)
    pv, cv = tp * vol, vol.copy()
    if session is not None and len(session) > 1:
        starts = np.flatnonzero(np.diff(session) != 0) + 1
        bounds = np.concatenate(([0], starts, [len(vol)]))
        out = _nan(len(vol))
        for a, b in itertools.pairwise(bounds):
            out[a:b] = _anchored(pv[a:b], cv[a:b])
        return out
    return _anchored(pv, cv)


def _anchored(pv: Array, vol: Array) -> Array:
    cum_v = np.cumsum(vol)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cum_v > 0, np.cumsum(pv) / cum_v, np.nan)


def chart_series(bars: Bars, indicators: Iterable[str]) -> dict[str, Array]:
    """Every line a chart of ``bars`` draws for ``indicators``, over the bars it shows.

    Computed over all of ``bars`` (the history before ``bars.start`` included), then cut to
    the chart's range, so lines are already running at the chart's first bar. Keys:
    ``sma20 sma50 ema9 ema21 vwap rsi``, ``bollinger.mid/.upper/.lower``,
    ``macd.line/.signal/.hist``.
    """
    chosen = set(indicators)
    c = bars.close
    start = bars.start
    full: dict[str, Array] = {}
    for name, fn, n in (
        ("sma20", sma, 20),
        ("sma50", sma, 50),
        ("ema9", ema, 9),
        ("ema21", ema, 21),
    ):
        if name in chosen:
            full[name] = fn(c, n)
    if "bollinger" in chosen:
        mid, upper, lower = bollinger(c, 20, 2.0)
        full |= {"bollinger.mid": mid, "bollinger.upper": upper, "bollinger.lower": lower}
    if "rsi" in chosen:
        full["rsi"] = rsi(c, 14)
    if "macd" in chosen:
        line, signal, hist = macd(c, 12, 26, 9)
        full |= {"macd.line": line, "macd.signal": signal, "macd.hist": hist}
    out = {key: values[start:] for key, values in full.items()}
    if "vwap" in chosen:
        shown = slice(start, None)
        if bars.timeframe.spec.intraday:
            # Restarts every session: the chart's sessions need nothing before them.
            tz = ZoneInfo(bars.tz)
            days = [datetime.fromtimestamp(t, tz).toordinal() for t in bars.timestamps[shown]]
            session = np.asarray(days, dtype=np.int64)
        else:
            session = None  # anchored at the chart's first bar
        out["vwap"] = vwap(
            bars.high[shown], bars.low[shown], bars.close[shown], bars.volume[shown], session
        )
    return out
