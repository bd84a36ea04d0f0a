"""/backtest ticker [days]: replay the stored alerts of a ticker against daily bars.

Rules (also in docs/commands.md): each alert enters at its recorded price (or, without one,
at the close of the session it was posted in) and exits at the close ``days`` sessions
after that session, or at the last available bar when fewer have passed (an *open* trade).
An alert's session is the first daily bar closing after the alert. Alerts older than the
provider's history, or posted after the last closed bar, cannot be replayed and are counted
as skipped.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

from ..discord.limits import EMBED_FIELD_VALUE_MAX
from ..discord.messages import Embed, EmbedField, Message
from ..framework.context import CommandContext
from ..framework.cooldowns import cooldown
from ..framework.errors import UserFacingError
from ..framework.modes import Mode
from ..framework.options import Param
from ..framework.registry import Feature
from ._shared import (
    BRAND_COLOR,
    SIMULATED_NOTE,
    Ticker,
    lines_within,
    money,
    open_store,
    signed_pct,
    ticker_options_check,
)
from .resources import Resources

if TYPE_CHECKING:
    from ..market.bars import Bars
    from ..store import Alert

MAX_ALERTS = 500
SHOWN_TRADES = 10
_DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Entry:
    """Where an alert enters: its session's bar and the entry price."""

    index: int
    """The alert's session: the first daily bar closing after it."""
    price: float
    """The alert's recorded price, else the close of its session."""
    priced: bool
    """True when ``price`` is the alert's own."""


def entry_for(
    alert: Alert, timestamps: Sequence[int], closes: Sequence[float]
) -> Entry | Literal["too_old", "not_closed"]:
    """The one rule /backtest and /stats share for which alerts have enough price data: an
    alert older than the bars' history or whose session has not closed has none; any other
    has an entry, at its price or (without one) at its session's close."""
    if before_history(timestamps, alert.posted_at):
        return "too_old"
    i = session_index(timestamps, alert.posted_at)
    if i is None:
        return "not_closed"
    if alert.price is not None and alert.price > 0:
        return Entry(i, alert.price, True)
    return Entry(i, float(closes[i]), False)


@dataclass(frozen=True, slots=True)
class Trade:
    posted_at: datetime
    entry: float
    exit: float
    exit_at: datetime
    sessions_held: int
    complete: bool
    """False when fewer than ``days`` sessions have passed: exited at the last bar."""
    priced: bool = True
    """False when the alert had no price and entered at its session's close."""

    @property
    def ret(self) -> float:
        return self.exit / self.entry - 1.0


@dataclass(frozen=True, slots=True)
class Replay:
    trades: list[Trade]
    too_old: int
    not_closed: int

    @property
    def hit_rate(self) -> float | None:
        if not self.trades:
            return None
        return sum(1 for t in self.trades if t.ret > 0) / len(self.trades)

    @property
    def average(self) -> float | None:
        return sum(t.ret for t in self.trades) / len(self.trades) if self.trades else None


def session_index(timestamps: Sequence[int], posted_at: datetime) -> int | None:
    """Index of the first daily bar closing after ``posted_at``; None when there is none.

    ``timestamps`` are daily bars' session closes (epoch seconds, ascending).
    """
    i = bisect.bisect_right(timestamps, int(posted_at.timestamp()))
    return i if i < len(timestamps) else None


def before_history(timestamps: Sequence[int], posted_at: datetime) -> bool:
    """True when the alert predates the first bar's session (its outcome is unknown)."""
    return not timestamps or posted_at.timestamp() <= timestamps[0] - _DAY_S


def replay(
    alerts: Sequence[Alert], timestamps: Sequence[int], closes: Sequence[float], days: int
) -> Replay:
    """Replay ``alerts`` against daily bars (see the module docstring)."""
    trades: list[Trade] = []
    too_old = not_closed = 0
    last = len(timestamps) - 1
    for alert in sorted(alerts, key=lambda a: a.posted_at):
        entry = entry_for(alert, timestamps, closes)
        if entry == "too_old":
            too_old += 1
            continue
        if entry == "not_closed":
            not_closed += 1
            continue
        i = entry.index
        j = min(i + days, last)
        trades.append(
            Trade(
                posted_at=alert.posted_at,
                entry=entry.price,
                exit=closes[j],
                exit_at=datetime.fromtimestamp(timestamps[j], UTC),
                sessions_held=j - i,
                complete=i + days <= last,
                priced=entry.priced,
            )
        )
    return Replay(trades, too_old, not_closed)


def _trade_line(trade: Trade) -> str:
    state = f"{trade.sessions_held}d" if trade.complete else f"{trade.sessions_held}d, open"
    return (
        f"`{trade.posted_at:%Y-%m-%d}` {money(trade.entry)} → {money(trade.exit)} "
        f"**{signed_pct(trade.ret * 100)}** ({state})"
    )


def _entry_rule(trades: Sequence[Trade]) -> str:
    """How the trades entered, saying so when alerts had no price of their own."""
    unpriced = sum(1 for t in trades if not t.priced)
    if unpriced == 0:
        return "Entry at each alert's price"
    if unpriced == len(trades):
        return "The alerts carry no price: entry at the close of each alert's session"
    alert_s = "alert" if unpriced == 1 else "alerts"
    return (
        f"Entry at each alert's price (at the close of its session for the {unpriced} "
        f"{alert_s} without one)"
    )


def result_message(symbol: str, days: int, result: Replay, bars: Bars) -> Message:
    fields: list[EmbedField] = []
    trades = result.trades
    if trades:
        wins = sum(1 for t in trades if t.ret > 0)
        still_open = sum(1 for t in trades if not t.complete)
        best = max(trades, key=lambda t: t.ret)
        worst = min(trades, key=lambda t: t.ret)
        open_note = f" ({still_open} still open)" if still_open else ""
        fields += [
            EmbedField("Trades", f"{len(trades)}{open_note}", True),
            EmbedField("Hit rate", f"{wins / len(trades):.0%} ({wins}/{len(trades)})", True),
            EmbedField("Average return", signed_pct((result.average or 0.0) * 100), True),
            EmbedField("Best", f"{signed_pct(best.ret * 100)} ({best.posted_at:%Y-%m-%d})", True),
            EmbedField(
                "Worst", f"{signed_pct(worst.ret * 100)} ({worst.posted_at:%Y-%m-%d})", True
            ),
        ]
        newest = sorted(trades, key=lambda t: t.posted_at, reverse=True)[:SHOWN_TRADES]
        fields.append(
            EmbedField(
                "Latest trades",
                lines_within([_trade_line(t) for t in newest], EMBED_FIELD_VALUE_MAX),
            )
        )
    skipped = []
    if result.too_old:
        skipped.append(f"{result.too_old} older than the price history")
    if result.not_closed:
        skipped.append(f"{result.not_closed} posted after the last closed session")
    if skipped:
        fields.append(EmbedField("Skipped", "; ".join(skipped)))
    description = f"{_entry_rule(trades)}, exit at the close {days} session" + (
        f"{'s' if days != 1 else ''} later (or at the last bar)."
    )
    if not trades:
        description += "\nNo alert could be replayed against the available price history."
    footer = bars.source + (f"\n{SIMULATED_NOTE}" if bars.simulated else "")
    return Message(
        embeds=[
            Embed(
                title=f"Backtest: {symbol}, hold {days}d",
                color=BRAND_COLOR,
                description=description,
                fields=fields,
                footer=footer,
            )
        ]
    )


async def daily_bars(ctx: CommandContext[Resources], symbol: str) -> Bars:
    """About a year of daily bars, provider errors shown to the user."""
    from ..market.errors import MarketDataError
    from ..market.timeframe import Timeframe

    try:
        bars: Bars = await ctx.resources.market.bars(symbol, Timeframe.Y1)
    except MarketDataError as exc:
        raise UserFacingError(exc.user_message) from None
    return bars


commands = Feature[Resources]()


@commands.command(
    "backtest",
    "Replay stored alerts for a ticker against real prices",
    mode=Mode.DEFERRED,
    checks=(ticker_options_check,),
)
@cooldown(15)
async def backtest(
    ctx: CommandContext[Resources],
    ticker: Ticker,
    days: Annotated[
        int, Param("Sessions to hold each trade (default 5)", min_value=1, max_value=60)
    ] = 5,
) -> Message:
    symbol = ticker  # already normalised by the Ticker type
    await ctx.progress(f"Loading the stored alerts for {symbol}…")
    store = await open_store(ctx)
    since = datetime.now(UTC) - timedelta(days=3650)
    alerts = (await store.alerts.for_ticker(symbol, since))[:MAX_ALERTS]
    if not alerts:
        raise UserFacingError(f"There are no stored alerts for **{symbol}** to backtest.")
    await ctx.progress(f"Fetching 1Y of daily prices for {symbol}…")
    bars = await daily_bars(ctx, symbol)
    await ctx.progress(f"Replaying {len(alerts)} alert(s), {days}-session holds…")
    result = replay(alerts, bars.timestamps.tolist(), bars.close.tolist(), days)
    return result_message(symbol, days, result, bars)
