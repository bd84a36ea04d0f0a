"""The one ticker grammar (catalyst_interactions.tickers) and the layers that lean on it
without a store or a network: the commands' parser and the custom_id templates. The store
and market-data layers run the same table in tests/store and tests/market."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalyst_interactions import tickers
from catalyst_interactions.bot import chart
from catalyst_interactions.bot._shared import parse_ticker
from catalyst_interactions.discord.custom_id import CustomIdError
from catalyst_interactions.framework.errors import UserFacingError
from support.ticker_table import IDS, REFUSED, TABLE, Row

TEMPLATES = [chart.TIMEFRAME_BUTTON, chart.INDICATOR_MENU, chart.LEGACY_CHART, chart.LEGACY_TOGGLE]


def ids_for(symbol: str) -> list[str]:
    """One custom_id per chart template, carrying ``symbol`` as typed (not normalised)."""
    return [
        f"chart:v1:{symbol}:1D:0",
        f"chart:v1:ind:{symbol}:1D",
        f"compare:v1:{symbol}:SPY:1D",
        f"chart_{symbol}_1D",
        f"chart_toggle_{symbol}_1D",
    ]


@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_parse(row: Row) -> None:
    if row.symbol is not None:
        assert tickers.parse(row.typed) == row.symbol
        return
    with pytest.raises(tickers.TickerError) as info:
        tickers.parse(row.typed)
    assert str(info.value) == info.value.user_message == row.refusal
    assert info.value.text == row.typed
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_commands_answer_with_the_same_sentence(row: Row) -> None:
    if row.symbol is not None:
        assert parse_ticker(row.typed) == row.symbol
        return
    with pytest.raises(UserFacingError) as info:
        parse_ticker(row.typed)
    assert info.value.message == row.refusal


@pytest.mark.parametrize("row", TABLE, ids=IDS)
def test_custom_ids_carry_exactly_the_symbols_parse_gives(row: Row) -> None:
    if row.symbol is not None:
        built = chart.TIMEFRAME_BUTTON.build(ticker=row.symbol, tf="1D", ind="0")
        assert chart.TIMEFRAME_BUTTON.match(built) == {"ticker": row.symbol, "tf": "1D", "ind": "0"}
        legacy = chart.LEGACY_CHART.build(ticker=row.symbol, tf="5D")
        assert chart.LEGACY_CHART.match(legacy) == {"ticker": row.symbol, "tf": "5D"}
        both = chart.COMPARE_BUTTON.build(a=row.symbol, b="SPY", tf="1M")
        assert chart.COMPARE_BUTTON.match(both) == {"a": row.symbol, "b": "SPY", "tf": "1M"}
    else:
        with pytest.raises(CustomIdError):
            chart.TIMEFRAME_BUTTON.build(ticker=row.typed, tf="1D", ind="0")
    # An id holding the input as typed routes only when the input is already normal.
    routed = row.typed == row.symbol
    for custom_id in ids_for(row.typed):
        matches = [t for t in [*TEMPLATES, chart.COMPARE_BUTTON] if t.match(custom_id)]
        assert bool(matches) == routed, custom_id


@given(st.text(max_size=14))
def test_the_template_fragment_is_the_grammar(text: str) -> None:
    """Any string: the custom_id fragment matches it exactly when parse leaves it unchanged."""
    try:
        normal = tickers.parse(text) == text
    except tickers.TickerError:
        normal = False
    assert (re.fullmatch(tickers.PATTERN, text) is not None) == normal


@given(st.from_regex(tickers.PATTERN, fullmatch=True))
def test_every_symbol_of_the_grammar_parses_to_itself(symbol: str) -> None:
    assert len(symbol) <= tickers.MAX_LENGTH
    assert tickers.parse(symbol) == symbol
    assert tickers.parse(f" ${symbol.lower()} ") == symbol


def test_index_refusals_name_an_etf_the_grammar_accepts() -> None:
    for index, etf in tickers.INDEX_ETFS.items():
        assert tickers.parse(etf) == etf
        with pytest.raises(tickers.TickerError, match=f"Try {etf},"):
            tickers.parse(index.lower())


def test_autocomplete_prefix_is_cleaned_like_parse() -> None:
    assert tickers.prefix(" $nv") == "NV"
    assert tickers.prefix("brk.") == "BRK."
    assert tickers.prefix("") == tickers.prefix("$") == ""
    assert tickers.prefix("^gs") == "^GS"  # matches nothing in a symbol list; never raises


def test_refusals_fit_in_one_short_message() -> None:
    for row in REFUSED:
        assert row.refusal is not None and len(row.refusal) < 200
