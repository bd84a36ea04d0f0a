"""The indicators a chart can draw, listed once (no numpy, no matplotlib: the edge imports it).

The renderer (:mod:`.render`) draws them, :mod:`.indicators` computes them, :mod:`.warmup`
knows the history each needs, and ``/chart`` offers them in its menu and packs the chosen ones
into a custom_id by their position here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Indicator:
    name: str
    """The key members type, handlers pass to the renderer and :mod:`.warmup` is keyed by."""
    label: str
    """The name members read: menu options, chart captions, the missing-history note."""
    description: str
    """What it is, one line (the menu option's description)."""
    own_panel: bool = False
    """Drawn in a panel of its own below the price, not over the candles."""


INDICATORS: tuple[Indicator, ...] = (
    Indicator("vwap", "VWAP", "Volume-weighted average price"),
    Indicator("sma20", "SMA 20", "20-bar simple moving average"),
    Indicator("sma50", "SMA 50", "50-bar simple moving average"),
    Indicator("ema9", "EMA 9", "9-bar exponential moving average"),
    Indicator("ema21", "EMA 21", "21-bar exponential moving average"),
    Indicator("bollinger", "Bollinger bands", "20 bars, 2 standard deviations"),
    Indicator("rsi", "RSI", "14-bar relative strength index, own panel", own_panel=True),
    Indicator("macd", "MACD", "12/26/9 MACD, own panel", own_panel=True),
)
"""Every indicator, in the order of its bit in ``/chart``'s custom_ids: append new ones at the
end and never reorder or remove one, or buttons already posted would decode differently."""

BY_NAME: dict[str, Indicator] = {ind.name: ind for ind in INDICATORS}
NAMES: frozenset[str] = frozenset(BY_NAME)
OVERLAYS: frozenset[str] = frozenset(ind.name for ind in INDICATORS if not ind.own_panel)
"""The indicators drawn over the candles."""
PANELS: frozenset[str] = NAMES - OVERLAYS
"""The indicators drawn in panels of their own."""
