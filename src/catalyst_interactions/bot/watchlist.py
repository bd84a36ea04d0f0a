"""/watchlist add|remove|list|clear: a per-user list of tickers, answered ephemerally."""

from __future__ import annotations

import asyncio
from typing import Annotated

from .. import tickers
from ..discord.limits import CHOICES_MAX, EMBED_DESCRIPTION_MAX
from ..discord.messages import Choice, Embed, Message, truncate
from ..framework.context import AutocompleteContext, CommandContext
from ..framework.errors import UserFacingError
from ..framework.options import Param
from ..framework.registry import Feature
from ._shared import (
    BRAND_COLOR,
    Ticker,
    again,
    exactly_once,
    once,
    open_store,
)
from .resources import Resources

# The provider is asked whether a new symbol exists, but a slow provider must not make
# /watchlist miss Discord's 3-second deadline: after this, the symbol's format suffices.
KNOWN_CHECK_S = 1.0


async def suggest_watched(ctx: AutocompleteContext[Resources], typed: str) -> list[Choice]:
    """The member's own tickers that start with what they typed."""
    store = await open_store(ctx)
    prefix = tickers.prefix(typed)
    mine = [e.ticker for e in await store.watchlists.list(ctx.user.id)]
    return [Choice(name=t, value=t) for t in mine if t.startswith(prefix)][:CHOICES_MAX]


WatchedTicker = Annotated[Ticker, Param(autocomplete=suggest_watched)]
"""A ticker on the member's watchlist: parsed like every ticker, suggested from their list."""


async def _refuse_unknown(ctx: CommandContext[Resources], symbol: str) -> None:
    """Refuse a symbol the provider says does not exist; any other outcome lets it pass."""
    from ..market.errors import MarketDataError, UnknownTicker

    try:
        async with asyncio.timeout(KNOWN_CHECK_S):
            await ctx.resources.market.quote(symbol)
    except UnknownTicker as exc:
        raise UserFacingError(exc.user_message) from None
    except (MarketDataError, TimeoutError):
        return


commands = Feature[Resources]()
watchlist = commands.group("watchlist", "Your personal watchlist of tickers")


@watchlist.command("add", "Add a ticker to your watchlist", ephemeral=True)
async def add(ctx: CommandContext[Resources], ticker: Ticker) -> Message:
    from ..store import AlreadyWatching, WatchlistFull

    symbol = ticker  # already normalised by the Ticker type
    # Asked before the unit of work starts: a slow provider must not hold the database.
    await _refuse_unknown(ctx, symbol)
    limit = ctx.resources.settings.watchlist_max
    async with once(ctx, "watchlist add") as effect:
        if effect.repeated:
            return again(effect)
        store = await open_store(ctx)
        try:
            await store.watchlists.add(ctx.user.id, symbol, limit)
        except AlreadyWatching:
            raise UserFacingError(f"**{symbol}** is already on your watchlist.") from None
        except WatchlistFull as exc:
            raise UserFacingError(
                f"Your watchlist is full ({exc.max_size} tickers). "
                "Remove one with `/watchlist remove` first."
            ) from None
        count = len(await store.watchlists.list(ctx.user.id))
        reply = Message(
            content=f"Added **{symbol}** to your watchlist ({count}/{limit}).", ephemeral=True
        )
        effect.outcome = reply.to_dict()
        return reply


@watchlist.command("remove", "Remove a ticker from your watchlist", ephemeral=True)
@exactly_once
async def remove(ctx: CommandContext[Resources], ticker: WatchedTicker) -> Message:
    from ..store import NotWatching

    symbol = ticker  # already normalised by the Ticker type
    store = await open_store(ctx)
    try:
        await store.watchlists.remove(ctx.user.id, symbol)
    except NotWatching:
        raise UserFacingError(f"**{symbol}** is not on your watchlist.") from None
    return Message(content=f"Removed **{symbol}** from your watchlist.", ephemeral=True)


@watchlist.command("list", "Show your watchlist", ephemeral=True)
async def list_(ctx: CommandContext[Resources]) -> Message:
    store = await open_store(ctx)
    entries = await store.watchlists.list(ctx.user.id)
    limit = ctx.resources.settings.watchlist_max
    if not entries:
        return Message(
            content="Your watchlist is empty. Add a ticker with `/watchlist add`.",
            ephemeral=True,
        )
    body = ", ".join(f"**{e.ticker}**" for e in entries)
    return Message(
        embeds=[
            Embed(
                title="Your watchlist",
                color=BRAND_COLOR,
                description=truncate(body, EMBED_DESCRIPTION_MAX),
                footer=f"{len(entries)}/{limit} tickers",
            )
        ],
        ephemeral=True,
    )


@watchlist.command("clear", "Remove every ticker from your watchlist", ephemeral=True)
@exactly_once
async def clear(ctx: CommandContext[Resources]) -> Message:
    store = await open_store(ctx)
    removed = await store.watchlists.clear(ctx.user.id)
    if removed == 0:
        return Message(content="Your watchlist was already empty.", ephemeral=True)
    noun = "ticker" if removed == 1 else "tickers"
    return Message(content=f"Cleared your watchlist ({removed} {noun} removed).", ephemeral=True)
