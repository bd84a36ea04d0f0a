"""Rendering on real decoded images: size, determinism, layout, labels, process-pool use."""

from __future__ import annotations

import asyncio
import functools
import io
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from PIL import Image

from catalyst_interactions.charts import theme
from catalyst_interactions.charts.render import (
    build_figure,
    panel_names,
    render_chart,
    render_compare,
    render_gauge,
)
from catalyst_interactions.market import Bars, DemoProvider, Quote, Timeframe

NOW = datetime(2025, 12, 30, 17, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()
ALL = frozenset({"vwap", "sma20", "sma50", "ema9", "ema21", "bollinger", "rsi", "macd"})


def demo_bars(tf: Timeframe, ticker: str = "AAPL") -> Bars:
    return asyncio.run(DemoProvider(clock=lambda: NOW).bars(ticker, tf))


def live_looking(bars: Bars) -> Bars:
    """The same numbers labelled as a real provider's (to check the simulated marks vanish)."""
    return Bars(
        ticker=bars.ticker,
        timeframe=bars.timeframe,
        timestamps=bars.timestamps,
        open=bars.open,
        high=bars.high,
        low=bars.low,
        close=bars.close,
        volume=bars.volume,
        source="Tiingo",
        simulated=False,
        as_of=bars.as_of,
        tz=bars.tz,
    )


def pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB")).astype(np.int16)


def near(rgb: np.ndarray, color: str, tol: int = 12) -> np.ndarray:
    target = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
    mask: np.ndarray = np.all(np.abs(rgb - target) <= tol, axis=-1)
    return mask


def gaps_between_panels(rgb: np.ndarray) -> int:
    """Runs of all-background rows inside the plot area = panels - 1."""
    plot = rgb[95:630, 20:1100]  # inside the top and bottom panel borders
    empty = near(plot, theme.BACKGROUND, tol=2).all(axis=1)
    runs = np.flatnonzero(np.diff(empty.astype(np.int8)) == 1)
    return len(runs)


@pytest.mark.parametrize("tf", list(Timeframe))
def test_every_timeframe_renders_a_small_1200x675_png(tf: Timeframe) -> None:
    png = render_chart(demo_bars(tf), ticker="AAPL", timeframe=tf, indicators=ALL)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) < 200 * 1024
    assert pixels(png).shape == (675, 1200, 3)


def test_identical_input_gives_identical_bytes() -> None:
    bars = demo_bars(Timeframe.D1)
    a = render_chart(bars, ticker="AAPL", timeframe=Timeframe.D1, indicators=frozenset({"vwap"}))
    b = render_chart(bars, ticker="AAPL", timeframe=Timeframe.D1, indicators=frozenset({"vwap"}))
    assert a == b
    c = render_chart(bars, ticker="AAPL", timeframe=Timeframe.D1, indicators=frozenset({"ema9"}))
    assert c != a
    assert b"tEXt" not in a
    assert b"tIME" not in a
    assert b"iTXt" not in a


def test_rsi_and_macd_add_panels() -> None:
    bars = demo_bars(Timeframe.M3)
    counts = {}
    for chosen in (frozenset(), frozenset({"rsi"}), frozenset({"rsi", "macd"})):
        png = render_chart(bars, ticker="AAPL", timeframe=Timeframe.M3, indicators=chosen)
        counts[len(chosen)] = gaps_between_panels(pixels(png))
    assert counts == {0: 1, 1: 2, 2: 3}
    assert panel_names({"macd", "vwap"}) == ["price", "volume", "macd"]


def test_simulated_data_is_marked_and_live_data_is_not() -> None:
    bars = demo_bars(Timeframe.M1)
    sim = pixels(render_chart(bars, ticker="AAPL", timeframe=Timeframe.M1))
    live = pixels(render_chart(live_looking(bars), ticker="AAPL", timeframe=Timeframe.M1))
    # The orange "SIMULATED DATA" label sits under the price in the title band, and the
    # watermark is a faint orange tint across the price panel.
    assert near(sim[40:80, 600:1110], theme.WATERMARK, 30).sum() > 300
    assert near(live[40:80, 600:1110], theme.WATERMARK, 30).sum() == 0
    assert (sim[100:380, 100:1000] != live[100:380, 100:1000]).any(axis=-1).sum() > 2000


@pytest.mark.parametrize(
    ("change", "color", "other"), [(2.5, theme.UP, theme.DOWN), (-2.5, theme.DOWN, theme.UP)]
)
def test_title_change_is_green_or_red(change: float, color: str, other: str) -> None:
    bars = live_looking(demo_bars(Timeframe.D5))
    quote = Quote(
        ticker="AAPL",
        last=200.0,
        change=change,
        change_pct=change / 2,
        volume=1.0,
        as_of=datetime(2025, 12, 30, tzinfo=UTC),
        source="Tiingo",
        simulated=False,
    )
    rgb = pixels(render_chart(bars, ticker="AAPL", timeframe=Timeframe.D5, quote=quote))
    band = rgb[5:45, 600:1110]
    assert near(band, color).sum() > 200
    assert near(band, other).sum() == 0


def test_build_figure_is_a_plain_figure_without_pyplot() -> None:
    import sys

    fig = build_figure(demo_bars(Timeframe.D1), ticker="AAPL", timeframe=Timeframe.D1)
    assert fig.get_size_inches().tolist() == [12.0, 6.75]
    assert fig.dpi == 100
    assert "matplotlib.pyplot" not in sys.modules
    # the whole chart is a handful of artists (collections + one text layer), not one per candle
    assert len(fig.get_children()) < 20


def test_bad_input_is_a_clear_error() -> None:
    bars = demo_bars(Timeframe.D1)
    with pytest.raises(ValueError, match="unknown indicator"):
        render_chart(
            bars, ticker="AAPL", timeframe=Timeframe.D1, indicators=frozenset({"ichimoku"})
        )
    empty = Bars.from_columns(
        ticker="AAPL",
        timeframe=Timeframe.D1,
        timestamps=[],
        open=[],
        high=[],
        low=[],
        close=[],
        volume=[],
        source="Tiingo",
        simulated=False,
        as_of=datetime(2025, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="empty"):
        render_chart(empty, ticker="AAPL", timeframe=Timeframe.D1)


def test_compare_and_gauge() -> None:
    a, b = demo_bars(Timeframe.M3, "AAPL"), demo_bars(Timeframe.M3, "MSFT")
    rgb = pixels(render_compare(a, b))
    assert rgb.shape == (675, 1200, 3)
    for color in theme.COMPARE_COLORS:
        assert near(rgb[100:630, 20:1100], color).sum() > 500
    gauge = render_gauge(0.6)
    assert pixels(gauge).shape == (270, 480, 3)
    assert len(gauge) < 40 * 1024
    assert render_gauge(5.0) == render_gauge(1.0)  # clamped
    with pytest.raises(ValueError, match="finite"):
        render_gauge(float("nan"))
    with pytest.raises(ValueError, match="share fewer"):
        render_compare(a, demo_bars(Timeframe.D1, "MSFT"))


def test_renders_in_a_process_pool_with_identical_bytes() -> None:
    bars = demo_bars(Timeframe.D1)
    job = functools.partial(
        render_chart, bars, ticker="AAPL", timeframe=Timeframe.D1, indicators=frozenset({"vwap"})
    )
    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(job).result(timeout=60)
    assert remote == job()
