"""/chart and /compare as a member uses them in the local Discord: the command, the timeframe
buttons, the indicator menu, an old alert's legacy buttons, and the errors a user sees.

Every expected chart is rendered here, independently, from the same simulated data and
compared byte for byte with the image the page loads from the emulator (the renderer is
deterministic).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from catalyst_interactions.charts.render import render_chart, render_compare
from catalyst_interactions.emulator.world import ADMIN_USER_ID, REGULAR_USER_ID
from catalyst_interactions.market import Timeframe
from support.local_discord import Local, Shown, visible_to

from .conftest import demo_data, start_bot

pytestmark = pytest.mark.loopback

ALERTS_CHANNEL = "1310000000000000032"
TF_LABELS = ["1D", "5D", "1M", "3M", "1Y"]
WIDTH, HEIGHT = 1200, 675  # the renderer's documented size
ALERT_FIELDS = [  # as posted; the page shows a missing ``inline`` as not inline
    {"name": "Alert", "value": "Volume spike 4.2x at 10:31, halted 5 min", "inline": False},
    {"name": "Score", "value": "0.82", "inline": True},
]
ALERT_SHOWN = [(str(f["name"]), str(f["value"]), bool(f["inline"])) for f in ALERT_FIELDS]


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    yield from start_bot(tmp_path_factory.mktemp("charts"))


# -- what the page shows --------------------------------------------------------------------
def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return list(message["components"][0]["components"])


def menu(message: dict[str, Any]) -> dict[str, Any]:
    (select,) = message["components"][1]["components"]
    return dict(select)


def ticked(message: dict[str, Any]) -> set[str]:
    return {o["value"] for o in menu(message)["options"] if o.get("default")}


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    return next(b for b in buttons(message) if b["label"] == label)


def assert_active(message: dict[str, Any], active: str) -> None:
    assert [b["label"] for b in buttons(message)] == TF_LABELS
    for b in buttons(message):
        assert bool(b.get("disabled")) is (b["label"] == active), b


def fields(message: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """An embed's fields as the page draws them (a missing ``inline`` is not inline)."""
    return [(f["name"], f["value"], bool(f.get("inline"))) for f in message["embeds"][0]["fields"]]


def image(local: Local, message: dict[str, Any]) -> bytes:
    """The embed's image as the page's <img> loads it from the emulator."""
    (embed,) = message["embeds"]
    url = embed["image"]["url"]
    assert url.startswith(local.stack.url + "/attachments/")
    response = local.attachment(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    png = response.content
    assert Image.open(io.BytesIO(png)).size == (WIDTH, HEIGHT)
    return png


# History bars each indicator is computed over before the chart's first bar (docs/charts.md).
HISTORY = {"vwap": 0, "sma20": 19, "sma50": 49, "bollinger": 19}
HISTORY |= {"ema9": 39, "ema21": 93, "rsi": 108, "macd": 154}


def expected_chart(ticker: str, tf: Timeframe, indicators: set[str]) -> bytes:
    bars, quote = demo_data(ticker, tf, max((HISTORY[i] for i in indicators), default=0))
    return render_chart(
        bars, ticker=ticker, timeframe=tf, indicators=frozenset(indicators), quote=quote
    )


def chart(local: Local, ticker: str, **options: str) -> Shown:
    shown = local.use("chart", ticker=ticker, **options)
    assert shown.ok and shown.result["response_type"] == 5, shown.result
    return shown


# -- /chart ----------------------------------------------------------------------------------
def test_chart_is_deferred_then_shows_the_chart_image_and_timeframe_buttons(local: Local) -> None:
    shown = chart(local, "AAPL")  # deferred: "Catalyst is thinking…", then the worker's edit
    message_id = shown.result["message_id"]
    message = shown.message
    assert message is not None and message["id"] == message_id
    assert not shown.ephemeral
    assert message["interaction_metadata"]["user"]["id"] == REGULAR_USER_ID

    _, quote = demo_data("AAPL", Timeframe.D1)
    embed = shown.embed
    assert embed["title"] == (
        f"AAPL  ${quote.last:,.2f}  {'▲' if quote.change >= 0 else '▼'} "
        f"{quote.change:+,.2f} ({quote.change_pct:+.2f}%)"
    )
    assert "Simulated data" in embed["description"]
    assert embed["footer"]["text"].startswith("1D · 5-minute bars · VWAP")
    (attachment,) = message["attachments"]
    assert attachment["filename"] == "chart.png"
    assert (attachment["width"], attachment["height"]) == (WIDTH, HEIGHT)
    assert embed["image"]["url"] == attachment["url"]
    assert image(local, message) == expected_chart("AAPL", Timeframe.D1, {"vwap"})

    assert_active(message, "1D")
    assert ticked(message) == {"vwap"}
    # A public answer: the other member sees the same chart.
    assert visible_to(local.message(message_id), ADMIN_USER_ID)


def test_timeframe_button_and_indicator_menu_redraw_the_same_message(local: Local) -> None:
    first = chart(local, "NVDA")
    assert first.message is not None
    message_id = first.message["id"]

    five = local.press(message_id, button(first.message, "5D")["custom_id"])
    assert five.ok and five.result["response_type"] == 6
    after = five.message
    assert after is not None and after["id"] == message_id  # edited in place
    assert_active(after, "5D")
    assert ticked(after) == {"vwap"}  # the indicators carry over
    assert after["embeds"][0]["footer"]["text"].startswith("5D · 30-minute bars")
    assert image(local, after) == expected_chart("NVDA", Timeframe.D5, {"vwap"})
    # One chart message, not two: the old image was replaced.
    assert len(after["attachments"]) == 1

    picked = local.press(message_id, menu(after)["custom_id"], values=["rsi", "macd"])
    assert picked.ok and picked.result["response_type"] == 6
    redrawn = picked.message
    assert redrawn is not None and redrawn["id"] == message_id
    assert ticked(redrawn) == {"rsi", "macd"}
    assert_active(redrawn, "5D")
    assert "RSI, MACD" in redrawn["embeds"][0]["footer"]["text"]
    assert image(local, redrawn) == expected_chart("NVDA", Timeframe.D5, {"rsi", "macd"})

    plain = local.press(message_id, menu(redrawn)["custom_id"], values=[])
    assert plain.message is not None
    assert ticked(plain.message) == set()
    assert "no indicators" in plain.message["embeds"][0]["footer"]["text"]

    # The disabled button cannot be pressed, as in Discord's client.
    refused = local.interact(
        kind="component",
        persona="regular",
        message_id=message_id,
        custom_id=button(plain.message, "5D")["custom_id"],
    )
    assert refused["ok"] is False and "disabled" in refused["error"]


def legacy_alert(local: Local, ticker: str, row: list[tuple[str, str]]) -> dict[str, Any]:
    """An alert as the old system posts it with the bot token: chart embed with the alert's
    fields, a plain chart image, and legacy buttons."""
    bars, _ = demo_data(ticker, Timeframe.D1)
    png = render_chart(bars, ticker=ticker, timeframe=Timeframe.D1)
    payload = {
        "content": f"🚨 {ticker} catalyst",
        "embeds": [
            {
                "title": f"{ticker} catalyst",
                "image": {"url": "attachment://chart.png"},
                "fields": ALERT_FIELDS,
            }
        ],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "label": label, "custom_id": custom_id}
                    for label, custom_id in row
                ],
            }
        ],
        "attachments": [{"id": 0, "filename": "chart.png"}],
    }
    return local.post_as_bot(
        ALERTS_CHANNEL, payload, files={"files[0]": ("chart.png", png, "image/png")}
    )


def test_legacy_alert_buttons_redraw_the_alert_and_keep_its_details(local: Local) -> None:
    alert = legacy_alert(
        local,
        "AAPL",
        [("1D", "chart_AAPL_1D"), ("5D", "chart_AAPL_5D"), ("Indicators", "chart_toggle_AAPL_1D")],
    )
    assert alert["channel_id"] == ALERTS_CHANNEL
    assert [m["id"] for m in local.timeline("regular", ALERTS_CHANNEL)] == [alert["id"]]

    # chart_AAPL_1D: the timeframe with what the alert shows now (a plain chart).
    pressed = local.press(alert["id"], "chart_AAPL_1D")
    assert pressed.ok and pressed.result["response_type"] == 6
    message = pressed.message
    assert message is not None and message["id"] == alert["id"]
    assert message["content"] == "🚨 AAPL catalyst"
    assert fields(message) == ALERT_SHOWN
    assert image(local, message) == expected_chart("AAPL", Timeframe.D1, set())
    assert_active(message, "1D")
    assert ticked(message) == set()
    assert button(message, "5D")["custom_id"] == "chart:v1:AAPL:5D:0"  # upgraded ids

    # chart_toggle_AAPL_1D on a second (untouched) alert: plain becomes the 1D defaults.
    other = legacy_alert(
        local, "AAPL", [("1D", "chart_AAPL_1D"), ("Indicators", "chart_toggle_AAPL_1D")]
    )
    toggled = local.press(other["id"], "chart_toggle_AAPL_1D", persona="admin")
    message = toggled.message
    assert message is not None and message["id"] == other["id"]
    assert fields(message) == ALERT_SHOWN
    assert ticked(message) == {"vwap"}
    assert image(local, message) == expected_chart("AAPL", Timeframe.D1, {"vwap"})


def test_unknown_and_malformed_tickers_tell_the_user(local: Local) -> None:
    unknown = local.use("chart", ticker="ZZZZ")
    # The demo's symbols are known without fetching: refused at once, privately.
    assert unknown.ok and unknown.result["response_type"] == 4
    assert unknown.ephemeral and unknown.content.startswith("Unknown ticker: ZZZZ")
    assert "AAPL" in unknown.content  # what the demo knows
    assert unknown.message is not None
    mine = [m["id"] for m in local.timeline("regular")]
    theirs = [m["id"] for m in local.timeline("admin")]
    assert unknown.message["id"] in mine and unknown.message["id"] not in theirs

    same = local.use("compare", ticker1="AAPL", ticker2="$aapl")
    assert same.ephemeral and same.content == "Pick two different tickers to compare."
    assert same.message is not None and same.message["id"] not in [
        m["id"] for m in local.timeline("admin")
    ]

    malformed = local.use("chart", ticker="$$$")
    assert malformed.ok and malformed.result["response_type"] == 4  # refused at once
    assert malformed.ephemeral and "does not look like a ticker" in malformed.content
    assert malformed.message is not None
    mine = [m["id"] for m in local.timeline("regular")]
    theirs = [m["id"] for m in local.timeline("admin")]
    assert malformed.message["id"] in mine and malformed.message["id"] not in theirs


def test_compare_draws_both_tickers_and_switches_range(local: Local) -> None:
    shown = local.use("compare", ticker1="AAPL", ticker2="msft", timeframe="3M")
    assert shown.ok and shown.result["response_type"] == 5
    message = shown.message
    assert message is not None
    a, _ = demo_data("AAPL", Timeframe.M3)
    b, _ = demo_data("MSFT", Timeframe.M3)
    embed = shown.embed
    assert embed["title"] == "AAPL vs MSFT · 3M"
    for bars in (a, b):
        pct = (float(bars.close[-1]) / float(bars.close[0]) - 1) * 100
        assert f"**{bars.ticker}** {pct:+.2f}%" in embed["description"]
    assert image(local, message) == render_compare(a, b, timeframe=Timeframe.M3)
    assert_active(message, "3M")

    year = local.press(message["id"], button(message, "1Y")["custom_id"])
    assert year.message is not None and year.message["id"] == message["id"]
    assert year.message["embeds"][0]["title"] == "AAPL vs MSFT · 1Y"
    a, _ = demo_data("AAPL", Timeframe.Y1)
    b, _ = demo_data("MSFT", Timeframe.Y1)
    assert image(local, year.message) == render_compare(a, b, timeframe=Timeframe.Y1)
    assert_active(year.message, "1Y")


def test_ticker_autocomplete_suggests_while_typing(local: Local) -> None:
    answer = local.autocomplete("chart", "ticker", "nv")
    assert answer["ok"] and answer["response_type"] == 8
    assert answer["choices"][0]["value"] == "NVDA" and "NVIDIA" in answer["choices"][0]["name"]
    listed = local.autocomplete("chart", "indicators", "vwap, r", ticker="AAPL")
    assert [c["value"] for c in listed["choices"]] == ["vwap,rsi"]
