"""Ticker autocomplete: what the configured market provider knows.

The demo provider simulates exactly :data:`DEMO_SYMBOLS`, so with it autocomplete offers
those and nothing else. Real providers (Tiingo, Polygon) know every listed US symbol; for
them the suggestions come from a static list of common ones (anything else can be typed).
"""

from __future__ import annotations

from .. import tickers

# The demo provider simulates exactly these; autocomplete offers them first.
DEMO_SYMBOLS: dict[str, str] = {
    "AAPL": "Apple Inc.",
    "MSFT": "Microsoft Corporation",
    "NVDA": "NVIDIA Corporation",
    "TSLA": "Tesla, Inc.",
    "AMD": "Advanced Micro Devices, Inc.",
    "SPY": "SPDR S&P 500 ETF Trust",
    "QQQ": "Invesco QQQ Trust",
    "AMZN": "Amazon.com, Inc.",
    "META": "Meta Platforms, Inc.",
    "GOOGL": "Alphabet Inc. Class A",
    "BRK.B": "Berkshire Hathaway Inc. Class B",
}

COMMON_SYMBOLS: dict[str, str] = {
    "GOOG": "Alphabet Inc. Class C",
    "AVGO": "Broadcom Inc.",
    "JPM": "JPMorgan Chase & Co.",
    "V": "Visa Inc.",
    "MA": "Mastercard Incorporated",
    "UNH": "UnitedHealth Group Incorporated",
    "XOM": "Exxon Mobil Corporation",
    "JNJ": "Johnson & Johnson",
    "WMT": "Walmart Inc.",
    "PG": "The Procter & Gamble Company",
    "HD": "The Home Depot, Inc.",
    "COST": "Costco Wholesale Corporation",
    "NFLX": "Netflix, Inc.",
    "CRM": "Salesforce, Inc.",
    "ORCL": "Oracle Corporation",
    "ADBE": "Adobe Inc.",
    "INTC": "Intel Corporation",
    "CSCO": "Cisco Systems, Inc.",
    "PEP": "PepsiCo, Inc.",
    "KO": "The Coca-Cola Company",
    "DIS": "The Walt Disney Company",
    "BAC": "Bank of America Corporation",
    "WFC": "Wells Fargo & Company",
    "GS": "The Goldman Sachs Group, Inc.",
    "PLTR": "Palantir Technologies Inc.",
    "UBER": "Uber Technologies, Inc.",
    "SHOP": "Shopify Inc.",
    "PYPL": "PayPal Holdings, Inc.",
    "QCOM": "QUALCOMM Incorporated",
    "MU": "Micron Technology, Inc.",
    "SMCI": "Super Micro Computer, Inc.",
    "COIN": "Coinbase Global, Inc.",
    "MSTR": "MicroStrategy Incorporated",
    "GME": "GameStop Corp.",
    "AMC": "AMC Entertainment Holdings, Inc.",
    "BA": "The Boeing Company",
    "F": "Ford Motor Company",
    "GM": "General Motors Company",
    "T": "AT&T Inc.",
    "VZ": "Verizon Communications Inc.",
    "PFE": "Pfizer Inc.",
    "LLY": "Eli Lilly and Company",
    "MRK": "Merck & Co., Inc.",
    "ABBV": "AbbVie Inc.",
    "IWM": "iShares Russell 2000 ETF",
    "DIA": "SPDR Dow Jones Industrial Average ETF Trust",
    "VOO": "Vanguard S&P 500 ETF",
    "ARKK": "ARK Innovation ETF",
    "TLT": "iShares 20+ Year Treasury Bond ETF",
    "GLD": "SPDR Gold Shares",
}


def unknown_to_demo(symbol: str) -> str:
    return f"Unknown ticker: {symbol} (the demo knows {', '.join(DEMO_SYMBOLS)})."


def known_symbols(provider: str) -> dict[str, str] | None:
    """The complete list of symbols ``provider`` serves, or None when it is open-ended."""
    return DEMO_SYMBOLS if provider == "demo" else None


def search_tickers(
    prefix: str, limit: int = 25, *, known: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """Symbols whose ticker starts with ``prefix``, then those whose name contains it.

    Case-insensitive; demo symbols rank first within each group. ``limit`` defaults to
    Discord's 25 autocomplete choices. An empty prefix lists the demo symbols. ``known``,
    a provider's complete list (see :func:`known_symbols`), limits the search to it.
    """
    needle = tickers.prefix(prefix)
    if not needle:
        return list((known or DEMO_SYMBOLS).items())[: max(0, limit)]
    table = known if known is not None else {**DEMO_SYMBOLS, **COMMON_SYMBOLS}
    by_symbol = [(s, n) for s, n in table.items() if s.startswith(needle)]
    by_name = [
        (s, n)
        for s, n in table.items()
        if needle and not s.startswith(needle) and needle in n.upper()
    ]
    return (by_symbol + by_name)[: max(0, limit)]
