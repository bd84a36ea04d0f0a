"""Autocomplete, ticker normalisation, timeframe parsing, and the import boundary."""

from __future__ import annotations

import subprocess
import sys

import pytest
from upstream_server import FakeUpstream, Reply

from catalyst_interactions.market import (
    PolygonProvider,
    Timeframe,
    UnknownTicker,
    normalize_ticker,
    search_tickers,
)
from catalyst_interactions.secret import Secret
from support.ticker_table import IDS, TABLE, Row


def test_prefix_then_name_matches() -> None:
    got = search_tickers("am")
    symbols = [s for s, _ in got]
    assert symbols[:3] == ["AMD", "AMZN", "AMC"]
    # "Amazon"/"America" names match after the symbol matches
    assert "BAC" in symbols
    assert symbols.index("BAC") > symbols.index("AMC")


def test_limit_and_empty_prefix() -> None:
    assert len(search_tickers("", limit=25)) == 11  # the demo list
    assert search_tickers("a", limit=3) == search_tickers("A")[:3]
    assert search_tickers("$nvd") == [("NVDA", "NVIDIA Corporation")]
    assert search_tickers("zzzz") == []


@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_normalize_follows_the_ticker_table(row: Row) -> None:
    if row.symbol is not None:
        assert normalize_ticker(row.typed) == row.symbol
        return
    with pytest.raises(UnknownTicker) as info:  # a MarketDataError, like every market failure
        normalize_ticker(row.typed)
    assert info.value.user_message == row.refusal


@pytest.mark.loopback
@pytest.mark.parametrize("row", TABLE, ids=IDS)
async def test_a_provider_asks_only_for_symbols_of_the_table(
    upstream: FakeUpstream, row: Row
) -> None:
    """A refused input never reaches the vendor; a valid one is asked for in normal form."""
    snapshot = "/v2/snapshot/locale/us/markets/stocks/tickers/"
    upstream.routes[snapshot + "*"] = Reply(
        body={"ticker": {"lastTrade": {"p": 10.0}, "prevDay": {"c": 8.0}, "day": {"v": 5.0}}}
    )
    async with PolygonProvider(Secret("k"), base_url=upstream.base_url) as provider:
        if row.symbol is None:
            with pytest.raises(UnknownTicker) as info:
                await provider.quote(row.typed)
            assert info.value.user_message == row.refusal
            assert upstream.seen == []
            return
        quote = await provider.quote(row.typed)
    assert (quote.ticker, quote.last, quote.change) == (row.symbol, 10.0, 2.0)
    assert [seen.path for seen in upstream.seen] == [snapshot + row.symbol]


def test_timeframe_parse() -> None:
    assert Timeframe.parse("1d") is Timeframe.D1
    assert Timeframe.parse(" 1Y ") is Timeframe.Y1
    with pytest.raises(ValueError, match="1D, 5D, 1M, 3M, 1Y"):
        Timeframe.parse("2W")


def test_market_and_charts_packages_do_not_import_matplotlib() -> None:
    code = (
        "import sys\n"
        "import catalyst_interactions.market, catalyst_interactions.charts\n"
        "import catalyst_interactions.charts.indicators, catalyst_interactions.charts.cache\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'PIL'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
