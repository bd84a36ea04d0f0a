"""Colours and sizes of the dark chart theme (TradingView-like, readable when Discord scales
the image down on a phone)."""

from __future__ import annotations

BACKGROUND = "#131722"
GRID = "#2a2e39"
TEXT = "#d1d4dc"
MUTED = "#868b98"
UP = "#26a69a"
DOWN = "#ef5350"
UP_VOLUME = "#1d6f68"
DOWN_VOLUME = "#9c3a38"
WATERMARK = "#ffb300"

OVERLAY_COLORS = {
    "vwap": "#ffb300",
    "sma20": "#42a5f5",
    "sma50": "#ab47bc",
    "ema9": "#26c6da",
    "ema21": "#ec407a",
    "bollinger": "#78909c",
}
RSI_COLOR = "#b39ddb"
MACD_COLOR = "#42a5f5"
SIGNAL_COLOR = "#ff7043"
COMPARE_COLORS = ("#42a5f5", "#ffb300")

WIDTH_IN, HEIGHT_IN, DPI = 12.0, 6.75, 100  # 1200 x 675 pixels
TITLE_SIZE = 19
LABEL_SIZE = 12
TICK_SIZE = 11
