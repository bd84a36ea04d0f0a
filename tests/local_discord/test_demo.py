"""The demo world `make run` starts with, through the local Discord: a simulated history that
every member command answers from, alert messages in #alerts (old and new button ids) and a
pending report in #admin; the same world after a restart; the bot-token CLI against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalyst_interactions.dev import build_dev
from catalyst_interactions.emulator.world import ADMIN_CHANNEL_ID, ALERTS_CHANNEL_ID
from catalyst_interactions.secret import Secret
from catalyst_interactions.settings import Settings
from support.local_discord import Clock, Local, running

pytestmark = pytest.mark.loopback
TIMEFRAMES = ["1D", "5D", "1M", "3M", "1Y"]


def start(data: Path) -> Iterator[Local]:
    clock = Clock()
    settings = Settings(
        data_dir=data, process_pool_size=1, cooldowns={"*": 0.0}, job_retry_base_s=0.05
    )
    stack = build_dev(settings, None, port=0, clock=clock, demo=True)
    # The first start seeds the history and renders six charts: allow for a loaded machine.
    with running(stack, clock, timeout_s=120) as local:
        yield local


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def local(data: Path) -> Iterator[Local]:
    yield from start(data)


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


def bot_messages(local: Local, channel: str) -> list[dict[str, Any]]:
    bot_id = local.stack.emulator.world.bot_user["id"]
    return [m for m in local.timeline("regular", channel) if m["author"]["id"] == bot_id]


def test_alerts_channel_holds_alert_messages_with_chart_and_timeframe_buttons(
    local: Local,
) -> None:
    alerts = bot_messages(local, ALERTS_CHANNEL_ID)
    assert len(alerts) == 6
    tickers = set()
    for message in alerts:
        (embed,) = message["embeds"]
        ticker = embed["title"].split(" — ")[0]
        tickers.add(ticker)
        assert embed["title"].split(" — ")[1].startswith("Demo: ")  # labelled simulated
        assert "Simulated" in embed["description"]
        assert {f["name"] for f in embed["fields"]} >= {"Alert", "Price at alert", "Score"}
        (attachment,) = message["attachments"]
        assert attachment["filename"] == "chart.png"
        assert embed["image"]["url"] == attachment["url"]
        assert local.attachment(attachment["url"]).content.startswith(b"\x89PNG")
    assert len(tickers) == 6  # the newest alert of six different tickers
    legacy = [
        m for m in alerts if f"chart_{m['embeds'][0]['title'].split(' — ')[0]}_1D" in custom_ids(m)
    ]
    assert len(legacy) == 5
    for message in legacy:
        ticker = message["embeds"][0]["title"].split(" — ")[0]
        assert custom_ids(message) == [
            *(f"chart_{ticker}_{tf}" for tf in TIMEFRAMES),
            f"chart_toggle_{ticker}_1M",
        ]
    newest = alerts[-1]
    ticker = newest["embeds"][0]["title"].split(" — ")[0]
    assert custom_ids(newest)[0] == f"chart:v1:{ticker}:1D:0"


def test_a_legacy_button_on_an_alert_redraws_it_and_keeps_the_alert(local: Local) -> None:
    alerts = bot_messages(local, ALERTS_CHANNEL_ID)
    message = alerts[0]
    ticker = message["embeds"][0]["title"].split(" — ")[0]
    kept = {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}
    shown = local.press(message["id"], f"chart_{ticker}_5D")
    assert shown.message is not None and shown.message["id"] == message["id"]
    embed = shown.embed
    assert embed["title"].startswith(ticker)
    assert embed["footer"]["text"].startswith("5D")
    assert {f["name"]: f["value"] for f in embed["fields"]} == kept
    assert shown.message["content"] == message["content"]


def test_admin_channel_holds_the_pending_report_with_its_buttons(local: Local) -> None:
    (report,) = bot_messages(local, ADMIN_CHANNEL_ID)
    assert report["embeds"][0]["title"] == "Nightly tuning (demo)"
    assert custom_ids(report) == [
        f"admin:v1:{action}:demo-nightly-tuning"
        for action in ("approve", "reject", "details", "custom")
    ]
    details = local.press(report["id"], "admin:v1:details:demo-nightly-tuning", persona="admin")
    assert details.ephemeral
    assert "min_score" in json.dumps(details.message)


@pytest.mark.parametrize(
    ("command", "expect"),
    [
        ("check", "Demo: "),
        ("backtest", "trade"),
        ("sentiment", "alert"),
    ],
)
def test_member_commands_answer_from_the_demo_history(
    local: Local, command: str, expect: str
) -> None:
    ticker = bot_messages(local, ALERTS_CHANNEL_ID)[-1]["embeds"][0]["title"].split(" — ")[0]
    shown = local.use(command, ticker=ticker)
    assert shown.message is not None and not shown.ephemeral, shown.result
    assert expect.lower() in json.dumps(shown.message).lower()


def test_stats_covers_the_demo_alerts(local: Local) -> None:
    shown = local.use("stats")
    assert shown.message is not None and not shown.ephemeral, shown.result
    fields = {f["name"]: f["value"] for f in shown.embed["fields"]}
    assert int(fields["Alerts posted"]) >= 20  # 4 per demo ticker in the last 10 sessions
    assert int(fields["Unique tickers"]) >= 8
    assert "of" in fields["Outcomes"]


def test_the_cli_posts_a_report_to_the_local_discord_with_the_dev_env_file(
    local: Local, tmp_path: Path
) -> None:
    env_file = local.stack.env_file
    assert env_file.stat().st_mode & 0o077 == 0  # it holds the bot token
    report = tmp_path / "report.json"
    report.write_text(
        json.dumps(
            {
                "report_id": "cli-check-1",
                "title": "From the command line",
                "changes": [{"parameter": "min_score", "proposed": 0.7}],
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALYST_", "DISCORD_"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "catalyst_interactions",
            "admin",
            "post-report",
            "--env-file",
            str(env_file),
            str(report),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"to channel {ADMIN_CHANNEL_ID}" in done.stdout
    titles = [m["embeds"][0]["title"] for m in bot_messages(local, ADMIN_CHANNEL_ID)]
    assert "From the command line" in titles


def test_a_restart_shows_the_same_world_without_duplicating_it(data: Path, local: Local) -> None:
    before_alerts = bot_messages(local, ALERTS_CHANNEL_ID)
    for again in start(data):  # a second start on the same data directory
        assert again.stack.demo.alerts_added == 0
        after = bot_messages(again, ALERTS_CHANNEL_ID)
        assert all(" — Demo: " in m["embeds"][0]["title"] for m in after)
        assert [m["embeds"][0]["title"].split()[0] for m in after] == [
            m["embeds"][0]["title"].split()[0] for m in before_alerts
        ]
        reports = bot_messages(again, ADMIN_CHANNEL_ID)
        assert [r["embeds"][0]["title"] for r in reports] == ["Nightly tuning (demo)"]


def test_with_a_real_market_provider_the_demo_is_not_started(tmp_path: Path) -> None:
    clock = Clock()
    settings = Settings(
        data_dir=tmp_path,
        process_pool_size=1,
        market_provider="tiingo",
        tiingo_api_key=Secret("not-used-by-this-test"),
    )
    stack = build_dev(settings, None, port=0, clock=clock, demo=True)
    with running(stack, clock, timeout_s=60) as local:
        assert stack.demo is None
        assert bot_messages(local, ALERTS_CHANNEL_ID) == []
        assert bot_messages(local, ADMIN_CHANNEL_ID) == []
