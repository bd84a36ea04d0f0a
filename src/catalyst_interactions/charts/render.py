"""Chart rendering: matplotlib ``Figure`` + ``FigureCanvasAgg``, never pyplot or rcParams.

Entry points are top-level functions of picklable values, so a worker can run them in a
process pool. Panels are pixel rectangles (see :mod:`._canvas`): candles are one
``LineCollection`` of wicks plus one ``PolyCollection`` of bodies, volume one more, the
overlays one ``LineCollection``, and ticks are a handful of texts. Bar indices are the x
coordinate, so nights and weekends leave no gaps. Identical input gives identical bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Wedge
from matplotlib.ticker import MaxNLocator

from ..market.bars import Bars, FloatArray, Quote
from ..market.timeframe import Timeframe
from . import _canvas as cv
from . import indicators as ind
from . import theme
from ._text import TextLayer, text_width
from .catalog import BY_NAME, NAMES, OVERLAYS
from .warmup import short_of_history

_W = theme.WIDTH_IN * theme.DPI
_H = theme.HEIGHT_IN * theme.DPI
_LEFT, _RIGHT, _TOP, _BOTTOM, _GAP = 14.0, 1108.0, 588.0, 40.0, 8.0
_WEIGHTS = {"price": 5.0, "volume": 1.3, "rsi": 1.5, "macd": 1.5}
_BODY = 0.36  # half-width of a candle body, in bars


def validate_indicators(names: Iterable[str]) -> frozenset[str]:
    """Lower-case and check indicator names; ``ValueError`` names the unknown ones."""
    chosen = frozenset(n.strip().lower() for n in names)
    unknown = chosen - NAMES
    if unknown:
        raise ValueError(
            f"unknown indicator(s) {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(sorted(NAMES))}"
        )
    return chosen


def panel_names(indicators: Iterable[str]) -> list[str]:
    """Panels of a chart, top to bottom: price, volume, then RSI and MACD when chosen."""
    chosen = validate_indicators(indicators)
    return ["price", "volume"] + [p for p in ("rsi", "macd") if p in chosen]


def layout_panels(names: list[str], n_bars: int) -> list[cv.Panel]:
    """Pixel rectangles for ``names`` stacked top to bottom."""
    weights = [_WEIGHTS.get(name, 1.0) for name in names]
    usable = _TOP - _BOTTOM - _GAP * (len(names) - 1)
    panels, top = [], _TOP
    for name, w in zip(names, weights, strict=True):
        h = usable * w / sum(weights)
        panels.append(cv.Panel(name, _LEFT, top - h, _RIGHT, top, last=max(n_bars, 1) - 0.2))
        top -= h + _GAP
    return panels


def render_chart(
    bars: Bars,
    *,
    ticker: str,
    timeframe: Timeframe,
    indicators: frozenset[str] = frozenset(),
    quote: Quote | None = None,
) -> bytes:
    """Candlesticks, volume, overlays and optional RSI/MACD panels as a 1200x675 PNG."""
    fig = build_figure(bars, ticker=ticker, timeframe=timeframe, indicators=indicators, quote=quote)
    return cv.to_png(fig)


def build_figure(
    bars: Bars,
    *,
    ticker: str,
    timeframe: Timeframe,
    indicators: frozenset[str] = frozenset(),
    quote: Quote | None = None,
) -> Figure:
    """Assemble the chart figure without drawing it.

    ``bars`` may carry history before ``bars.start``: indicators are computed over it and
    only the range from ``start`` on is drawn.
    """
    chosen = validate_indicators(indicators)
    series = ind.chart_series(bars, chosen)
    short = short_of_history(sorted(chosen), bars.history)
    # The provider's earliest bar: the note names it, history before the window included.
    earliest = (
        datetime.fromtimestamp(float(bars.timestamps[0]), ZoneInfo(bars.tz))
        if short and len(bars)
        else None
    )
    bars = bars.window()
    if len(bars) == 0:
        raise ValueError("cannot chart an empty series")
    fig = _new_figure()
    tl, wm = TextLayer(theme.DPI), TextLayer(theme.DPI)
    panels = {p.name: p for p in layout_panels(panel_names(chosen), len(bars))}
    x = np.arange(len(bars), dtype=np.float64)
    times = _local_times(bars)
    price = panels["price"]

    overlay = _overlay_series(series, chosen & OVERLAYS)
    _fit(price, [bars.low, bars.high, *(s for _, _, s in overlay)], headroom=0.16)
    grid: list[FloatArray] = []
    _y_axis(tl, price, grid, 6, _price_label)
    _candles(fig, price, x, bars)
    _draw_overlays(fig, tl, price, x, overlay, bars)

    vol = panels["volume"]
    vol.lo, vol.hi = 0.0, float(np.nanmax(bars.volume) or 1.0) * 1.12
    _y_axis(tl, vol, grid, 2, _compact, skip_zero=True)
    up = bars.close >= bars.open
    colors = np.where(up[:, None], cv.rgba(theme.UP_VOLUME), cv.rgba(theme.DOWN_VOLUME))
    xs = vol.px(x)
    half = vol.bar_width * _BODY
    cv.boxes(
        fig,
        xs - half,
        xs + half,
        np.full(len(x), vol.y0),
        vol.py(bars.volume),
        colors=colors,
        clip=vol,
    )
    _panel_label(tl, vol, "Volume", theme.MUTED)

    if "rsi" in panels:
        _rsi(fig, tl, panels["rsi"], x, series["rsi"], grid)
    if "macd" in panels:
        _macd(fig, tl, panels["macd"], x, series, grid)
    if short:
        _history_note(tl, price, earliest if earliest is not None else times[0], short)

    pos, tick_labels = _x_ticks(times, timeframe)
    bottom = list(panels.values())[-1]
    for p in panels.values():
        grid += [
            np.array([[px, p.y0], [px, p.y1]]) for px in p.px(np.asarray(pos, dtype=np.float64))
        ]
        grid.append(
            np.array([[p.x0, p.y0], [p.x1, p.y0], [p.x1, p.y1], [p.x0, p.y1], [p.x0, p.y0]])
        )
    for px, label in zip(bottom.px(np.asarray(pos, dtype=np.float64)), tick_labels, strict=True):
        half = text_width(label, theme.TICK_SIZE * theme.DPI / 72) / 2
        tl.add(
            min(max(float(px), bottom.x0 + half), bottom.x1 - half),  # keep edge labels on canvas
            bottom.y0 - 8,
            label,
            color=theme.TEXT,
            size=theme.TICK_SIZE,
            ha="center",
            va="top",
        )
    cv.lines(fig, grid, colors=theme.GRID, width=0.7, z=0.5, antialiased=False)
    _title(tl, bars, ticker, timeframe.value, quote)
    if bars.simulated:
        _watermark(wm, price)
    wm.draw_into(fig, zorder=0.8)
    tl.draw_into(fig)
    return fig


# --------------------------------------------------------------------------- pieces


def _new_figure(width: float = theme.WIDTH_IN, height: float = theme.HEIGHT_IN) -> Figure:
    return Figure(figsize=(width, height), dpi=theme.DPI, facecolor=theme.BACKGROUND)


def _local_times(bars: Bars) -> list[datetime]:
    tz = ZoneInfo(bars.tz)
    return [datetime.fromtimestamp(t, tz) for t in bars.timestamps.tolist()]


def _fit(panel: cv.Panel, series: list[FloatArray], headroom: float = 0.06) -> None:
    finite = [s[np.isfinite(s)] for s in series]
    values = np.concatenate(finite) if finite else np.empty(0)
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    pad = (hi - lo) * 0.06 or max(abs(hi) * 0.01, 0.01)
    panel.lo, panel.hi = lo - pad, hi + pad + (hi - lo) * headroom


def _y_axis(
    tl: TextLayer,
    panel: cv.Panel,
    grid: list[FloatArray],
    nbins: int,
    fmt: Callable[[float], str],
    skip_zero: bool = False,
) -> None:
    """Horizontal grid lines and right-hand labels at 'nice' values inside the panel."""
    locator = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10])
    ticks = np.asarray(locator.tick_values(panel.lo, panel.hi), dtype=np.float64)
    ticks = ticks[(ticks >= panel.lo) & (ticks <= panel.hi)]
    if skip_zero:
        ticks = ticks[ticks > 0]
    for value, y in zip(ticks.tolist(), panel.py(ticks).tolist(), strict=True):
        if y > panel.y1 - 6 or y < panel.y0 + 6:
            continue
        grid.append(np.array([[panel.x0, y], [panel.x1, y]]))
        tl.add(
            panel.x1 + 7,
            float(y),
            fmt(float(value)),
            color=theme.TEXT,
            size=theme.TICK_SIZE,
            va="center",
        )


def _price_label(value: float) -> str:
    return f"{value:,.2f}" if abs(value) < 10_000 else f"{value:,.0f}"


def _compact(value: float) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= div:
            return f"{value / div:.1f}{unit}"
    return f"{value:.0f}"


def _panel_label(tl: TextLayer, panel: cv.Panel, label: str, color: str, dx: float = 0.0) -> float:
    return tl.add(
        panel.x0 + 6 + dx,
        panel.y1 - 5,
        label,
        color=color,
        size=theme.LABEL_SIZE,
        va="top",
        bold=True,
    )


def _candles(fig: Figure, panel: cv.Panel, x: FloatArray, bars: Bars) -> None:
    up = bars.close >= bars.open
    colors = np.where(up[:, None], cv.rgba(theme.UP), cv.rgba(theme.DOWN))
    xs = np.round(panel.px(x)) + 0.5  # pixel centres keep 1-px wicks crisp
    wicks = np.stack(
        [np.column_stack([xs, panel.py(bars.low)]), np.column_stack([xs, panel.py(bars.high)])],
        axis=1,
    )
    cv.lines(fig, wicks, colors=colors, width=0.75, clip=panel, antialiased=False)
    half = max(panel.bar_width * _BODY, 0.5)
    lo = panel.py(np.minimum(bars.open, bars.close))
    hi = panel.py(np.maximum(bars.open, bars.close))
    hi = np.maximum(hi, lo + 1.0)  # a doji still shows as a 1-px body
    cv.boxes(fig, xs - half, xs + half, lo, hi, colors=colors, clip=panel)


_Overlay = tuple[str, str, FloatArray]


def _overlay_series(series: dict[str, FloatArray], chosen: frozenset[str]) -> list[_Overlay]:
    out: list[_Overlay] = []
    if "bollinger" in chosen:
        color = theme.OVERLAY_COLORS["bollinger"]
        out += [
            ("BB 20, 2", color, series["bollinger.upper"]),
            ("", color, series["bollinger.lower"]),
            ("", color, series["bollinger.mid"]),
        ]
    for name in ("sma20", "sma50", "ema9", "ema21", "vwap"):
        if name in chosen:
            out.append((BY_NAME[name].label, theme.OVERLAY_COLORS[name], series[name]))
    return out


def _history_note(tl: TextLayer, panel: cv.Panel, first: datetime, short: list[str]) -> None:
    """Say on the chart which lines lack look-back because the provider has no more."""
    names = ", ".join(BY_NAME[name].label for name in short)
    tl.add(
        panel.x0 + 6,
        panel.y0 + 6,
        f"No price history before {first:%Y-%m-%d}: {names} without full look-back",
        color=theme.WATERMARK,
        size=theme.LABEL_SIZE,
        va="bottom",
    )


def _draw_overlays(
    fig: Figure, tl: TextLayer, panel: cv.Panel, x: FloatArray, overlay: list[_Overlay], bars: Bars
) -> None:
    if not overlay:
        return
    xs = panel.px(x)
    segments: list[FloatArray] = []
    colors: list[str] = []
    if "BB 20, 2" in (label for label, _, _ in overlay):
        upper, lower = overlay[0][2], overlay[1][2]
        ok = np.isfinite(upper)
        if ok.sum() > 1:
            band = np.concatenate(
                [
                    np.column_stack([xs[ok], panel.py(upper[ok])]),
                    np.column_stack([xs[ok][::-1], panel.py(lower[ok][::-1])]),
                ]
            )
            cv.polygon(
                fig, band, color=cv.rgba(theme.OVERLAY_COLORS["bollinger"], 0.12), clip=panel, z=1.0
            )
    for _, color, series in overlay:
        runs = cv.finite_runs(xs, panel.py(series))
        segments += runs
        colors += [color] * len(runs)
    cv.lines(fig, segments, colors=colors, width=1.3, clip=panel, z=2.5)
    dx = 0.0
    for label, color, _ in overlay:
        if label:
            dx += _panel_label(tl, panel, label, color, dx) + 16


def _rsi(
    fig: Figure,
    tl: TextLayer,
    panel: cv.Panel,
    x: FloatArray,
    values: FloatArray,
    grid: list[FloatArray],
) -> None:
    panel.lo, panel.hi = 0.0, 100.0
    xs = panel.px(x)
    cv.lines(
        fig, cv.finite_runs(xs, panel.py(values)), colors=theme.RSI_COLOR, width=1.3, clip=panel
    )
    levels = [np.array([[panel.x0, y], [panel.x1, y]]) for y in panel.py(np.array([30.0, 70.0]))]
    cv.lines(fig, levels, colors=theme.MUTED, width=0.8, clip=panel, dashed=True, z=1.0)
    for level, y in zip((30, 70), panel.py(np.array([30.0, 70.0])), strict=True):
        tl.add(
            panel.x1 + 7,
            float(y),
            str(level),
            color=theme.TEXT,
            size=theme.TICK_SIZE,
            va="center",
        )
    _panel_label(tl, panel, "RSI 14", theme.RSI_COLOR)


def _macd(
    fig: Figure,
    tl: TextLayer,
    panel: cv.Panel,
    x: FloatArray,
    series: dict[str, FloatArray],
    grid: list[FloatArray],
) -> None:
    line, signal, hist = series["macd.line"], series["macd.signal"], series["macd.hist"]
    finite = np.abs(np.concatenate([v[np.isfinite(v)] for v in (line, signal, hist)]))
    span = float(finite.max()) * 1.15 if finite.size and finite.max() > 0 else 1.0
    panel.lo, panel.hi = -span, span
    xs = panel.px(x)
    h = np.nan_to_num(hist)
    colors = np.where((h >= 0)[:, None], cv.rgba(theme.UP_VOLUME), cv.rgba(theme.DOWN_VOLUME))
    half = max(panel.bar_width * _BODY, 0.5)
    cv.boxes(
        fig,
        xs - half,
        xs + half,
        panel.py(np.minimum(h, 0)),
        panel.py(np.maximum(h, 0)),
        colors=colors,
        clip=panel,
    )
    segs = cv.finite_runs(xs, panel.py(line)) + cv.finite_runs(xs, panel.py(signal))
    seg_colors = [theme.MACD_COLOR] * len(cv.finite_runs(xs, panel.py(line)))
    seg_colors += [theme.SIGNAL_COLOR] * (len(segs) - len(seg_colors))
    if segs:
        cv.lines(fig, segs, colors=seg_colors, width=1.2, clip=panel)
    _panel_label(tl, panel, "MACD 12, 26, 9", theme.MACD_COLOR)
    _y_axis(tl, panel, grid, 3, lambda v: f"{v:.2f}")


def _x_ticks(times: list[datetime], timeframe: Timeframe) -> tuple[list[int], list[str]]:
    """Tick positions (bar indices) and labels: hours, sessions, weeks or months."""
    if not times:
        return [], []
    if timeframe is Timeframe.D1:
        pos = [i for i, t in enumerate(times) if t.minute == 0]
        return pos, [times[i].strftime("%H:%M") for i in pos]
    if timeframe is Timeframe.D5:
        pos = [i for i, t in enumerate(times) if i == 0 or t.date() != times[i - 1].date()]
        return pos, [times[i].strftime("%a %d") for i in pos]
    if timeframe is Timeframe.M1:
        pos = [
            i
            for i, t in enumerate(times)
            if i == 0 or t.isocalendar()[1] != times[i - 1].isocalendar()[1]
        ]
        return pos, [times[i].strftime("%b %d") for i in pos]
    pos = [i for i, t in enumerate(times) if i > 0 and t.month != times[i - 1].month]
    if timeframe is Timeframe.M3:
        return pos, [times[i].strftime("%b %Y" if times[i].month == 1 else "%b") for i in pos]
    return pos, [times[i].strftime("%Y" if times[i].month == 1 else "%b") for i in pos]


def _title(tl: TextLayer, bars: Bars, ticker: str, label: str, quote: Quote | None) -> None:
    if quote is not None:
        last, change, pct = quote.last, quote.change, quote.change_pct
    else:
        last = float(bars.close[-1])
        first = float(bars.open[0])
        change = last - first
        pct = change / first * 100.0 if first else 0.0
    color = theme.UP if change >= 0 else theme.DOWN
    arrow = "▲" if change >= 0 else "▼"
    top = _H - 14
    tl.add(
        _LEFT,
        top,
        f"{ticker}  ·  {label}",
        color=theme.TEXT,
        size=theme.TITLE_SIZE,
        bold=True,
        va="top",
    )
    tl.add(
        _RIGHT,
        top,
        f"{last:,.2f}   {arrow} {change:+,.2f} ({pct:+.2f}%)",
        color=color,
        size=theme.TITLE_SIZE,
        bold=True,
        va="top",
        ha="right",
    )
    as_of = bars.as_of.astimezone(ZoneInfo(bars.tz))
    tl.add(
        _LEFT,
        top - 38,
        f"{bars.source} · as of {as_of:%Y-%m-%d %H:%M %Z}",
        color=theme.MUTED,
        size=theme.LABEL_SIZE,
        va="top",
    )
    if bars.simulated or (quote is not None and quote.simulated):
        _simulated_label(tl, top)


def _simulated_label(tl: TextLayer, top: float) -> None:
    """The header's warning that the prices are not real (with the watermark, below)."""
    tl.add(
        _RIGHT,
        top - 38,
        "SIMULATED DATA — NOT REAL PRICES",
        color=theme.WATERMARK,
        size=theme.LABEL_SIZE,
        bold=True,
        va="top",
        ha="right",
    )


def _watermark(tl: TextLayer, panel: cv.Panel) -> None:
    tl.add(
        (panel.x0 + panel.x1) / 2,
        (panel.y0 + panel.y1) / 2,
        "SIMULATED DATA",
        color=theme.WATERMARK,
        size=54,
        bold=True,
        ha="center",
        va="center",
        alpha=0.14,
        rotation=12,
    )


# --------------------------------------------------------------------------- other charts


def render_compare(bars_a: Bars, bars_b: Bars, *, timeframe: Timeframe | None = None) -> bytes:
    """Percentage performance of two tickers since their first common bar, on one chart."""
    tf = timeframe or bars_a.timeframe
    common, ia, ib = np.intersect1d(bars_a.timestamps, bars_b.timestamps, return_indices=True)
    if len(common) < 2:
        raise ValueError("the two series share fewer than two bars")
    fig = _new_figure()
    tl, wm = TextLayer(theme.DPI), TextLayer(theme.DPI)
    (panel,) = layout_panels(["compare"], len(common))
    x = np.arange(len(common), dtype=np.float64)
    perf = [(b.close[i] / b.close[i][0] - 1.0) * 100.0 for b, i in ((bars_a, ia), (bars_b, ib))]
    _fit(panel, [*perf, np.zeros(1)], headroom=0.0)
    grid: list[FloatArray] = []
    _y_axis(tl, panel, grid, 6, lambda v: f"{v:+.1f}%")
    tz = ZoneInfo(bars_a.tz)
    times = [datetime.fromtimestamp(t, tz) for t in common.tolist()]
    pos, labels = _x_ticks(times, tf)
    pos_px = panel.px(np.asarray(pos, dtype=np.float64))
    grid += [np.array([[px, panel.y0], [px, panel.y1]]) for px in pos_px]
    grid.append(
        np.array(
            [
                [panel.x0, panel.y0],
                [panel.x1, panel.y0],
                [panel.x1, panel.y1],
                [panel.x0, panel.y1],
                [panel.x0, panel.y0],
            ]
        )
    )
    cv.lines(fig, grid, colors=theme.GRID, width=0.7, z=0.5, antialiased=False)
    zero = panel.py(np.zeros(1))[0]
    cv.lines(
        fig,
        [np.array([[panel.x0, zero], [panel.x1, zero]])],
        colors=theme.MUTED,
        width=0.8,
        dashed=True,
        clip=panel,
        z=1.0,
    )
    xs = panel.px(x)
    cv.lines(
        fig,
        [np.column_stack([xs, panel.py(p)]) for p in perf],
        colors=list(theme.COMPARE_COLORS),
        width=2.0,
        clip=panel,
    )
    for px, label in zip(pos_px, labels, strict=True):
        tl.add(
            float(px),
            panel.y0 - 8,
            label,
            color=theme.TEXT,
            size=theme.TICK_SIZE,
            ha="center",
            va="top",
        )
    top = _H - 14
    tl.add(
        _LEFT,
        top,
        f"{bars_a.ticker} vs {bars_b.ticker}  ·  {tf.value}",
        color=theme.TEXT,
        size=theme.TITLE_SIZE,
        bold=True,
        va="top",
    )
    right = _RIGHT  # laid out right to left so the two figures never overlap
    for i in (1, 0):
        b, p = (bars_a, bars_b)[i], perf[i]
        right -= 28 + tl.add(
            right,
            top,
            f"{b.ticker} {p[-1]:+.2f}%",
            color=theme.COMPARE_COLORS[i],
            size=theme.TITLE_SIZE,
            bold=True,
            va="top",
            ha="right",
        )
    sources = " · ".join(sorted({bars_a.source, bars_b.source}))
    tl.add(_LEFT, top - 38, sources, color=theme.MUTED, size=theme.LABEL_SIZE, va="top")
    if bars_a.simulated or bars_b.simulated:
        _simulated_label(tl, top)
        _watermark(wm, panel)
    wm.draw_into(fig, zorder=0.8)
    tl.draw_into(fig)
    return cv.to_png(fig)


def render_gauge(score: float) -> bytes:
    """A small sentiment gauge for ``score`` in [-1, 1] (bearish ... bullish), 480x270 PNG."""
    if not math.isfinite(score):
        raise ValueError("score must be a finite number")
    score = max(-1.0, min(1.0, score))
    fig = _new_figure(4.8, 2.7)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(-1.25, 1.25)
    ax.set_ylim(-0.4, 1.1)
    ax.set_aspect("equal")
    bands = (theme.DOWN, "#e57373", theme.MUTED, "#4db6ac", theme.UP)  # bearish -> bullish
    for i, color in enumerate(bands):
        ax.add_patch(Wedge((0, 0), 1.0, 180 - 36 * (i + 1), 180 - 36 * i, width=0.28, color=color))
    angle = math.pi * (1 - (score + 1) / 2)
    ax.plot(
        [0, 0.8 * math.cos(angle)],
        [0, 0.8 * math.sin(angle)],
        color=theme.TEXT,
        linewidth=4,
        solid_capstyle="round",
    )
    ax.add_patch(Wedge((0, 0), 0.07, 0, 360, color=theme.TEXT))
    label = "Bullish" if score > 0.2 else "Bearish" if score < -0.2 else "Neutral"
    color = theme.UP if score > 0.2 else theme.DOWN if score < -0.2 else theme.TEXT
    ax.text(0, -0.3, f"{label}  {score:+.2f}", color=color, fontsize=18, weight="bold", ha="center")
    return cv.to_png(fig)
