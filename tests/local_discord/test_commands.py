"""/watchlist, /check, /stats, /backtest, /sentiment, /research and /ask as members use them
in the local Discord.

The alerts are the old bot's sample log (tests/store/samples/alerts.jsonl), imported with the
real ``import-legacy`` command into the running bot's database. Expected numbers come from
our own demo provider on the bot's fixed market clock and the rules in docs/commands.md.
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from bot.bot_support import FakeLLM
from catalyst_interactions.charts.render import render_gauge
from catalyst_interactions.market import Timeframe
from catalyst_interactions.ops.admin_cli import import_legacy_command
from catalyst_interactions.secret import Secret
from support.local_discord import Local, Shown
from support.servers import serve_in_thread

from .conftest import SAMPLES, data_dir, demo_data, start_bot

pytestmark = pytest.mark.loopback

WATCHLIST_MAX = 3
LLM_KEY = "sk-local-discord-test"
# What the sample log holds once imported (6 usable lines; see tests/bot/test_bot_cli_import).
AAPL_ALERT = (datetime(2024, 3, 4, 14, 31, 5, tzinfo=UTC), 175.10)
PRICED = {  # ticker: (posted at, price) of the alerts the demo provider has bars for
    "AAPL": AAPL_ALERT,
    "NVDA": (datetime(2024, 3, 4, 14, 45, tzinfo=UTC), 852.37),
    "TSLA": (datetime.fromtimestamp(1709566200, UTC), 188.14),
    "BRK.B": (datetime.fromtimestamp(1709647200, UTC), 409.0),
}
SCORES = [0.82, 0.91, 0.44, 0.67, 0.35, 0.58]  # AAPL NVDA TSLA SOFI BRK.B AMC


@pytest.fixture(scope="module")
def llm() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM()
    with serve_in_thread(fake) as url:
        yield fake, url + "/v1"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, llm: tuple[FakeLLM, str]) -> Iterator[Local]:
    for local in start_bot(
        tmp_path_factory.mktemp("commands"),
        watchlist_max=WATCHLIST_MAX,
        llm_base_url=llm[1],
        llm_model="test-model",
        llm_api_key=Secret(LLM_KEY),
    ):
        import_samples(data_dir(local), tmp_path_factory.mktemp("cwd"))
        yield local


def import_samples(data: Path, cwd: Path) -> None:
    """The operator's ``catalyst-interactions import-legacy`` against the bot's database."""
    env = {"CATALYST_DATA_DIR": str(data), "CATALYST_DATABASE_URL": ""}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)  # no stray .env
        result = CliRunner().invoke(
            import_legacy_command, ["--alerts", str(SAMPLES / "alerts.jsonl")], env=env
        )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("alerts (alerts.jsonl): 6 added, 1 already present")


def field(embed: dict[str, Any], name: str) -> str:
    return str(next(f["value"] for f in embed.get("fields", []) if f["name"] == name))


def session_close(ticker: str, posted: datetime) -> tuple[list[float], int]:
    """Daily closes and the index of the first session closing after ``posted``."""
    bars, _ = demo_data(ticker, Timeframe.Y1)
    stamps = [int(t) for t in bars.timestamps.tolist()]
    return [float(c) for c in bars.close.tolist()], bisect.bisect_right(
        stamps, int(posted.timestamp())
    )


# -- /watchlist -------------------------------------------------------------------------------
def say(local: Local, persona: str, name: str, **options: Any) -> str:
    """Run an inline ephemeral command and return its text, checking who can see it."""
    shown = local.use(name, persona, **options)
    assert shown.ok and shown.result["response_type"] == 4, shown.result
    assert shown.ephemeral and shown.message is not None
    other = "admin" if persona == "regular" else "regular"
    assert shown.message["id"] in {m["id"] for m in local.timeline(persona)}
    assert shown.message["id"] not in {m["id"] for m in local.timeline(other)}
    return shown.content


def test_watchlist_add_list_remove_clear_and_limits(local: Local) -> None:
    assert say(local, "regular", "watchlist list") == (
        "Your watchlist is empty. Add a ticker with `/watchlist add`."
    )
    assert say(local, "regular", "watchlist add", ticker="aapl") == (
        "Added **AAPL** to your watchlist (1/3)."
    )
    assert say(local, "regular", "watchlist add", ticker="$AAPL") == (
        "**AAPL** is already on your watchlist."
    )
    assert say(local, "regular", "watchlist add", ticker="ZZZZ").startswith("Unknown ticker: ZZZZ")
    assert say(local, "regular", "watchlist add", ticker="msft").endswith("(2/3).")
    assert say(local, "regular", "watchlist add", ticker="NVDA").endswith("(3/3).")
    assert say(local, "regular", "watchlist add", ticker="TSLA") == (
        "Your watchlist is full (3 tickers). Remove one with `/watchlist remove` first."
    )
    assert say(local, "admin", "watchlist add", ticker="META").endswith("(1/3).")

    listing = local.use("watchlist list")
    assert listing.ephemeral
    assert listing.embed["title"] == "Your watchlist"
    assert set(listing.embed["description"].split(", ")) == {"**AAPL**", "**MSFT**", "**NVDA**"}
    assert listing.embed["footer"]["text"] == "3/3 tickers"

    # Suggestions while typing the ticker to remove: only the member's own tickers.
    mine = local.autocomplete("watchlist remove", "ticker", "")
    assert {c["value"] for c in mine["choices"]} == {"AAPL", "MSFT", "NVDA"}
    assert [
        c["value"] for c in local.autocomplete("watchlist remove", "ticker", "m")["choices"]
    ] == ["MSFT"]
    theirs = local.autocomplete("watchlist remove", "ticker", "", persona="admin")
    assert [c["value"] for c in theirs["choices"]] == ["META"]

    assert say(local, "regular", "watchlist remove", ticker="MSFT") == (
        "Removed **MSFT** from your watchlist."
    )
    assert say(local, "regular", "watchlist remove", ticker="MSFT") == (
        "**MSFT** is not on your watchlist."
    )
    assert say(local, "regular", "watchlist add", ticker="TSLA").endswith("(3/3).")
    assert say(local, "regular", "watchlist clear") == (
        "Cleared your watchlist (3 tickers removed)."
    )
    assert say(local, "regular", "watchlist clear") == "Your watchlist was already empty."
    assert local.use("watchlist list", "admin").embed["description"] == "**META**"


# -- /check, /stats, /backtest, /sentiment ----------------------------------------------------
def test_check_shows_the_quote_and_the_imported_alert(local: Local) -> None:
    shown = local.use("check", ticker="aapl")
    assert shown.ok and not shown.ephemeral
    _, quote = demo_data("AAPL", Timeframe.D1)
    assert shown.embed["title"] == f"AAPL ${quote.last:,.2f}"
    arrow = "▲" if quote.change >= 0 else "▼"
    assert field(shown.embed, "Change") == (
        f"{arrow} {quote.change:+.2f} ({quote.change_pct:+.2f}%)"
    )
    recent = field(shown.embed, "Recent alerts (1)")
    assert "Apple announces $110B share buyback" in recent and "$175.10" in recent
    assert "Simulated data" in shown.embed["footer"]["text"]


def test_stats_for_all_time_and_an_empty_week(local: Local) -> None:
    shown = local.use("stats", period="all")
    assert shown.ok and not shown.ephemeral
    card = shown.embed
    assert card["title"] == "Catalyst stats — all time"
    assert field(card, "Alerts posted") == "6"
    assert field(card, "Unique tickers") == "6"
    assert field(card, "Average score") == f"{sum(SCORES) / len(SCORES):.2f}"
    rose = 0
    for ticker, (posted, price) in PRICED.items():
        closes, i = session_close(ticker, posted)
        rose += closes[i] > price
    # SOFI and AMC: the demo provider has no bars for them (AMC has no price either).
    assert field(card, "Outcomes") == (
        f"Rose by the next close: **{rose} of 4** ({rose / 4:.0%})\n2 without price data"
    )
    assert "Simulated data" in card["footer"]["text"]

    week = local.use("stats")  # default 7d: the samples are from March 2024
    assert week.embed["description"] == "No alerts were posted in this period."


def assert_private_to_the_member(local: Local, shown: Shown) -> None:
    """A refusal found after a public deferred ack: the channel's "thinking…" is gone and
    only the member who asked sees the reason."""
    assert shown.placeholder_deleted and shown.ephemeral and shown.message is not None
    mine = [m["id"] for m in local.timeline("regular")]
    theirs = [m["id"] for m in local.timeline("admin")]
    assert shown.message["id"] in mine and shown.message["id"] not in theirs
    assert str(shown.result["message_id"]) not in mine + theirs


def test_backtest_replays_the_imported_alert(local: Local) -> None:
    shown = local.use("backtest", ticker="AAPL", days=2)
    assert shown.ok and shown.result["response_type"] == 5 and not shown.ephemeral
    card = shown.embed
    assert card["title"] == "Backtest: AAPL, hold 2d"
    posted, price = AAPL_ALERT
    closes, i = session_close("AAPL", posted)
    ret = (closes[i + 2] / price - 1) * 100
    assert field(card, "Trades") == "1"
    assert field(card, "Hit rate") == ("100% (1/1)" if ret > 0 else "0% (0/1)")
    assert field(card, "Average return") == f"{ret:+.2f}%"
    assert field(card, "Latest trades") == (
        f"`2024-03-04` $175.10 → ${closes[i + 2]:,.2f} **{ret:+.2f}%** (2d)"
    )

    none = local.use("backtest", ticker="MSFT")
    assert none.content == "There are no stored alerts for **MSFT** to backtest."
    assert_private_to_the_member(local, none)
    refused = local.use("backtest", ticker="AAPL", days=0)  # Discord's client refuses it
    assert refused.result == {"ok": False, "refused": True, "error": "`days` must be at least 1"}


def test_sentiment_shows_the_verdict_and_a_gauge(local: Local) -> None:
    shown = local.use("sentiment", ticker="NVDA")
    assert shown.ok and shown.result["response_type"] == 5
    card = shown.embed
    # One imported NVDA alert with a stored sentiment of +0.75 (> +0.2: bullish).
    assert card["description"] == (
        "**Bullish** (+0.75 on a -1 … +1 scale), from 1 scored alert of the newest 1."
    )
    assert (field(card, "Bullish"), field(card, "Neutral"), field(card, "Bearish")) == (
        "1",
        "0",
        "0",
    )
    assert shown.message is not None
    (attachment,) = shown.message["attachments"]
    assert attachment["filename"] == "sentiment.png"
    assert card["image"]["url"] == attachment["url"]
    png = local.attachment(attachment["url"]).content
    assert png == render_gauge(0.75)
    assert Image.open(io.BytesIO(png)).size == (480, 270)

    empty = local.use("sentiment", ticker="MSFT")
    assert empty.content == "There are no stored alerts for **MSFT** yet."
    assert_private_to_the_member(local, empty)


# -- /research and /ask -----------------------------------------------------------------------
def test_research_and_ask_answer_from_the_llm(local: Local, llm: tuple[FakeLLM, str]) -> None:
    fake, _ = llm
    fake.answer = "The **buyback** is the catalyst."
    before = len(fake.requests)
    shown = local.use("research", ticker="AAPL", question="Is the buyback material?")
    assert shown.ok and shown.result["response_type"] == 5 and not shown.ephemeral
    card = shown.embed
    assert card["title"] == "Research: AAPL"
    assert card["description"] == "The **buyback** is the catalyst."
    assert field(card, "Question") == "Is the buyback material?"
    assert card["footer"]["text"].startswith("test-model · not financial advice")
    request = fake.requests[before]
    prompt = request["json"]["messages"][1]["content"]
    assert "Ticker: AAPL" in prompt and "Apple announces $110B share buyback" in prompt
    assert "SIMULATED demo data" in prompt
    assert fake.headers[before]["authorization"] == f"Bearer {LLM_KEY}"

    fake.answer = "Six alerts, mostly bullish."
    asked = local.use("ask", question="What happened this week?")
    assert asked.embed["title"] == "Ask Catalyst"
    assert asked.embed["description"] == "Six alerts, mostly bullish."
    assert "Marathon" not in fake.requests[-1]["json"]["messages"][1]["content"]  # rejected line
