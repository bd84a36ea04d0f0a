"""Helpers shared by the Catalyst features: tickers, market errors, the store, formatting.

Market data (numpy), the store (SQLAlchemy) and charts (matplotlib) are imported inside the
functions that need them, so building the registry keeps the edge's start-up light.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from .. import tickers
from ..discord.limits import CHOICE_NAME_MAX, CHOICES_MAX
from ..discord.messages import Choice, EmbedField, Message, truncate
from ..framework.context import AutocompleteContext, Context
from ..framework.errors import CheckFailure, UserFacingError
from ..framework.options import Param
from .resources import Resources

if TYPE_CHECKING:
    from ..store import Alert, Store
    from ..store.effects import Effect

BRAND_COLOR = 0x5865F2
UP_COLOR = 0x26A69A
DOWN_COLOR = 0xEF5350
SIMULATED_NOTE = "⚠️ Simulated data: demo prices, not real market prices."
"""Every reply built from the demo provider's prices says so (plain text: footers show no
markdown)."""


def parse_ticker(text: str) -> str:
    """A user-typed symbol, normalised (``$aapl`` -> ``AAPL``); a clear error otherwise."""
    try:
        return tickers.parse(text)
    except tickers.TickerError as exc:
        raise UserFacingError(exc.user_message) from None


async def open_store(ctx: Context[Resources]) -> Store:
    return await ctx.resources.store.get()


H = TypeVar("H", bound=Callable[..., Awaitable[Any]])


@asynccontextmanager
async def once(ctx: Context[Resources], what: str) -> AsyncIterator[Effect]:
    """The unit of work of a state-changing handler, keyed by the interaction id (see
    ``store.effects``): every store call inside it commits together, exactly once."""
    store = await open_store(ctx)
    async with store.effects.once(ctx.interaction.id, what) as effect:
        yield effect


def again(effect: Effect) -> Message:
    """The first run's answer, for a second run of the same interaction."""
    if effect.previous is None:  # the first run answered with something not kept
        return Message(content="This was already done; nothing was changed again.")
    return Message.from_dict(effect.previous)


def exactly_once(func: H) -> H:
    """Run a state-changing handler once per interaction id, whatever path delivers it
    (inline, hand-over, worker retry): every change and its answer commit in one
    transaction, and a second run gets the first answer back without changing anything."""

    @functools.wraps(func)
    async def run_once(ctx: Context[Resources], *args: Any, **kwargs: Any) -> Any:
        async with once(ctx, func.__qualname__) as effect:
            if effect.repeated:
                return again(effect)
            reply = await func(ctx, *args, **kwargs)
            if isinstance(reply, Message) and not reply.files:
                effect.outcome = reply.to_dict()
            return reply

    return run_once  # type: ignore[return-value]


async def suggest_tickers(ctx: AutocompleteContext[Resources], typed: str) -> list[Choice]:
    """Suggestions the configured provider can serve: ``AAPL — Apple Inc.``."""
    from ..market.symbols import search_tickers

    return [
        Choice(name=truncate(f"{symbol} — {name}", CHOICE_NAME_MAX), value=symbol)
        for symbol, name in search_tickers(typed, CHOICES_MAX, known=provider_symbols(ctx))
    ]


Ticker = Annotated[
    str,
    Param(
        "Ticker symbol, e.g. AAPL",
        max_length=16,
        convert=parse_ticker,
        autocomplete=suggest_tickers,
    ),
]
"""The ticker option of every command: the handler receives the normalised symbol (a bad
one is refused before any check or job), and typing suggests what the provider serves.
A command may refine it: ``Annotated[Ticker, Param(min_length=1)]``."""


def provider_symbols(ctx: Context[Resources]) -> dict[str, str] | None:
    """The market provider's complete symbol list when it has one (the demo), else None."""
    known = getattr(ctx.resources.market, "known_symbols", None)
    return known() if callable(known) else None


async def ticker_options_check(ctx: Context[Resources]) -> None:
    """Refuse at once, privately, what is wrong before any work is queued and needs more than
    the one option (a malformed symbol the :data:`Ticker` type refused already): a symbol
    the provider does not serve (when it has a fixed list, as the demo has), or the same
    ticker twice (``/compare``)."""
    from ..market.symbols import unknown_to_demo

    command = getattr(ctx, "command", None)
    options = {} if command is None else {o.name: o.value for o in command.options}
    known = provider_symbols(ctx)
    symbols = []
    for name in ("ticker", "ticker1", "ticker2"):
        value = options.get(name)
        if not isinstance(value, str):
            continue
        try:
            symbol = tickers.parse(value)
        except tickers.TickerError as exc:
            raise CheckFailure(exc.user_message) from None
        if known is not None and symbol not in known:
            raise CheckFailure(unknown_to_demo(symbol))
        symbols.append(symbol)
    if len(symbols) == 2 and symbols[0] == symbols[1]:
        raise CheckFailure("Pick two different tickers to compare.")


def money(value: float) -> str:
    return f"${value:,.2f}"


def signed_pct(value: float) -> str:
    return f"{value:+.2f}%"


def alert_line(alert: Alert, *, with_ticker: bool = False) -> str:
    """One alert as a short line: date, headline, price and score when known."""
    when = alert.posted_at.strftime("%Y-%m-%d %H:%M")
    bits = [f"`{when}`"]
    if with_ticker:
        bits.append(f"**{alert.ticker}**")
    title = truncate(alert.title, 120)
    bits.append(f"[{title}]({alert.url})" if alert.url and len(alert.url) <= 300 else title)
    extra = []
    if alert.price is not None:
        extra.append(money(alert.price))
    if alert.score is not None:
        extra.append(f"score {alert.score:.2f}")
    if alert.sentiment is not None:
        extra.append(f"sentiment {alert.sentiment:+.2f}")
    if extra:
        bits.append("(" + ", ".join(extra) + ")")
    return " ".join(bits)


def lines_within(lines: list[str], limit: int, *, more: str = "…and {n} more") -> str:
    """Join ``lines`` with newlines, dropping the tail (and saying so) to fit ``limit``."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        tail = more.format(n=len(lines) - i)
        if used + len(line) + 1 + len(tail) > limit:
            out.append(tail)
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def fit_fields(fields: list[EmbedField], budget: int) -> list[EmbedField]:
    """The leading ``fields`` whose text fits in ``budget`` characters (Discord counts names
    and values toward an embed's 6000)."""
    kept: list[EmbedField] = []
    for item in fields:
        budget -= item.text_length()
        if budget < 0:
            break
        kept.append(item)
    return kept
