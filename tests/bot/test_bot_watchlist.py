"""/watchlist through the real endpoint: ephemeral answers, limits, autocomplete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bot_support import Bot, content, embed, is_ephemeral

from support.signing import command, member
from support.ticker_table import REFUSED

pytestmark = pytest.mark.loopback


def sub(name: str, ticker: str | None = None) -> list[dict[str, Any]]:
    options = [] if ticker is None else [{"name": "ticker", "type": 3, "value": ticker}]
    return [{"name": name, "type": 1, "options": options}]


def watch(bot: Bot, name: str, ticker: str | None = None, user: str = "100") -> dict[str, Any]:
    return bot.send(command("watchlist", sub(name, ticker), user=member(user)))


def suggest(bot: Bot, name: str, typed: str, user: str = "100") -> list[str]:
    options = [
        {
            "name": name,
            "type": 1,
            "options": [{"name": "ticker", "type": 3, "value": typed, "focused": True}],
        }
    ]
    answer = bot.send(command("watchlist", options, user=member(user), type_=4))
    assert answer["type"] == 8
    return [c["value"] for c in answer["data"]["choices"]]


def test_add_list_remove_clear_are_ephemeral_and_per_user(bot: Bot) -> None:
    added = watch(bot, "add", "$aapl")
    assert added["type"] == 4 and is_ephemeral(added)
    assert content(added) == "Added **AAPL** to your watchlist (1/50)."
    assert content(watch(bot, "add", "msft")) == "Added **MSFT** to your watchlist (2/50)."

    listed = watch(bot, "list")
    assert is_ephemeral(listed)
    assert embed(listed)["description"] == "**AAPL**, **MSFT**"
    assert embed(listed)["footer"]["text"] == "2/50 tickers"
    # Another user's list is their own.
    assert "empty" in content(watch(bot, "list", user="200"))

    removed = watch(bot, "remove", "aapl")
    assert is_ephemeral(removed) and content(removed) == "Removed **AAPL** from your watchlist."
    assert embed(watch(bot, "list"))["description"] == "**MSFT**"

    cleared = watch(bot, "clear")
    assert content(cleared) == "Cleared your watchlist (1 ticker removed)."
    assert "empty" in content(watch(bot, "list"))
    assert bot.with_store(lambda s: s.watchlists.list("100")) == []


def test_duplicates_unknown_and_malformed_tickers_are_refused(bot: Bot) -> None:
    watch(bot, "add", "NVDA")
    again = watch(bot, "add", "nvda")
    assert is_ephemeral(again) and content(again) == "**NVDA** is already on your watchlist."

    unknown = watch(bot, "add", "ZZZZ")  # the demo provider knows only its 11 symbols
    assert is_ephemeral(unknown) and content(unknown).startswith("Unknown ticker: ZZZZ")

    junk = watch(bot, "add", "not a ticker!")
    assert is_ephemeral(junk)
    assert content(junk) == "`not a ticker!` does not look like a ticker symbol."

    missing = watch(bot, "remove", "TSLA")
    assert content(missing) == "**TSLA** is not on your watchlist."
    tickers = [e.ticker for e in bot.with_store(lambda s: s.watchlists.list("100"))]
    assert tickers == ["NVDA"]


def test_add_and_remove_refuse_every_malformed_symbol_alike(bot: Bot) -> None:
    """Both subcommands parse with the one grammar: same refusal, privately, for each row of
    the shared table (they used to differ: remove kept ^GSPC that add refused)."""
    # Discord sends no blank value, nor one over the option's 16 characters.
    sendable = [row for row in REFUSED if row.typed.strip() and len(row.typed) <= 16]
    assert len(sendable) > 15
    for row in sendable:
        for name in ("add", "remove"):
            answer = watch(bot, name, row.typed)
            assert is_ephemeral(answer), (name, row)
            assert content(answer) == row.refusal, (name, row, content(answer))
    assert bot.with_store(lambda s: s.watchlists.list("100")) == []


def test_full_watchlist_is_refused_at_the_configured_size(start_bot: Callable[..., Bot]) -> None:
    bot = start_bot(watchlist_max=2)
    assert content(watch(bot, "add", "AAPL")).endswith("(1/2).")
    assert content(watch(bot, "add", "AMD")).endswith("(2/2).")
    full = watch(bot, "add", "TSLA")
    assert is_ephemeral(full)
    assert content(full) == (
        "Your watchlist is full (2 tickers). Remove one with `/watchlist remove` first."
    )
    assert len(bot.with_store(lambda s: s.watchlists.list("100"))) == 2


def test_autocomplete_add_suggests_symbols_and_remove_only_the_users_own(bot: Bot) -> None:
    assert suggest(bot, "add", "nvd")[0] == "NVDA"
    assert "AAPL" in suggest(bot, "add", "")
    watch(bot, "add", "AMD")
    watch(bot, "add", "AMZN")
    watch(bot, "add", "META")
    watch(bot, "add", "AAPL", user="999")  # someone else's ticker is never suggested
    assert suggest(bot, "remove", "am") == ["AMD", "AMZN"]
    assert suggest(bot, "remove", "") == ["AMD", "AMZN", "META"]
    assert suggest(bot, "remove", "a", user="999") == ["AAPL"]


def test_bad_option_type_is_refused_without_running_the_handler(bot: Bot) -> None:
    options = [{"name": "add", "type": 1, "options": [{"name": "ticker", "type": 3, "value": 42}]}]
    answer = bot.send(command("watchlist", options))
    assert is_ephemeral(answer) and content(answer) == "`ticker` must be text"
