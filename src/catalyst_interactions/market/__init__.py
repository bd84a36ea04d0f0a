"""Market data: the provider contract, providers (Tiingo, Polygon, simulated demo), a TTL cache.

Importing this package is cheap and never imports matplotlib: the edge process uses it for
quotes and autocomplete.
"""

from .bars import Bars, Quote, normalize_ticker
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
from .tiingo import TiingoProvider
from .timeframe import Timeframe

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
