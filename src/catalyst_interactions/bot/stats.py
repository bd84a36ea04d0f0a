"""/stats [period]: alerts posted, unique tickers, average score and next-close outcomes.

An alert *rose* when the next close after its entry is above the entry. Entries follow
/backtest's rule (``backtest.entry_for``), so both agree on which alerts have enough price
data: an alert with a price enters at it and is judged at the close of its session (the first
daily bar closing after it); one without a price enters at that close and is judged at the
following one. Alerts older than the provider's history, of a ticker without bars, or whose
closes have not happened yet have no outcome and are counted apart.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

from ..discord.messages import Embed, EmbedField, Message
from ..framework.context import CommandContext
from ..framework.cooldowns import cooldown
from ..framework.modes import Mode
from ..framework.options import Param
from ..framework.registry import Feature
from ._shared import BRAND_COLOR, SIMULATED_NOTE, open_store
from .backtest import entry_for
from .resources import Resources

if TYPE_CHECKING:
    from ..market.bars import Bars
    from ..market.timeframe import Timeframe
    from ..store import Alert

Period = Literal["today", "7d", "30d", "all"]
_TITLES = {"today": "today (UTC)", "7d": "last 7 days", "30d": "last 30 days", "all": "all time"}
OUTCOME_SAMPLE = 300
"""The newest alerts of the period whose outcome is computed."""
OUTCOME_TICKERS = 15
"""At most this many tickers' bars are fetched (the most alerted first)."""


class BarsSource(Protocol):
    async def bars(self, ticker: str, timeframe: Timeframe) -> Bars: ...


@dataclass(frozen=True, slots=True)
class Outcomes:
    rose: int = 0
    fell: int = 0
    pending: int = 0
    unknown: int = 0
    """No price on the alert, or no bars for it."""
    simulated: bool = False

    @property
    def decided(self) -> int:
        return self.rose + self.fell


def period_start(period: Period, now: datetime) -> datetime:
    if period == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "7d":
        return now - timedelta(days=7)
    if period == "30d":
        return now - timedelta(days=30)
    return datetime(1970, 1, 1, tzinfo=UTC)


def outcomes(alerts: list[Alert], bars: dict[str, Bars]) -> Outcomes:
    rose = fell = pending = unknown = 0
    simulated = False
    for alert in alerts:
        series = bars.get(alert.ticker)
        if series is None:
            unknown += 1
            continue
        simulated = simulated or series.simulated
        closes = series.close.tolist()
        entry = entry_for(alert, series.timestamps.tolist(), closes)
        if entry == "too_old":
            unknown += 1
            continue
        # Judged at the session's close when entered at the alert's price, else at the next.
        judge = None if entry == "not_closed" else entry.index + (0 if entry.priced else 1)
        if judge is None or judge >= len(closes):
            pending += 1
        elif closes[judge] > entry.price:  # type: ignore[union-attr]
            rose += 1
        else:
            fell += 1
    return Outcomes(rose, fell, pending, unknown, simulated)


async def _bars_by_ticker(market: BarsSource, tickers: list[str]) -> dict[str, Bars]:
    from ..market.errors import MarketDataError
    from ..market.timeframe import Timeframe

    async def one(ticker: str) -> Bars | None:
        try:
            return await market.bars(ticker, Timeframe.Y1)
        except MarketDataError:  # no outcome for this ticker; the rest still count
            return None

    found = await asyncio.gather(*(one(t) for t in tickers))
    return {t: b for t, b in zip(tickers, found, strict=True) if b is not None}


def _outcome_text(result: Outcomes) -> str:
    if result.decided == 0:
        text = "Not enough price data for any alert of this period yet."
    else:
        text = (
            f"Rose by the next close: **{result.rose} of {result.decided}** "
            f"({result.rose / result.decided:.0%})"
        )
    extra = []
    if result.pending:
        extra.append(f"{result.pending} waiting for the close")
    if result.unknown:
        extra.append(f"{result.unknown} without price data")
    return text + ("\n" + ", ".join(extra) if extra else "")


commands = Feature[Resources]()


# AUTO: usually quick (cached bars); a cold cache over many tickers becomes a deferred edit.
@commands.command("stats", "Alert statistics and outcomes for a period", mode=Mode.AUTO)
@cooldown(0)  # none unless the operator sets one (CATALYST_COOLDOWNS=stats=10)
async def stats(
    ctx: CommandContext[Resources],
    period: Annotated[Period, Param("Time window (default 7d)")] = "7d",
) -> Message:
    store = await open_store(ctx)
    since = period_start(period, datetime.now(UTC))
    summary = await store.alerts.stats(since)
    title = f"Catalyst stats — {_TITLES[period]}"
    if summary.count == 0:
        return Message(
            embeds=[
                Embed(
                    title=title,
                    color=BRAND_COLOR,
                    description="No alerts were posted in this period.",
                )
            ]
        )
    sample = [a for a in await store.alerts.recent(limit=OUTCOME_SAMPLE) if a.posted_at >= since]
    counts = Counter(a.ticker for a in sample)
    tickers = [t for t, _ in counts.most_common(OUTCOME_TICKERS)]
    bars = await _bars_by_ticker(ctx.resources.market, tickers)
    evaluated = [a for a in sample if a.ticker in set(tickers)]
    result = outcomes(evaluated, bars)
    average = "n/a" if summary.average_score is None else f"{summary.average_score:.2f}"
    fields = [
        EmbedField("Alerts posted", str(summary.count), True),
        EmbedField("Unique tickers", str(summary.unique_tickers), True),
        EmbedField("Average score", average, True),
        EmbedField("Outcomes", _outcome_text(result)),
        EmbedField("Most alerted", ", ".join(f"{t} ({n})" for t, n in counts.most_common(5))),
    ]
    # Say exactly what was measured: the newest alerts of the period, for its most alerted
    # tickers only (price data is fetched per ticker).
    footer = f"Outcomes and most alerted: the newest {len(sample)} alerts of the period" + (
        f"; outcomes for the {len(evaluated)} of them on the {len(tickers)} most alerted tickers."
        if len(evaluated) < len(sample)
        else "."
    )
    if result.simulated:
        footer += f"\n{SIMULATED_NOTE}"
    return Message(embeds=[Embed(title=title, color=BRAND_COLOR, fields=fields, footer=footer)])
