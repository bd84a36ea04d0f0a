"""Chart render benchmark: our renderer per timeframe (cold and cache hit) and mplfinance.

Run: ``.venv/bin/python bench/bench_charts.py [--n 40]``. The mplfinance baseline renders the
same 78 five-minute bars with volume and a VWAP addplot at the same size and dpi; its runs
are interleaved with ours so machine noise hits both alike. Budget (docs/design.md): mplfinance
p50 / ours p50 >= 2.5.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")  # mplfinance goes through pyplot; never open a window

import mplfinance as mpf
import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from catalyst_interactions.charts import indicators as ind
from catalyst_interactions.charts.cache import LocalDiskStore, RenderCache, chart_key
from catalyst_interactions.charts.render import render_chart
from catalyst_interactions.market import Bars, DemoProvider, Timeframe

NOW = datetime(2025, 12, 30, 17, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()
INDICATORS = {
    Timeframe.D1: frozenset({"vwap"}),
    Timeframe.D5: frozenset({"vwap"}),
    Timeframe.M1: frozenset({"sma20", "bollinger"}),
    Timeframe.M3: frozenset({"sma20", "sma50", "rsi", "macd"}),
    Timeframe.Y1: frozenset({"sma50", "ema21", "rsi", "macd"}),
}


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000.0, q))


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def mplfinance_render(bars: Bars) -> bytes:
    index = pd.DatetimeIndex(pd.to_datetime(bars.timestamps, unit="s", utc=True)).tz_convert(
        bars.tz
    )
    frame = pd.DataFrame(
        {
            "Open": bars.open,
            "High": bars.high,
            "Low": bars.low,
            "Close": bars.close,
            "Volume": bars.volume,
        },
        index=index,
    )
    vwap = ind.vwap(bars.high, bars.low, bars.close, bars.volume)
    out = io.BytesIO()
    mpf.plot(
        frame,
        type="candle",
        volume=True,
        style="nightclouds",
        addplot=mpf.make_addplot(vwap),
        figsize=(12, 6.75),
        title="AAPL 1D",
        savefig={"fname": out, "dpi": 100, "format": "png"},
    )
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40, help="iterations per measurement")
    args = parser.parse_args()
    provider = DemoProvider(clock=lambda: NOW)
    series = {tf: asyncio.run(provider.bars("AAPL", tf)) for tf in Timeframe}

    print(
        f"{'timeframe':<10}{'bars':>6}{'cold p50':>10}{'cold p95':>10}"
        f"{'hit p50':>10}{'hit p95':>10}{'KiB':>7}"
    )
    with tempfile.TemporaryDirectory() as root:
        cache = RenderCache(LocalDiskStore(root))
        for tf, bars in series.items():
            chosen = INDICATORS[tf]

            def ours(
                bars: Bars = bars, tf: Timeframe = tf, chosen: frozenset[str] = chosen
            ) -> bytes:
                return render_chart(bars, ticker="AAPL", timeframe=tf, indicators=chosen)

            async def render(ours: Callable[[], bytes] = ours) -> bytes:
                return ours()

            png = ours()
            for _ in range(3):
                ours()
            cold = [timed(ours) for _ in range(args.n)]
            key = chart_key(ticker="AAPL", timeframe=tf, indicators=chosen, version=bars.version)
            asyncio.run(cache.get_or_render(key, render))  # fill

            async def hits(key: str = key, render: Callable[[], object] = render) -> list[float]:
                out = []
                for _ in range(args.n):
                    t = time.perf_counter()
                    _, hit = await cache.get_or_render(key, render)  # type: ignore[arg-type]
                    out.append(time.perf_counter() - t)
                    assert hit
                return out

            hot = asyncio.run(hits())
            print(
                f"{tf.value:<10}{len(bars):>6}{pct(cold, 50):>9.1f}ms{pct(cold, 95):>8.1f}ms"
                f"{pct(hot, 50):>9.3f}ms{pct(hot, 95):>8.3f}ms{len(png) / 1024:>7.0f}"
            )

    day = series[Timeframe.D1]
    ours_1d: list[float] = []
    theirs: list[float] = []
    vwap_only = frozenset({"vwap"})
    for _ in range(3):
        mplfinance_render(day)
        render_chart(day, ticker="AAPL", timeframe=Timeframe.D1, indicators=vwap_only)
    for _ in range(args.n):  # interleaved, so load spikes hit both
        theirs.append(timed(lambda: mplfinance_render(day)))
        ours_1d.append(
            timed(
                lambda: render_chart(
                    day, ticker="AAPL", timeframe=Timeframe.D1, indicators=vwap_only
                )
            )
        )
    ratio = statistics.median(theirs) / statistics.median(ours_1d)
    print()
    print(f"1D, {len(day)} bars, volume + VWAP, 1200x675 PNG, {args.n} interleaved runs each")
    print(f"  mplfinance  p50 {pct(theirs, 50):6.1f} ms  p95 {pct(theirs, 95):6.1f} ms")
    print(f"  ours        p50 {pct(ours_1d, 50):6.1f} ms  p95 {pct(ours_1d, 95):6.1f} ms")
    print(
        f"  ratio mplfinance_p50 / ours_p50 = {ratio:.2f}x  "
        f"(budget >= 2.5x: {'OK' if ratio >= 2.5 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
