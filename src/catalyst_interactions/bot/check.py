"""/check ticker: the latest quote and the ticker's most recent alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..discord.limits import EMBED_FIELD_VALUE_MAX
from ..discord.messages import Embed, EmbedField, Message
from ..framework.context import CommandContext
from ..framework.cooldowns import cooldown
from ..framework.errors import UserFacingError
from ..framework.modes import Mode
from ..framework.registry import Feature
from ._shared import (
    BRAND_COLOR,
    DOWN_COLOR,
    SIMULATED_NOTE,
    UP_COLOR,
    Ticker,
    alert_line,
    lines_within,
    money,
    open_store,
)
from .resources import Resources

if TYPE_CHECKING:
    from ..market.bars import Quote

RECENT_ALERTS = 5


def quote_embed(symbol: str, quote: Quote | None, problem: str | None) -> Embed:
    if quote is None:
        return Embed(
            title=symbol,
            color=BRAND_COLOR,
            description=f"No quote: {problem or 'market data unavailable.'}",
        )
    arrow = "▲" if quote.change >= 0 else "▼"
    fields = [
        EmbedField("Change", f"{arrow} {quote.change:+.2f} ({quote.change_pct:+.2f}%)", True),
        EmbedField("Volume", f"{quote.volume:,.0f}", True),
    ]
    footer = f"{quote.source} · as of {quote.as_of:%Y-%m-%d %H:%M} UTC"
    if quote.simulated:
        footer = f"{SIMULATED_NOTE}\n{footer}"
    return Embed(
        title=f"{symbol} {money(quote.last)}",
        fields=fields,
        footer=footer,
        color=UP_COLOR if quote.change >= 0 else DOWN_COLOR,
    )


commands = Feature[Resources]()


# AUTO: a cached quote answers inline; a slow provider turns it into a deferred edit.
@commands.command("check", "Quote and recent alerts for a ticker", mode=Mode.AUTO)
@cooldown(0)  # none unless the operator sets one (CATALYST_COOLDOWNS=check=10)
async def check(ctx: CommandContext[Resources], ticker: Ticker) -> Message:
    from ..market.errors import MarketDataError, UnknownTicker

    store = await open_store(ctx)
    alerts = await store.alerts.recent(ticker, limit=RECENT_ALERTS)
    quote: Quote | None = None
    problem: str | None = None
    try:
        quote = await ctx.resources.market.quote(ticker)
    except UnknownTicker as exc:
        if not alerts:
            raise UserFacingError(exc.user_message) from None
        problem = exc.user_message
    except MarketDataError as exc:
        problem = exc.user_message
    embed = quote_embed(ticker, quote, problem)
    if alerts:
        text = lines_within([alert_line(a) for a in alerts], EMBED_FIELD_VALUE_MAX)
        embed = embed.with_fields(EmbedField(f"Recent alerts ({len(alerts)})", text))
    else:
        embed = embed.with_fields(EmbedField("Recent alerts", "No alerts for this ticker."))
    return Message(embeds=[embed])
