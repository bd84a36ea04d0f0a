"""Market data: the provider contract, providers (Tiingo, Polygon, simulated demo), a TTL cache.

Names are loaded on first use (PEP 562): ``from ..market import Timeframe`` costs an enum,
not numpy, so the edge process stays small and quick to start. matplotlib is never imported
from here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bars import Bars, Quote
    from .cache import CachedProvider
    from .demo import DemoProvider
    from .errors import (
        MarketDataError,
        NoBarsYet,
        ProviderRateLimited,
        ProviderUnavailable,
        UnknownTicker,
    )
    from .polygon import PolygonProvider
    from .provider import MarketDataProvider
    from .symbols import search_tickers
    from .tickers import normalize_ticker
    from .tiingo import TiingoProvider
    from .timeframe import Timeframe

_WHERE = {
    "Bars": "bars",
    "Quote": "bars",
    "CachedProvider": "cache",
    "DemoProvider": "demo",
    "MarketDataError": "errors",
    "NoBarsYet": "errors",
    "ProviderRateLimited": "errors",
    "ProviderUnavailable": "errors",
    "UnknownTicker": "errors",
    "PolygonProvider": "polygon",
    "MarketDataProvider": "provider",
    "search_tickers": "symbols",
    "normalize_ticker": "tickers",
    "TiingoProvider": "tiingo",
    "Timeframe": "timeframe",
}

__all__ = [
    "Bars",
    "CachedProvider",
    "DemoProvider",
    "MarketDataError",
    "MarketDataProvider",
    "NoBarsYet",
    "PolygonProvider",
    "ProviderRateLimited",
    "ProviderUnavailable",
    "Quote",
    "TiingoProvider",
    "Timeframe",
    "UnknownTicker",
    "normalize_ticker",
    "search_tickers",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value
