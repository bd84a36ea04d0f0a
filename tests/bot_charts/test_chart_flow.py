"""/chart, /compare, their buttons and menu, legacy buttons: end to end over loopback.

Each test sends a signed interaction to the real edge, checks the immediate answer, and then
checks what the real worker sent to the fake Discord: the PATCH of @original (multipart with
the PNG) or an ephemeral followup. Expected charts are rendered independently here from the
same simulated data and compared byte for byte (the renderer is deterministic).
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot_charts.harness import NY, TOKEN, Bot, Market, fixed_clock
from catalyst_interactions.charts.render import render_chart, render_compare
from catalyst_interactions.framework.cooldowns import Cooldowns
from catalyst_interactions.market import (
    Bars,
    DemoProvider,
    ProviderRateLimited,
    ProviderUnavailable,
    Quote,
    Timeframe,
    UnknownTicker,
)
from fakes.fake_discord import RecordedRequest
from support.discord_rules import answer_problems, webhook_message_problems
from support.signing import command, component

pytestmark = pytest.mark.loopback

WIDTH, HEIGHT = 1200, 675  # the renderer's documented output size
TF_LABELS = ["1D", "5D", "1M", "3M", "1Y"]
ALERT_FIELD = {"name": "Alert", "value": "Volume spike 4.2x at 10:31, halted 5 min"}


# -- helpers --------------------------------------------------------------------------------
def demo_data(ticker: str, tf: Timeframe, history: int = 0) -> tuple[Bars, Quote]:
    provider = DemoProvider(clock=fixed_clock)

    async def fetch() -> tuple[Bars, Quote]:
        return await provider.bars(ticker, tf, history=history), await provider.quote(ticker)

    return asyncio.run(fetch())


# History bars each indicator's chart is drawn with (docs/charts.md): n-1 for simple
# averages; for exponential ones, until the seed's weight is below 1/1000.
HISTORY = {
    "vwap": 0,
    "sma20": 19,
    "sma50": 49,
    "bollinger": 19,
    "ema9": 39,
    "ema21": 93,
    "rsi": 108,
    "macd": 154,
}


def expected_chart(ticker: str, tf: Timeframe, indicators: set[str]) -> bytes:
    bars, quote = demo_data(ticker, tf, max((HISTORY[i] for i in indicators), default=0))
    return render_chart(
        bars, ticker=ticker, timeframe=tf, indicators=frozenset(indicators), quote=quote
    )


def opt(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "type": 3, "value": value}


def chart_command(ticker: str, **options: str) -> dict[str, Any]:
    return command("chart", [opt("ticker", ticker), *(opt(k, v) for k, v in options.items())])


def last_patch(bot: Bot, count: int = 1) -> RecordedRequest:
    """The final edit once the job is done (progress edits such as "Fetching 1D of AAPL…"
    may come before it)."""
    bot.wait("edit_original", count)
    bot.wait_idle()
    return bot.discord.requests_for("edit_original")[-1]


def png_of(request: RecordedRequest) -> bytes:
    assert request.content_type.startswith("multipart/form-data")
    files = [p for p in request.parts if p.name == "files[0]"]
    assert len(files) == 1
    assert files[0].filename == "chart.png"
    assert files[0].content_type == "image/png"
    return files[0].data


def assert_valid_edit(payload: Any) -> None:
    assert webhook_message_problems(payload, edit=True) == []


def buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(payload["components"][0]["components"])


def menu(payload: dict[str, Any]) -> dict[str, Any]:
    (select,) = payload["components"][1]["components"]
    return dict(select)


def defaults(payload: dict[str, Any]) -> set[str]:
    return {o["value"] for o in menu(payload)["options"] if o.get("default")}


def assert_active(payload: dict[str, Any], active: str) -> None:
    row = buttons(payload)
    assert [b["label"] for b in row] == TF_LABELS
    for b in row:
        if b["label"] == active:
            assert b["style"] == 1 and b.get("disabled") is True
        else:
            assert b["style"] == 2 and not b.get("disabled")


def run_chart(bot: Bot, ticker: str = "AAPL", **options: str) -> dict[str, Any]:
    """/chart and return the message as the fake Discord now stores it."""
    response = bot.send(chart_command(ticker, **options))
    assert response.status_code == 200
    assert response.json() == {"type": 5}
    last_patch(bot)
    return dict(bot.discord.originals[TOKEN])


def click(bot: Bot, custom_id: str, message: dict[str, Any], **kw: Any) -> None:
    response = bot.send(component(custom_id, message=message, **kw))
    assert response.status_code == 200, response.text
    assert response.json() == {"type": 6}


def button_id(payload: dict[str, Any], label: str) -> str:
    return str(next(b["custom_id"] for b in buttons(payload) if b["label"] == label))


# -- /chart ---------------------------------------------------------------------------------
def test_chart_command_edits_the_original_into_the_chart(chart_bot: Bot) -> None:
    response = chart_bot.send(chart_command("aapl"))
    assert response.json() == {"type": 5}  # deferred at once; rendering is the worker's
    request = last_patch(chart_bot)
    payload = request.json
    assert_valid_edit(payload)

    png = png_of(request)
    assert Image.open(io.BytesIO(png)).size == (WIDTH, HEIGHT)
    assert png == expected_chart("AAPL", Timeframe.D1, {"vwap"})  # 1D default: VWAP

    (embed,) = payload["embeds"]
    _, quote = demo_data("AAPL", Timeframe.D1)
    assert embed["title"].startswith("AAPL")
    assert f"${quote.last:,.2f}" in embed["title"]
    assert f"{quote.change:+,.2f}" in embed["title"]
    assert f"({quote.change_pct:+.2f}%)" in embed["title"]
    assert embed["image"] == {"url": "attachment://chart.png"}
    assert "Simulated data" in embed["description"]
    assert "simulated demo data" in embed["footer"]["text"]
    assert payload["attachments"][0]["id"] == "0"
    assert payload["attachments"][0]["filename"] == "chart.png"
    assert "simulated" in payload["attachments"][0]["description"]

    assert_active(payload, "1D")
    assert button_id(payload, "5D") == "chart:v1:AAPL:5D:1"  # vwap is bit 0
    select = menu(payload)
    assert select["custom_id"] == "chart:v1:ind:AAPL:1D"
    assert (select["min_values"], select["max_values"]) == (0, 8)
    assert defaults(payload) == {"vwap"}
    # The render cache kept the same bytes on disk.
    cached = list((chart_bot.runtime.settings.data_dir / "charts").rglob("*.png"))
    assert png in {p.read_bytes() for p in cached}


def test_chart_with_timeframe_and_indicator_list(chart_bot: Bot) -> None:
    chart_bot.send(chart_command("MSFT", timeframe="3M", indicators="sma 20, bb + rsi"))
    request = last_patch(chart_bot)
    payload = request.json
    assert_valid_edit(payload)
    assert png_of(request) == expected_chart("MSFT", Timeframe.M3, {"sma20", "bollinger", "rsi"})
    assert_active(payload, "3M")
    assert defaults(payload) == {"sma20", "bollinger", "rsi"}
    # sma20 = bit 1, bollinger = bit 5, rsi = bit 6: 0b1100010
    assert button_id(payload, "1Y") == "chart:v1:MSFT:1Y:62"


def test_timeframe_click_edits_the_same_message_and_keeps_other_fields(chart_bot: Bot) -> None:
    message = run_chart(chart_bot, "NVDA")
    message["embeds"][0]["fields"] = [ALERT_FIELD]  # as on an alert message
    message["content"] = "NVDA alert"
    chart_bot.discord.reset()

    click(chart_bot, button_id(message, "5D"), message)
    request = last_patch(chart_bot)
    assert request.path.endswith(f"/{TOKEN}/messages/@original")  # the clicked message
    payload = request.json
    assert_valid_edit(payload)
    png = png_of(request)
    assert Image.open(io.BytesIO(png)).size == (WIDTH, HEIGHT)
    assert png == expected_chart("NVDA", Timeframe.D5, {"vwap"})
    assert payload["embeds"][0]["fields"] == [ALERT_FIELD]
    assert payload["content"] == "NVDA alert"
    assert payload["allowed_mentions"] == {"parse": []}  # keeping content never re-pings
    assert_active(payload, "5D")
    assert defaults(payload) == {"vwap"}
    assert chart_bot.discord.requests_for("create_followup") == []


def test_indicator_menu_replaces_the_selection(chart_bot: Bot) -> None:
    message = run_chart(chart_bot, "TSLA", timeframe="1M")
    assert defaults(message) == {"sma20", "sma50"}  # daily default
    chart_bot.discord.reset()

    click(chart_bot, menu(message)["custom_id"], message, values=["rsi", "macd"], component_type=3)
    request = last_patch(chart_bot)
    payload = request.json
    assert_valid_edit(payload)
    assert png_of(request) == expected_chart("TSLA", Timeframe.M1, {"rsi", "macd"})
    assert defaults(payload) == {"rsi", "macd"}
    assert_active(payload, "1M")
    assert button_id(payload, "1D") == "chart:v1:TSLA:1D:c0"  # bits 6 and 7

    # Clearing every option gives the plain chart.
    message = dict(chart_bot.discord.originals[TOKEN])
    click(chart_bot, menu(message)["custom_id"], message, values=[], component_type=3)
    request = last_patch(chart_bot, 2)
    assert png_of(request) == expected_chart("TSLA", Timeframe.M1, set())
    assert defaults(request.json) == set()
    assert "no indicators" in request.json["embeds"][0]["footer"]["text"]


# -- the old bot's alert buttons ------------------------------------------------------------
def legacy_alert(ticker: str) -> dict[str, Any]:
    """An alert message as the old bot posted it: chart embed, details, legacy buttons."""
    return {
        "id": "7001",
        "channel_id": "600",
        "content": "",
        "embeds": [
            {
                "title": f"{ticker} catalyst",
                "image": {"url": "attachment://chart.png"},
                "fields": [ALERT_FIELD, {"name": "Score", "value": "0.82", "inline": True}],
            }
        ],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "label": tf, "custom_id": f"chart_{ticker}_{tf}"}
                    for tf in TF_LABELS[:4]
                ]
                + [
                    {
                        "type": 2,
                        "style": 1,
                        "label": "Indicators",
                        "custom_id": f"chart_toggle_{ticker}_1D",
                    }
                ],
            }
        ],
        "attachments": [{"id": "1", "filename": "chart.png"}],
    }


def test_legacy_timeframe_button_works_like_the_new_one(chart_bot: Bot) -> None:
    alert = legacy_alert("AMD")
    click(chart_bot, "chart_AMD_1M", alert)
    request = last_patch(chart_bot)
    payload = request.json
    assert_valid_edit(payload)
    # An old alert shows a plain chart, so the new one is plain too.
    assert png_of(request) == expected_chart("AMD", Timeframe.M1, set())
    fields = payload["embeds"][0]["fields"]
    assert fields == [ALERT_FIELD, {"name": "Score", "value": "0.82", "inline": True}]
    assert_active(payload, "1M")
    assert defaults(payload) == set()
    assert button_id(payload, "5D") == "chart:v1:AMD:5D:0"  # upgraded to the new ids


def test_legacy_toggle_switches_between_plain_and_indicator_view(chart_bot: Bot) -> None:
    alert = legacy_alert("SPY")
    click(chart_bot, "chart_toggle_SPY_5D", alert)
    request = last_patch(chart_bot)
    assert_valid_edit(request.json)
    assert png_of(request) == expected_chart("SPY", Timeframe.D5, {"vwap"})
    assert defaults(request.json) == {"vwap"}

    # The same toggle on a message that shows indicators goes back to plain.
    shown = dict(chart_bot.discord.originals[TOKEN])
    click(chart_bot, "chart_toggle_SPY_5D", shown)
    request = last_patch(chart_bot, 2)
    assert png_of(request) == expected_chart("SPY", Timeframe.D5, set())
    assert defaults(request.json) == set()
    assert request.json["embeds"][0]["fields"][0] == ALERT_FIELD


# -- errors ---------------------------------------------------------------------------------
def private_refusal(bot: Bot) -> str:
    """A refusal found after a public deferred ack: the public "thinking…" placeholder is
    deleted first, then the reason is posted as an ephemeral followup; nothing is edited."""
    bot.wait("create_followup")
    bot.wait_idle()
    routes = [r.route for r in bot.discord.requests if r.route != "get_original"]
    # Progress edits ("Fetching 1D of AAPL…") may come first; nothing after the delete but
    # the private notice.
    assert routes[-2:] == ["delete_original", "create_followup"], routes
    assert set(routes[:-2]) <= {"edit_original"}, routes
    (notice,) = bot.discord.requests_for("create_followup")
    assert notice.json["flags"] == 64
    assert webhook_message_problems(notice.json) == []
    return str(notice.json["content"])


def test_unknown_ticker_command_is_refused_privately_at_once(chart_bot: Bot) -> None:
    """The demo's symbol list is known without fetching: refused before anything is queued."""
    body = chart_bot.send(chart_command("ZZZZ")).json()
    assert body["type"] == 4 and body["data"]["flags"] == 64
    assert "Unknown ticker: ZZZZ" in body["data"]["content"]
    assert "AAPL" in body["data"]["content"]  # says what the demo knows
    chart_bot.wait_idle()
    assert chart_bot.discord.requests == []


def test_unknown_ticker_found_after_the_ack_is_private(
    chart_bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider without a fixed list finds an unknown symbol only after the ack."""
    failing = Market(FailingProvider(UnknownTicker("ZZZZ", "Unknown ticker: ZZZZ.")))
    monkeypatch.setattr(chart_bot.services, "market", failing)
    assert chart_bot.send(chart_command("ZZZZ")).json()["type"] == 5
    assert "Unknown ticker: ZZZZ" in private_refusal(chart_bot)


def test_unknown_ticker_click_sends_a_private_notice_and_keeps_the_message(
    chart_bot: Bot,
) -> None:
    message = run_chart(chart_bot, "AAPL")
    chart_bot.discord.reset()
    click(chart_bot, "chart:v1:ZZZZ:5D:1", message)
    chart_bot.wait("create_followup")
    chart_bot.wait_idle()
    (notice,) = chart_bot.discord.requests_for("create_followup")
    assert notice.json["flags"] == 64
    assert "Unknown ticker: ZZZZ" in notice.json["content"]
    assert webhook_message_problems(notice.json) == []
    assert chart_bot.discord.requests_for("edit_original") == []


class FailingProvider:
    name = "failing"

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        raise self.error

    async def quote(self, ticker: str) -> Quote:
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ProviderRateLimited(retry_after=30), "rate limiting"),
        (ProviderUnavailable(), "unavailable"),
    ],
)
def test_provider_failures_reach_the_user(
    chart_bot: Bot, monkeypatch: pytest.MonkeyPatch, error: Exception, expected: str
) -> None:
    monkeypatch.setattr(chart_bot.services, "market", Market(FailingProvider(error)))
    chart_bot.send(chart_command("AAPL"))
    assert expected in private_refusal(chart_bot)


def test_no_bars_yet_today(chart_bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    # One minute after Wednesday's open: no five-minute bar has finished yet.
    opening = datetime(2025, 3, 12, 9, 31, tzinfo=NY).timestamp()
    early = Market(DemoProvider(clock=lambda: opening))
    monkeypatch.setattr(chart_bot.services, "market", early)
    chart_bot.send(chart_command("AAPL"))
    assert "No bars yet" in private_refusal(chart_bot)

    # A 5D chart at the same moment has the previous sessions and is drawn.
    chart_bot.discord.reset()
    chart_bot.send(chart_command("AAPL", timeframe="5D"))
    request = last_patch(chart_bot)
    assert Image.open(io.BytesIO(png_of(request))).size == (WIDTH, HEIGHT)


def test_bad_indicator_and_malformed_ticker_are_refused_at_once(chart_bot: Bot) -> None:
    response = chart_bot.send(chart_command("AAPL", indicators="vwap, fib"))
    body = response.json()
    assert body["type"] == 4 and body["data"]["flags"] == 64
    assert "Unknown indicator(s): fib" in body["data"]["content"]
    assert "vwap" in body["data"]["content"]  # lists the valid names
    assert answer_problems(body, 2) == []

    response = chart_bot.send(chart_command("$$$"))
    assert response.json()["type"] == 4
    assert "does not look like a ticker" in response.json()["data"]["content"]
    chart_bot.wait_idle()
    assert chart_bot.discord.requests == []  # nothing was queued


def test_chart_cooldown(chart_bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_bot.services, "cooldowns", Cooldowns({"*": 0.0, "chart": 60.0}))
    first = chart_bot.send(chart_command("META", timeframe="1Y"))
    assert first.json() == {"type": 5}
    second = chart_bot.send(chart_command("META", timeframe="1Y"))
    body = second.json()
    assert body["type"] == 4 and body["data"]["flags"] == 64
    assert "Slow down" in body["data"]["content"]
    last_patch(chart_bot)
    charts = [r for r in chart_bot.discord.requests_for("edit_original") if r.parts]
    assert len(charts) == 1


# -- /compare -------------------------------------------------------------------------------
def test_compare_draws_both_tickers(chart_bot: Bot) -> None:
    response = chart_bot.send(
        command("compare", [opt("ticker1", "AAPL"), opt("ticker2", "msft"), opt("timeframe", "3M")])
    )
    assert response.json() == {"type": 5}
    request = last_patch(chart_bot)
    payload = request.json
    assert_valid_edit(payload)
    a, _ = demo_data("AAPL", Timeframe.M3)
    b, _ = demo_data("MSFT", Timeframe.M3)
    png = png_of(request)
    assert Image.open(io.BytesIO(png)).size == (WIDTH, HEIGHT)
    assert png == render_compare(a, b, timeframe=Timeframe.M3)
    (embed,) = payload["embeds"]
    assert embed["title"] == "AAPL vs MSFT · 3M"
    assert embed["image"] == {"url": "attachment://chart.png"}
    # Both daily series share their dates: performance is first to last close.
    assert np.array_equal(a.timestamps, b.timestamps)
    for bars in (a, b):
        pct = (bars.close[-1] / bars.close[0] - 1) * 100
        assert f"**{bars.ticker}** {pct:+.2f}%" in embed["description"]
    assert "Simulated data" in embed["description"]
    assert_active(payload, "3M")

    message = dict(chart_bot.discord.originals[TOKEN])
    chart_bot.discord.reset()
    click(chart_bot, button_id(payload, "1Y"), message)
    request = last_patch(chart_bot)
    a, _ = demo_data("AAPL", Timeframe.Y1)
    b, _ = demo_data("MSFT", Timeframe.Y1)
    assert png_of(request) == render_compare(a, b, timeframe=Timeframe.Y1)
    assert_active(request.json, "1Y")


def test_compare_the_same_ticker_twice_is_explained(chart_bot: Bot) -> None:
    body = chart_bot.send(command("compare", [opt("ticker1", "AAPL"), opt("ticker2", "$aapl")]))
    assert body.json()["type"] == 4 and body.json()["data"]["flags"] == 64
    assert "two different tickers" in body.json()["data"]["content"]
    chart_bot.wait_idle()
    assert chart_bot.discord.requests == []  # refused before anything was queued


# -- autocomplete ---------------------------------------------------------------------------
def autocomplete(bot: Bot, name: str, focused: str, typed: str) -> list[dict[str, Any]]:
    options = [{"name": focused, "type": 3, "value": typed, "focused": True}]
    body = bot.send(command(name, options, type_=4)).json()
    assert body["type"] == 8
    assert answer_problems(body, 4) == []
    return list(body["data"]["choices"])


def test_autocomplete_answers(chart_bot: Bot) -> None:
    choices = autocomplete(chart_bot, "chart", "ticker", "nv")
    assert choices[0]["value"] == "NVDA"
    assert "NVIDIA" in choices[0]["name"]
    by_name = autocomplete(chart_bot, "compare", "ticker2", "micro")
    # The demo provider knows eleven symbols: Micron (MU) is not one of them.
    assert {c["value"] for c in by_name} == {"MSFT", "AMD"}
    every = autocomplete(chart_bot, "chart", "ticker", "")
    assert [c["value"] for c in every] == [
        "AAPL", "MSFT", "NVDA", "TSLA", "AMD", "SPY", "QQQ", "AMZN", "META", "GOOGL", "BRK.B"
    ]  # fmt: skip
    # By name: Alphabet; not Walmart, Salesforce or PayPal, which the demo does not know.
    assert [c["value"] for c in autocomplete(chart_bot, "chart", "ticker", "al")] == ["GOOGL"]
    assert autocomplete(chart_bot, "compare", "ticker1", "aap")[0]["value"] == "AAPL"

    first = autocomplete(chart_bot, "chart", "indicators", "")
    assert {"day", "trend", "momentum", "none", "all"} <= {c["value"] for c in first}
    following = autocomplete(chart_bot, "chart", "indicators", "vwap, r")
    assert [c["value"] for c in following] == ["vwap,rsi"]
    assert json.dumps(following)  # plain JSON values
    assert chart_bot.discord.requests == []  # answered inline, no job


def test_a_chart_without_enough_history_says_so(
    chart_bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three weeks into the demo's simulated history an SMA 50 cannot have its look-back."""
    early = datetime(2020, 1, 22, 16, 30, tzinfo=NY).timestamp()
    monkeypatch.setattr(chart_bot.services, "market", Market(DemoProvider(clock=lambda: early)))
    chart_bot.send(chart_command("AAPL", timeframe="1M", indicators="sma20, sma50"))
    payload = last_patch(chart_bot).json
    assert_valid_edit(payload)
    footer = payload["embeds"][0]["footer"]["text"]
    assert "No earlier price history: SMA 20, SMA 50 start without full look-back." in footer

    chart_bot.discord.reset()
    chart_bot.send(chart_command("AAPL", timeframe="1M", indicators="vwap"))
    assert (
        "No earlier price history" not in last_patch(chart_bot).json["embeds"][0]["footer"]["text"]
    )
