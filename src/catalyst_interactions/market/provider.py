"""The contract every market-data source fulfils."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .bars import Bars, Quote
from .timeframe import Timeframe


@runtime_checkable
class MarketDataProvider(Protocol):
    """A source of bars and quotes.

    Implementations normalise the ticker with :func:`normalize_ticker`, return bars oldest
    first restricted to regular trading hours, and raise only :class:`MarketDataError`
    subclasses: :class:`UnknownTicker`, :class:`NoBarsYet`, :class:`ProviderRateLimited`,
    :class:`ProviderUnavailable`.
    """

    name: str

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        """Bars for ``ticker`` over ``timeframe`` (see :class:`Timeframe` for the ranges),
        preceded by up to ``history`` earlier bars of the same width (``Bars.start`` says
        how many; fewer only when the provider has no more)."""
        ...

    async def quote(self, ticker: str) -> Quote:
        """The latest price and its change against the previous close."""
        ...
