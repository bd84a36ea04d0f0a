"""Ticker symbols as the store keeps them: upper case, trimmed, a conservative alphabet."""

from __future__ import annotations

import re

from .errors import InvalidTicker

MAX_TICKER_LENGTH = 16
# Letters and digits plus the separators exchanges use: BRK.B, BF-B, ^GSPC, EURUSD=X.
_TICKER = re.compile(r"[A-Z0-9^][A-Z0-9.\-=^]*")


def normalize_ticker(raw: str) -> str:
    """``" aapl "`` -> ``"AAPL"``; raises :class:`InvalidTicker` for anything else."""
    ticker = raw.strip().upper().lstrip("$")  # "$AAPL" is how people type tickers in chat
    if not ticker or len(ticker) > MAX_TICKER_LENGTH or not _TICKER.fullmatch(ticker):
        raise InvalidTicker(f"not a ticker symbol: {raw[:40]!r}")
    return ticker
