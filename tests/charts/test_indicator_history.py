"""Every indicator on every timeframe spans the whole chart and equals a reference computed
over the full price history.

The references below are written from the indicators' definitions with plain Python loops
(no numpy, nothing from the code under test). "Full history" is everything the demo
provider has before the chart (its simulated series begins on 2020-01-01) up to 2000 bars:
far more than any seed needs to fade, so it is what a platform computing from the first
trade shows.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from catalyst_interactions.charts.indicators import chart_series
from catalyst_interactions.charts.warmup import history_needed
from catalyst_interactions.market import Bars, CachedProvider, DemoProvider, Timeframe

NOW = datetime(2026, 3, 4, 19, 7, tzinfo=UTC).timestamp()  # Wednesday 14:07 in New York
FULL = 2000
INDICATORS = ("vwap", "sma20", "sma50", "ema9", "ema21", "bollinger", "rsi", "macd")


# -- references from the definitions -----------------------------------------------------
def ref_sma(xs: list[float], n: int) -> list[float | None]:
    out: list[float | None] = [None] * len(xs)
    for i in range(n - 1, len(xs)):
        total = 0.0
        for j in range(i - n + 1, i + 1):
            total += xs[j]
        out[i] = total / n
    return out


def ref_ema(xs: list[float | None], n: int) -> list[float | None]:
    """Seeded with the mean of the first n defined values, then alpha = 2/(n+1)."""
    out: list[float | None] = [None] * len(xs)
    defined = [i for i, v in enumerate(xs) if v is not None]
    if len(defined) < n:
        return out
    first = defined[0]
    seed_at = first + n - 1
    value = sum(float(xs[i]) for i in range(first, seed_at + 1)) / n  # type: ignore[arg-type]
    out[seed_at] = value
    alpha = 2.0 / (n + 1)
    for i in range(seed_at + 1, len(xs)):
        value = alpha * float(xs[i]) + (1 - alpha) * value  # type: ignore[arg-type]
        out[i] = value
    return out


def ref_rsi(xs: list[float], n: int = 14) -> list[float | None]:
    """Wilder: averages of the first n gains/losses, then avg = (avg*(n-1) + new)/n."""
    out: list[float | None] = [None] * len(xs)
    if len(xs) <= n:
        return out
    gains = [max(xs[i] - xs[i - 1], 0.0) for i in range(1, len(xs))]
    losses = [max(xs[i - 1] - xs[i], 0.0) for i in range(1, len(xs))]
    avg_gain = sum(gains[:n]) / n
    avg_loss = sum(losses[:n]) / n
    for i in range(n, len(xs)):
        if i > n:
            avg_gain = (avg_gain * (n - 1) + gains[i - 1]) / n
            avg_loss = (avg_loss * (n - 1) + losses[i - 1]) / n
        out[i] = 100.0 if avg_loss == 0 else 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    return out


def ref_macd(xs: list[float]) -> dict[str, list[float | None]]:
    fast, slow = ref_ema(list(xs), 12), ref_ema(list(xs), 26)
    line: list[float | None] = [
        None if f is None or s is None else f - s for f, s in zip(fast, slow, strict=True)
    ]
    signal = ref_ema(line, 9)
    hist = [None if a is None or b is None else a - b for a, b in zip(line, signal, strict=True)]
    return {"macd.line": line, "macd.signal": signal, "macd.hist": hist}


def ref_bollinger(xs: list[float]) -> dict[str, list[float | None]]:
    mid = ref_sma(xs, 20)
    upper: list[float | None] = [None] * len(xs)
    lower: list[float | None] = [None] * len(xs)
    for i in range(19, len(xs)):
        m = float(mid[i])  # type: ignore[arg-type]
        var = sum((xs[j] - m) ** 2 for j in range(i - 19, i + 1)) / 20  # population
        upper[i], lower[i] = m + 2 * math.sqrt(var), m - 2 * math.sqrt(var)
    return {"bollinger.mid": mid, "bollinger.upper": upper, "bollinger.lower": lower}


def ref_vwap(bars: Bars, first: int) -> list[float | None]:
    """Cumulative typical price x volume / volume, restarting every session (intraday) or
    anchored at the chart's first bar (daily)."""
    tz = ZoneInfo(bars.tz)
    out: list[float | None] = [None] * len(bars)
    pv = vol = 0.0
    day = None
    for i in range(first, len(bars)):
        today = datetime.fromtimestamp(int(bars.timestamps[i]), tz).date()
        if bars.timeframe.spec.intraday and today != day:
            pv = vol = 0.0
        day = today
        typical = (float(bars.high[i]) + float(bars.low[i]) + float(bars.close[i])) / 3
        pv += typical * float(bars.volume[i])
        vol += float(bars.volume[i])
        out[i] = pv / vol if vol > 0 else None
    return out


def reference(name: str, full: Bars, first: int) -> dict[str, list[float | None]]:
    closes = [float(v) for v in full.close]
    if name in ("sma20", "sma50"):
        return {name: ref_sma(closes, int(name[3:]))}
    if name in ("ema9", "ema21"):
        return {name: ref_ema(list(closes), int(name[3:]))}
    if name == "rsi":
        return {name: ref_rsi(closes)}
    if name == "macd":
        return ref_macd(closes)
    if name == "bollinger":
        return ref_bollinger(closes)
    return {"vwap": ref_vwap(full, first)}


# -- the check -------------------------------------------------------------------------------
def _tolerance(
    key: str, window: Bars, expected: dict[str, list[float | None]], first: int
) -> float:
    """A thousandth of the panel's value span: well under one pixel of the drawn line."""
    if key == "rsi":
        return 100 * 1e-3
    if key.startswith("macd"):
        shown = [abs(v) for values in expected.values() for v in values[first:] if v is not None]
        return 2 * max(shown) * 1e-3
    return float(max(window.high) - min(window.low)) * 1e-3


@pytest.mark.parametrize("timeframe", list(Timeframe), ids=lambda tf: tf.value)
def test_every_indicator_spans_the_chart_and_matches_the_full_history(
    timeframe: Timeframe,
) -> None:
    provider = CachedProvider(DemoProvider(clock=lambda: NOW))

    async def fetch() -> tuple[Bars, Bars, dict[str, Bars]]:
        window = await DemoProvider(clock=lambda: NOW).bars("AAPL", timeframe)
        full = await DemoProvider(clock=lambda: NOW).bars("AAPL", timeframe, history=FULL)
        charts = {
            name: await provider.bars("AAPL", timeframe, history=history_needed([name]))
            for name in INDICATORS
        }
        return window, full, charts

    window, full, charts = asyncio.run(fetch())
    assert full.history > 300, "the reference must see far more history than the chart"
    first = full.start  # index of the chart's first bar in the full series
    assert full.timestamps[first:].tolist() == window.timestamps.tolist()
    for name in INDICATORS:
        bars = charts[name]
        # The chart shows exactly the timeframe's range, whatever history it fetched.
        assert bars.window().timestamps.tolist() == window.timestamps.tolist(), name
        drawn = chart_series(bars, {name})
        expected = reference(name, full, first)
        assert set(drawn) == set(expected), name
        for key, ref in expected.items():
            got = drawn[key]
            assert len(got) == len(window), key
            tol = _tolerance(key, window, expected, first)
            for i, value in enumerate(got.tolist()):
                want = ref[first + i]
                # Defined at every bar of the chart: the line spans it from the left edge.
                assert want is not None and math.isfinite(value), (
                    f"{timeframe.value} {key}: no value at bar {i} of {len(window)}"
                )
                assert abs(value - want) <= tol, (
                    f"{timeframe.value} {key} bar {i}: {value} vs reference {want}"
                )


def test_where_the_provider_has_no_more_history_the_chart_says_so() -> None:
    """Three weeks after the demo's first simulated day there is no history for SMA 50."""
    early = datetime(2020, 1, 22, 21, 0, tzinfo=UTC).timestamp()
    provider = DemoProvider(clock=lambda: early)
    bars = asyncio.run(provider.bars("AAPL", Timeframe.M1, history=history_needed(["sma50"])))
    assert bars.history == 0  # the range starts on the first simulated day
    from catalyst_interactions.charts.warmup import short_of_history

    assert short_of_history(["sma20", "sma50", "vwap"], bars.history) == ["sma20", "sma50"]


def _note_pixels(png: bytes, n_bars: int) -> int:
    """Opaque pixels of the warning colour along the bottom of the price panel."""
    import io

    import numpy as np
    from PIL import Image

    from catalyst_interactions.charts import theme
    from catalyst_interactions.charts.render import layout_panels, panel_names

    price = layout_panels(panel_names({"sma20", "sma50"}), n_bars)[0]
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    height = img.shape[0]
    rows = slice(int(height - price.y0 - 24), int(height - price.y0))
    cols = slice(int(price.x0), int(price.x0) + 600)
    warn = tuple(int(theme.WATERMARK[i : i + 2], 16) for i in (1, 3, 5))
    return int(np.all(img[rows, cols] == warn, axis=-1).sum())


def test_the_chart_image_carries_the_missing_history_note() -> None:
    from catalyst_interactions.charts.render import render_chart

    chosen = frozenset({"sma20", "sma50"})
    early = datetime(2020, 1, 22, 21, 0, tzinfo=UTC).timestamp()
    for clock, expect_note in ((early, True), (NOW, False)):
        provider = DemoProvider(clock=lambda clock=clock: clock)  # type: ignore[misc]
        bars = asyncio.run(provider.bars("AAPL", Timeframe.M1, history=history_needed(chosen)))
        png = render_chart(bars, ticker="AAPL", timeframe=Timeframe.M1, indicators=chosen)
        found = _note_pixels(png, len(bars.window()))
        assert (found > 50) is expect_note, (clock, found)


def test_the_history_note_names_the_earliest_bar_the_provider_has(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With some history but not enough, the note dates the provider's first bar (before
    the visible window), not the window's first bar."""
    from catalyst_interactions.charts import render

    said: list[str] = []
    original = render.TextLayer.add

    def spy(self: render.TextLayer, x: float, y: float, text: str, **kw: object) -> float:
        said.append(text)
        return original(self, x, y, text, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(render.TextLayer, "add", spy)
    chosen = frozenset({"sma50"})
    early = datetime(2020, 2, 26, 21, 0, tzinfo=UTC).timestamp()  # data starts 2020-01-02
    provider = DemoProvider(clock=lambda: early)
    bars = asyncio.run(provider.bars("AAPL", Timeframe.M1, history=history_needed(chosen)))
    assert 0 < bars.history < history_needed(chosen)  # some history, not enough
    render.render_chart(bars, ticker="AAPL", timeframe=Timeframe.M1, indicators=chosen)
    tz = ZoneInfo(bars.tz)
    first = datetime.fromtimestamp(float(bars.timestamps[0]), tz).date()
    window_first = datetime.fromtimestamp(float(bars.window().timestamps[0]), tz).date()
    assert first < window_first
    (note,) = [text for text in said if text.startswith("No price history before")]
    assert note.startswith(f"No price history before {first:%Y-%m-%d}:"), note
