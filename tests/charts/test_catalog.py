"""The indicator list (charts/catalog.py) and the per-indicator tables kept beside it agree."""

from __future__ import annotations

from catalyst_interactions.charts import catalog, theme, warmup

EIGHT = {"vwap", "sma20", "sma50", "ema9", "ema21", "bollinger", "rsi", "macd"}


def test_every_indicator_has_its_history_its_panel_and_its_colour() -> None:
    assert catalog.NAMES == EIGHT
    assert {"rsi", "macd"} == catalog.PANELS
    assert EIGHT - {"rsi", "macd"} == catalog.OVERLAYS
    assert set(warmup.HISTORY_BARS) == EIGHT
    assert set(warmup.DEFINED_FROM) == EIGHT
    assert set(theme.OVERLAY_COLORS) == catalog.OVERLAYS
    assert len({ind.label for ind in catalog.INDICATORS}) == len(EIGHT)  # members tell them apart
