"""The demo world ``make run`` starts with: a labelled, simulated history to try every command on.

Two halves, with different lifetimes:

- **In the database** (``data/dev`` by default), written once: about four months of simulated
  alerts for the demo tickers, priced from the simulated market so ``/backtest`` and
  ``/stats`` agree with the charts, and a pending tuning report. A database that already
  holds alerts is left alone, so restarts never duplicate anything (and imported data is
  never mixed with the demo's).
- **In the local Discord**, which forgets everything when it stops: on every start the
  newest alerts are posted into ``#alerts`` through the bot token, the way the alert poster
  does (an embed with the alert's details, the chart, 1D–1Y buttons; the older ones with the
  old bot's ``chart_{TICKER}_{TF}`` / ``chart_toggle_{TICKER}_{TF}`` ids), and a pending
  report is posted into ``#admin`` with its buttons.

Every alert says it is simulated: its title starts with "Demo:", its source is
"simulated demo", and the messages carry the simulated-data note.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from ..discord.enums import ButtonStyle
from ..discord.limits import EMBED_TITLE_MAX
from ..discord.messages import ActionRow, Button, Embed, EmbedField, File, Message, truncate
from ..discord.rest import DiscordRest

if TYPE_CHECKING:
    from ..bot.resources import Resources
    from ..store import Alert, Store

__all__ = ["DEMO_REPORT", "DemoSummary", "post_demo_messages", "seed_history"]

log = logging.getLogger("catalyst_interactions.dev.demo")

SOURCE = "simulated demo"
TITLE_PREFIX = "Demo: "
HISTORY_DAYS = 120
POSTED_ALERTS = 6
"""Alert messages posted into #alerts on each start (the newest ones, one per ticker)."""
NEW_STYLE_ALERTS = 1
"""Of those, the newest carry the versioned buttons and menu; the rest the old bot's ids."""

# (headline, sentiment sign): templates for simulated catalysts, filled with the company name.
_HEADLINES: tuple[tuple[str, int], ...] = (
    ("{name} beats quarterly earnings estimates", 1),
    ("{name} raises full-year guidance", 1),
    ("{name} announces a $5B share buyback", 1),
    ("{name} wins a multi-year government contract", 1),
    ("{name} unveils a new product line at its investor day", 1),
    ("Analyst upgrades {name} to Buy", 1),
    ("{name} misses revenue expectations", -1),
    ("{name} cuts its outlook on softer demand", -1),
    ("Regulators open an inquiry into {name}", -1),
    ("{name} chief financial officer to step down", -1),
    ("Unusual options activity in {name}", 0),
    ("{name} files an 8-K on a management change", 0),
)

DEMO_REPORT: dict[str, Any] = {
    "report_id": "demo-nightly-tuning",
    "title": "Nightly tuning (demo)",
    "summary": (
        "Simulated: a replay of the demo's last 30 days suggests a stricter score threshold "
        "and fewer alerts per hour. Approve, reject, customise or look at the details."
    ),
    "changes": [
        {
            "parameter": "min_score",
            "proposed": 0.65,
            "reason": "Fewer false positives in the replay",
            "type": "float",
            "min": 0,
            "max": 1,
            "current": 0.55,
        },
        {
            "parameter": "max_alerts_per_hour",
            "proposed": 12,
            "reason": "Bursts after the open crowd the channel",
            "type": "int",
            "min": 1,
            "max": 100,
            "current": 20,
        },
        {
            "parameter": "sentiment_filter",
            "proposed": True,
            "reason": "Negative-sentiment alerts underperformed",
            "type": "bool",
            "current": False,
        },
    ],
    "metrics": {"alerts replayed": 96, "hit rate": "58%", "data": "simulated"},
}


@dataclass(frozen=True, slots=True)
class DemoSummary:
    alerts_added: int
    alert_messages: int
    report_posted: bool


def _trading_days(end: date, days: int) -> list[date]:
    out = []
    day = end - timedelta(days=days)
    while day <= end:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


async def seed_history(store: Store, svc: Resources, *, now: datetime | None = None) -> int:
    """Write the simulated alert history and the demo report once; returns alerts added."""
    from ..market.symbols import DEMO_SYMBOLS
    from ..market.timeframe import Timeframe
    from ..store import NewAlert

    added = 0
    if not await store.alerts.recent(limit=1):
        now = now or datetime.now(UTC)
        days = _trading_days(now.date() - timedelta(days=1), HISTORY_DAYS)
        alerts: list[NewAlert] = []
        for ticker, name in DEMO_SYMBOLS.items():
            rng = random.Random(f"catalyst-demo:{ticker}")  # the same history every time
            bars = await svc.market.bars(ticker, Timeframe.Y1)
            closes = {
                datetime.fromtimestamp(int(ts), UTC).date(): float(c)
                for ts, c in zip(bars.timestamps.tolist(), bars.close.tolist(), strict=True)
            }
            # Spread over the months, and denser lately so /stats' 7 days have plenty.
            chosen = rng.sample(days[:-10], 10) + rng.sample(days[-10:], 4)
            for day in sorted(chosen):
                if day not in closes:
                    continue
                headline, sign = rng.choice(_HEADLINES)
                at = datetime.combine(day, time(13, 30), UTC) + timedelta(
                    minutes=rng.randrange(0, 390)
                )
                sentiment = sign * rng.uniform(0.25, 0.9) if sign else rng.uniform(-0.2, 0.2)
                alerts.append(
                    NewAlert(
                        ticker=ticker,
                        posted_at=at,
                        title=TITLE_PREFIX + headline.format(name=name),
                        price=round(closes[day], 2),
                        score=round(rng.uniform(0.45, 0.97), 2),
                        sentiment=round(sentiment, 2),
                        reason="Simulated catalyst for the local demo",
                        source=SOURCE,
                    )
                )
        added, _ = await store.alerts.add_many(alerts)
    await _ensure_report(store)
    return added


async def _ensure_report(store: Store) -> None:
    from ..bot.admin_report import parse_report
    from ..ops.admin_cli import define_parameters
    from ..store import DuplicateReport

    report = parse_report(DEMO_REPORT)
    try:
        await store.reports.create(report.report_id, report.to_payload())
    except DuplicateReport:
        return
    await define_parameters(store, report)


def _legacy_components(ticker: str) -> list[ActionRow]:
    """The old alert poster's buttons: ``chart_{TICKER}_{TF}`` and one toggle."""
    from ..market.timeframe import Timeframe

    row = [
        Button(label=tf.value, custom_id=f"chart_{ticker}_{tf.value}", style=ButtonStyle.SECONDARY)
        for tf in Timeframe
    ]
    toggle = Button(
        label="Indicators",
        custom_id=f"chart_toggle_{ticker}_{Timeframe.M1.value}",
        style=ButtonStyle.PRIMARY,
    )
    return [ActionRow(row), ActionRow([toggle])]


def alert_message(alert: Alert, png: bytes, *, legacy: bool) -> Message:
    """An alert as the poster sends it: details in fields (kept when a button redraws the
    chart), the 1M chart, and the timeframe buttons."""
    from ..bot._shared import SIMULATED_NOTE, money
    from ..bot.chart import FILENAME, chart_components
    from ..market.timeframe import Timeframe

    fields = [EmbedField("Alert", f"{alert.posted_at:%Y-%m-%d %H:%M} UTC", True)]
    if alert.price is not None:
        fields.append(EmbedField("Price at alert", money(alert.price), True))
    if alert.score is not None:
        fields.append(EmbedField("Score", f"{alert.score:.2f}", True))
    if alert.sentiment is not None:
        fields.append(EmbedField("Sentiment", f"{alert.sentiment:+.2f}", True))
    fields.append(EmbedField("Source", alert.source or "—", True))
    embed = Embed(
        title=truncate(f"{alert.ticker} — {alert.title}", EMBED_TITLE_MAX),
        description=f"{alert.reason or ''}\n{SIMULATED_NOTE}".strip(),
        color=0xF0B232,
        fields=fields,
        image_url=f"attachment://{FILENAME}",
        footer="Catalyst alert · simulated demo history",
        timestamp=alert.posted_at,
    )
    components = (
        _legacy_components(alert.ticker)
        if legacy
        else chart_components(alert.ticker, Timeframe.M1, frozenset())
    )
    return Message(
        content=f"**{alert.ticker}** catalyst alert (simulated)",
        embeds=[embed],
        files=[File(FILENAME, png, f"{alert.ticker} 1M chart (simulated data)")],
        components=components,
    )


async def _newest_per_ticker(store: Store) -> list[Alert]:
    seen: set[str] = set()
    out: list[Alert] = []
    for alert in await store.alerts.recent(limit=200):
        if alert.source == SOURCE and alert.ticker not in seen:
            seen.add(alert.ticker)
            out.append(alert)
        if len(out) == POSTED_ALERTS:
            break
    return list(reversed(out))  # oldest first: the newest ends at the bottom of the channel


async def post_demo_messages(
    rest: DiscordRest,
    store: Store,
    svc: Resources,
    *,
    alerts_channel: str,
    admin_channel: str,
) -> tuple[int, bool]:
    """Post the alert messages and the pending report; returns (alerts posted, report posted)."""
    from ..bot.admin_report import current_values, parse_report, report_message
    from ..market.timeframe import Timeframe
    from ..store import ReportStatus

    alerts = await _newest_per_ticker(store)

    async def chart(ticker: str) -> bytes:
        bars = await svc.market.bars(ticker, Timeframe.M1)
        png, _ = await svc.charts.get().chart(bars, indicators=frozenset(), quote=None)
        return png

    # Rendered side by side in the process pool; posted in order, oldest first.
    charts = await asyncio.gather(*(chart(alert.ticker) for alert in alerts))
    for n, (alert, png) in enumerate(zip(alerts, charts, strict=True)):
        legacy = n < len(alerts) - NEW_STYLE_ALERTS
        message = alert_message(alert, png, legacy=legacy)
        await rest.create_channel_message(alerts_channel, message.to_dict(), message.files)
    stored = await store.reports.get(DEMO_REPORT["report_id"])
    if stored.status is not ReportStatus.PENDING:
        return len(alerts), False
    report = parse_report(DEMO_REPORT)
    message = report_message(report, current=await current_values(store, report))
    posted = await rest.create_channel_message(admin_channel, message.to_dict())
    await store.reports.attach_message(report.report_id, admin_channel, str(posted["id"]))
    return len(alerts), True


async def start_demo(
    rest: DiscordRest, svc: Resources, *, alerts_channel: str, admin_channel: str
) -> DemoSummary:
    """Seed the database (once) and fill the fresh local Discord."""
    store = await svc.store.get()
    added = await seed_history(store, svc)
    posted, report = await post_demo_messages(
        rest, store, svc, alerts_channel=alerts_channel, admin_channel=admin_channel
    )
    log.info(
        "demo world ready",
        extra={"alerts_added": added, "alert_messages": posted, "report_posted": report},
    )
    return DemoSummary(added, posted, report)
