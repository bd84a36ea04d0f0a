"""/check, /stats, /backtest and /sentiment through the real endpoint and worker.

Prices come from a provider with fixed daily closes (FixedProvider: days d-9 … d-1, close at
21:00 UTC), so every expected number below is worked out by hand from CLOSES and ALERTS.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bot_support import Bot, FixedProvider, content, day_start, embed, field_value, is_ephemeral

from catalyst_interactions.market.cache import CachedProvider
from catalyst_interactions.market.demo import DemoProvider
from catalyst_interactions.store import NewAlert, Store
from support.signing import command, member

pytestmark = pytest.mark.loopback

#          k:  0    1    2   3    4    5   6   7    8      (day d-9+k)
CLOSES: list[float] = [100, 102, 99, 101, 105, 98, 97, 103, 110]


def at(days_ago: int, hour: int) -> datetime:
    return day_start(days_ago) + timedelta(hours=hour)


def alerts() -> list[NewAlert]:
    return [
        NewAlert(
            "ACME", at(8, 14), "Acme wins record contract", price=100, score=0.8, sentiment=0.6
        ),  # bar k=1 (102)
        NewAlert(
            "ACME", at(6, 15), "Acme halts plant after fire", price=103, score=0.6, sentiment=-0.5
        ),  # bar k=3 (101)
        NewAlert("ACME", at(4, 16), "Acme guidance", price=97, score=0.4),  # k=5 (98)
        NewAlert("ACME", at(2, 14), "Acme partnership announced", score=None),  # k=7, no price
        NewAlert(
            "ACME",
            at(0, 0) + timedelta(seconds=1),
            "Acme files 8-K",
            price=111,
            score=0.9,
            sentiment=0.1,
        ),  # after the last bar
        NewAlert("ACME", at(40, 14), "Acme old news", price=50, score=0.2),  # before history
        NewAlert("BETA", at(3, 15), "Beta offering", price=10, score=0.3),  # no bars at all
    ]


@pytest.fixture
def market_bot(bot: Bot) -> Bot:
    bot.services.market = FixedProvider({"ACME": CLOSES})

    async def seed(store: Store) -> None:
        await store.alerts.add_many(alerts())

    bot.with_store(seed)
    return bot


def ticker_option(value: Any, name: str = "ticker") -> dict[str, Any]:
    return {"name": name, "type": 3 if isinstance(value, str) else 4, "value": value}


def test_check_shows_quote_and_recent_alerts(market_bot: Bot) -> None:
    answer = market_bot.send(command("check", [ticker_option("acme")]))
    assert answer["type"] == 4 and not is_ephemeral(answer)
    card = embed(answer)
    assert card["title"] == "ACME $110.00"
    assert field_value(card, "Change") == "▲ +7.00 (+6.80%)"  # 110 vs 103
    recent = field_value(card, "Recent alerts (5)")
    lines = recent.splitlines()
    assert "Acme files 8-K" in lines[0] and "Acme halts plant after fire" in lines[3]
    assert "Acme old news" not in recent  # only the 5 newest


def test_check_unknown_ticker_and_bad_symbol_are_ephemeral_errors(market_bot: Bot) -> None:
    unknown = market_bot.send(command("check", [ticker_option("ZZZZ")]))
    assert is_ephemeral(unknown) and content(unknown) == "Unknown ticker: ZZZZ."
    # Known to the store but not to the provider: the alerts still show, the quote explains.
    beta = embed(market_bot.send(command("check", [ticker_option("BETA")])))
    assert beta["description"] == "No quote: Unknown ticker: BETA."
    assert "Beta offering" in field_value(beta, "Recent alerts (1)")
    junk = market_bot.send(command("check", [ticker_option("12345678")]))
    assert is_ephemeral(junk) and "does not look like a ticker" in content(junk)


def test_check_with_demo_data_says_it_is_simulated(bot: Bot) -> None:
    # A fixed clock: Tuesday 2024-03-05 13:00 New York, mid-session.
    noon = datetime(2024, 3, 5, 18, tzinfo=UTC).timestamp()
    bot.services.market = CachedProvider(DemoProvider(clock=lambda: noon))
    expected = asyncio.run(DemoProvider(clock=lambda: noon).quote("AAPL"))
    card = embed(bot.send(command("check", [ticker_option("AAPL")])))
    assert card["title"] == f"AAPL ${expected.last:,.2f}"
    assert "Simulated data" in card["footer"]["text"]


def test_stats_counts_scores_and_next_close_outcomes(market_bot: Bot) -> None:
    card = embed(market_bot.send(command("stats", [{"name": "period", "type": 3, "value": "30d"}])))
    assert card["title"] == "Catalyst stats — last 30 days"
    assert field_value(card, "Alerts posted") == "6"  # the d-40 alert is outside 30 days
    assert field_value(card, "Unique tickers") == "2"
    assert field_value(card, "Average score") == f"{(0.8 + 0.6 + 0.4 + 0.9 + 0.3) / 5:.2f}"
    # 100→102 rose, 103→101 fell, 97→98 rose; the alert without a price enters at its
    # session's close like /backtest (103) and rose to the next (110); BETA has no bars; the
    # alert after the last close waits.
    assert field_value(card, "Outcomes") == (
        "Rose by the next close: **3 of 4** (75%)\n1 waiting for the close, 1 without price data"
    )
    assert field_value(card, "Most alerted") == "ACME (5), BETA (1)"

    everything = embed(
        market_bot.send(command("stats", [{"name": "period", "type": 3, "value": "all"}]))
    )
    assert field_value(everything, "Alerts posted") == "7"
    assert "2 without price data" in field_value(everything, "Outcomes")  # BETA, d-40


def test_stats_refuses_an_unknown_period(market_bot: Bot) -> None:
    answer = market_bot.send(command("stats", [{"name": "period", "type": 3, "value": "1y"}]))
    assert is_ephemeral(answer)
    assert content(answer) == "`period` must be one of: today, 7d, 30d, all"


def test_backtest_is_deferred_and_replays_alerts_against_bars(market_bot: Bot) -> None:
    payload = command("backtest", [ticker_option("ACME"), ticker_option(2, "days")])
    ack, edit = market_bot.deferred(payload)
    assert "data" not in ack  # public answer
    # A job done within its first second sends its answer only (jobs/live.py holds progress
    # back that long); on a slow machine its steps may show first, but never a card.
    assert all("embeds" not in e.json for e in market_bot.last_edits[:-1])
    card = edit.json["embeds"][0]
    assert card["title"] == "Backtest: ACME, hold 2d"
    returns = [101 / 100 - 1, 98 / 103 - 1, 103 / 97 - 1, 110 / 103 - 1]  # last one still open
    assert field_value(card, "Trades") == "4 (1 still open)"
    assert field_value(card, "Hit rate") == "75% (3/4)"
    assert field_value(card, "Average return") == f"{sum(returns) / 4 * 100:+.2f}%"
    assert field_value(card, "Best").startswith(f"{(110 / 103 - 1) * 100:+.2f}%")
    assert field_value(card, "Worst").startswith(f"{(98 / 103 - 1) * 100:+.2f}%")
    assert field_value(card, "Skipped") == (
        "1 older than the price history; 1 posted after the last closed session"
    )
    trades = field_value(card, "Latest trades").splitlines()
    assert trades[0].endswith("(1d, open)") and "$103.00 → $110.00" in trades[0]
    assert "$100.00 → $101.00 **+1.00%** (2d)" in trades[-1]
    # One of the four alerts has no price: the description says how it entered.
    assert card["description"] == (
        "Entry at each alert's price (at the close of its session for the 1 alert without "
        "one), exit at the close 2 sessions later (or at the last bar)."
    )


def test_stats_and_backtest_agree_on_which_alerts_have_price_data(market_bot: Bot) -> None:
    """Every ACME alert /backtest trades or waits for has an outcome or waits in /stats too;
    the ones /backtest skips as older than the history are the ones /stats cannot judge."""
    _, edit = market_bot.deferred(
        command("backtest", [ticker_option("ACME"), ticker_option(1, "days")])
    )
    card = edit.json["embeds"][0]
    traded = int(field_value(card, "Trades").split()[0])
    assert field_value(card, "Skipped") == (
        "1 older than the price history; 1 posted after the last closed session"
    )

    stats = embed(
        market_bot.send(command("stats", [{"name": "period", "type": 3, "value": "all"}]))
    )
    outcome = field_value(stats, "Outcomes")
    decided = int(re.search(r"\*\*\d+ of (\d+)\*\*", outcome).group(1))  # type: ignore[union-attr]
    assert decided == traded == 4
    assert "1 waiting for the close" in outcome  # /backtest: posted after the last session
    # /backtest's one alert older than the price history, and BETA, which has no bars.
    assert "2 without price data" in outcome


def test_backtest_says_when_no_alert_has_a_price(market_bot: Bot) -> None:
    async def unpriced(store: Store) -> None:
        await store.alerts.add_many([NewAlert("GAMMA", at(5, 15), "Gamma news", score=0.5)])

    market_bot.with_store(unpriced)
    market_bot.services.market = FixedProvider({"ACME": CLOSES, "GAMMA": CLOSES})
    _, edit = market_bot.deferred(command("backtest", [ticker_option("GAMMA")]))
    description = edit.json["embeds"][0]["description"]
    assert "Entry at each alert's price" not in description
    assert description.startswith(
        "The alerts carry no price: entry at the close of each alert's session, exit at the "
        "close 5 sessions later"
    )


def test_backtest_without_alerts_and_with_bad_days(market_bot: Bot) -> None:
    reason = market_bot.refused_after_ack(command("backtest", [ticker_option("AAPL")]))
    assert reason == "There are no stored alerts for **AAPL** to backtest."
    refused = market_bot.send(
        command("backtest", [ticker_option("ACME"), ticker_option(0, "days")])
    )
    assert is_ephemeral(refused) and content(refused) == "`days` must be at least 1"


def test_sentiment_aggregates_and_attaches_a_gauge(market_bot: Bot) -> None:
    _, edit = market_bot.deferred(command("sentiment", [ticker_option("ACME")]))
    card = edit.json["embeds"][0]
    # Stored scores 0.6, -0.5, 0.1; headlines without one: "Acme guidance" (no keyword),
    # "partnership" (+1), "Acme old news" (no keyword).
    score = (0.6 - 0.5 + 0.1 + 1.0) / 4
    assert card["description"].startswith(f"**Bullish** ({score:+.2f} on a -1 … +1 scale)")
    assert "from 3 scored alerts and 1 headline of the newest 6" in card["description"]
    assert (
        field_value(card, "Bullish"),
        field_value(card, "Neutral"),
        field_value(card, "Bearish"),
    ) == ("2", "1", "1")
    assert card["image"] == {"url": "attachment://sentiment.png"}
    parts = {p.name: p for p in edit.parts}
    png = parts["files[0]"]
    assert png.filename == "sentiment.png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert edit.json["attachments"][0]["filename"] == "sentiment.png"


def test_sentiment_without_alerts(market_bot: Bot) -> None:
    reason = market_bot.refused_after_ack(command("sentiment", [ticker_option("MSFT")]))
    assert reason == "There are no stored alerts for **MSFT** yet."


def test_cooldown_refuses_a_second_use_per_user_and_command(
    start_bot: Callable[..., Bot],
) -> None:
    bot = start_bot(cooldowns={"*": 0.0, "check": 60.0})
    bot.services.market = FixedProvider({"ACME": CLOSES})
    first = bot.send(command("check", [ticker_option("ACME")], user=member("1")))
    assert first["type"] == 4 and not is_ephemeral(first)
    second = bot.send(command("check", [ticker_option("ACME")], user=member("1")))
    assert is_ephemeral(second)
    assert re.fullmatch(r"Slow down: try `/check` again in (59|60) s\.", content(second))
    other_user = bot.send(command("check", [ticker_option("ACME")], user=member("2")))
    assert not is_ephemeral(other_user)
    assert bot.services.market.quotes == 2  # the refused call never reached the handler
