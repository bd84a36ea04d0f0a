"""The market's view of a ticker: the one grammar of :mod:`catalyst_interactions.tickers`,
with a malformed symbol raised as :class:`UnknownTicker` so that market-data callers handle
a single exception tree. No numpy, so the edge can check symbols cheaply."""

from __future__ import annotations

from ..tickers import TickerError, parse
from .errors import UnknownTicker

__all__ = ["normalize_ticker"]


def normalize_ticker(text: str) -> str:
    """:func:`catalyst_interactions.tickers.parse`; :class:`UnknownTicker` (a
    :class:`MarketDataError`, carrying the same member-facing sentence) when it refuses, so
    junk never reaches a provider URL."""
    try:
        return parse(text)
    except TickerError as exc:
        raise UnknownTicker(exc.text, exc.user_message) from None
