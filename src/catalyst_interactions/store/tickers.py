"""The store's view of a ticker: the one grammar of :mod:`catalyst_interactions.tickers`,
with a malformed symbol raised as :class:`InvalidTicker` (a :class:`StoreError`), so the
store's callers see only its own exception tree."""

from __future__ import annotations

from ..tickers import TickerError, parse
from .errors import InvalidTicker


def normalize_ticker(raw: str) -> str:
    """``" aapl "`` -> ``"AAPL"``; raises :class:`InvalidTicker` for anything else."""
    try:
        return parse(raw)
    except TickerError as exc:
        raise InvalidTicker(exc.text, exc.user_message) from None
