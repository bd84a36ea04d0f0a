"""Autocomplete, ticker normalisation, timeframe parsing, and the import boundary."""

from __future__ import annotations

import subprocess
import sys

import pytest

from catalyst_interactions.market import Timeframe, UnknownTicker, normalize_ticker, search_tickers


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


@pytest.mark.parametrize(
    ("raw", "want"), [("aapl", "AAPL"), (" $tsla ", "TSLA"), ("brk.b", "BRK.B"), ("BF-B", "BF-B")]
)
def test_normalize(raw: str, want: str) -> None:
    assert normalize_ticker(raw) == want


@pytest.mark.parametrize("raw", ["", "1ABC", "AAPL;DROP", "a/b", "TOOLONGTICKER"])
def test_normalize_rejects(raw: str) -> None:
    with pytest.raises(UnknownTicker):
        normalize_ticker(raw)


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
