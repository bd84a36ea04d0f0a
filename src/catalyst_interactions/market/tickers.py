"""Ticker symbols as users type them; no numpy, so the edge can check them cheaply."""

from __future__ import annotations

import re

from .errors import UnknownTicker

__all__ = ["normalize_ticker"]

_TICKER_RE = re.compile(r"^[A-Z][A-Z0-9]{0,5}([.-][A-Z0-9]{1,3})?$")


def normalize_ticker(text: str) -> str:
    """Upper-case and validate a user-typed symbol (``brk.b`` -> ``BRK.B``, ``$aapl`` -> ``AAPL``).

    Raises :class:`UnknownTicker` for anything that cannot be a US equity symbol, so junk never
    reaches a provider URL.
    """
    symbol = text.strip().lstrip("$").upper()
    if not _TICKER_RE.fullmatch(symbol):
        raise UnknownTicker(text.strip()[:16], "That does not look like a ticker symbol.")
    return symbol
