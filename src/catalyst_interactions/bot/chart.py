"""/chart and /compare, their timeframe buttons and indicator menu, and the old bot's buttons.

Every chart message is rebuilt from its custom_ids alone, so a click needs no server-side
state: the timeframe buttons carry ``chart:v1:{ticker}:{tf}:{ind}`` where ``ind`` is the
chosen indicators as hex bit flags (:data:`INDICATORS` order), and the menu carries
``chart:v1:ind:{ticker}:{tf}`` and submits the full new selection. Legacy alert buttons
``chart_{TICKER}_{TF}`` and ``chart_toggle_{TICKER}_{TF}`` run the same code.

A click edits the clicked message in place (deferred update) and keeps what is not ours:
the message's content and the chart embed's fields (an alert's details).

This module is imported by the edge: it must not import matplotlib (rendering happens in
:mod:`.charting`'s process pool).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from .. import tickers
from ..charts.catalog import BY_NAME, INDICATORS
from ..charts.warmup import history_needed, short_of_history
from ..discord.custom_id import CustomIdTemplate
from ..discord.enums import ButtonStyle, ComponentType
from ..discord.limits import (
    CHOICE_NAME_MAX,
    CHOICES_MAX,
    CONTENT_MAX,
    EMBED_FIELD_NAME_MAX,
    EMBED_FIELD_VALUE_MAX,
    EMBED_FIELDS_MAX,
    EMBED_TOTAL_MAX,
)
from ..discord.messages import (
    ActionRow,
    Button,
    Choice,
    Embed,
    EmbedField,
    File,
    Message,
    SelectOption,
    StringSelect,
    truncate,
)
from ..discord.payloads import Message as ClickedMessage
from ..framework.context import AutocompleteContext, CommandContext, ComponentContext
from ..framework.cooldowns import cooldown
from ..framework.errors import UserFacingError
from ..framework.modes import Mode
from ..framework.options import Param
from ..framework.registry import Feature
from ..market.errors import MarketDataError
from ..market.tickers import normalize_ticker
from ..market.timeframe import Timeframe
from ._shared import DOWN_COLOR, SIMULATED_NOTE, UP_COLOR, Ticker, ticker_options_check
from .charting import ChartRenderError
from .resources import Resources

if TYPE_CHECKING:
    from ..market.bars import Bars, FloatArray, Quote

log = logging.getLogger("catalyst_interactions.bot.chart")

FILENAME = "chart.png"


# -- indicators ------------------------------------------------------------------------------
# The list and its custom_id bit order live in charts/catalog.py.
_BIT = {ind.name: 1 << i for i, ind in enumerate(INDICATORS)}
_ALIASES = {"bb": "bollinger", "bands": "bollinger", "boll": "bollinger"}

PRESETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "day": ("vwap", "ema9", "ema21"),
    "trend": ("sma20", "sma50"),
    "momentum": ("rsi", "macd"),
    "volatility": ("bollinger", "rsi"),
    "all": tuple(ind.name for ind in INDICATORS),
}
_PRESET_HELP = {
    "none": "plain candles and volume",
    "day": "VWAP, EMA 9, EMA 21",
    "trend": "SMA 20, SMA 50",
    "momentum": "RSI, MACD",
    "volatility": "Bollinger bands, RSI",
    "all": "every indicator",
}


def default_indicators(timeframe: Timeframe) -> frozenset[str]:
    """VWAP on intraday charts, the 20/50 moving averages on daily ones."""
    return frozenset({"vwap"} if timeframe.spec.intraday else {"sma20", "sma50"})


def encode_indicators(indicators: Iterable[str]) -> str:
    """Hex bit flags: ``{"vwap", "rsi"}`` -> ``"41"``; the empty set -> ``"0"``."""
    return format(sum(_BIT[name] for name in set(indicators)), "x")


def decode_indicators(code: str) -> frozenset[str]:
    """Inverse of :func:`encode_indicators`; unknown bits (a newer version's) are ignored."""
    mask = int(code, 16)
    return frozenset(name for name, bit in _BIT.items() if mask & bit)


def parse_indicators(text: str | None, timeframe: Timeframe) -> frozenset[str]:
    """A preset name or a list (``vwap, rsi`` / ``sma 20 + bb``); None means the defaults."""
    if text is None or not text.strip():
        return default_indicators(timeframe)
    chosen: set[str] = set()
    unknown: list[str] = []
    for part in re.split(r"[,+;]", text.lower()):
        joined = "".join(part.split())
        tokens = [joined] if _known(joined) else part.split()
        for token in tokens:
            if token in PRESETS:
                chosen.update(PRESETS[token])
            elif _known(token):
                chosen.add(_ALIASES.get(token, token))
            else:
                unknown.append(token)
    if unknown:
        raise UserFacingError(
            f"Unknown indicator(s): {', '.join(unknown)}. Use a preset "
            f"({', '.join(PRESETS)}) or names from: {', '.join(BY_NAME)}."
        )
    return frozenset(chosen)


def _known(token: str) -> bool:
    return token in BY_NAME or token in _ALIASES or token in PRESETS


def _labels(indicators: frozenset[str]) -> str:
    names = [ind.label for ind in INDICATORS if ind.name in indicators]
    return ", ".join(names) if names else "no indicators"


# -- custom_ids ------------------------------------------------------------------------------
_TICKER = tickers.PATTERN  # a button can only carry a symbol tickers.parse accepts
_TF = "|".join(tf.value for tf in Timeframe)
TIMEFRAME_BUTTON = CustomIdTemplate(
    "chart:v1:{ticker}:{tf}:{ind}", ticker=_TICKER, tf=_TF, ind="[0-9a-f]{1,4}"
)
INDICATOR_MENU = CustomIdTemplate("chart:v1:ind:{ticker}:{tf}", ticker=_TICKER, tf=_TF)
COMPARE_BUTTON = CustomIdTemplate("compare:v1:{a}:{b}:{tf}", a=_TICKER, b=_TICKER, tf=_TF)
# What the old bot's alert messages carry (DESIGN "Old messages keep working"). An old id
# whose symbol the grammar refuses gets the dispatcher's "no longer works" answer.
LEGACY_CHART = CustomIdTemplate("chart_{ticker}_{tf}", ticker=_TICKER, tf=_TF)
LEGACY_TOGGLE = CustomIdTemplate("chart_toggle_{ticker}_{tf}", ticker=_TICKER, tf=_TF)


def _timeframe_row(build: Callable[[Timeframe], str], active: Timeframe) -> ActionRow:
    """Five buttons; the active one highlighted and disabled."""
    return ActionRow(
        [
            Button(
                label=tf.value,
                custom_id=build(tf),
                style=ButtonStyle.PRIMARY if tf is active else ButtonStyle.SECONDARY,
                disabled=tf is active,
            )
            for tf in Timeframe
        ]
    )


def chart_components(
    ticker: str, timeframe: Timeframe, indicators: frozenset[str]
) -> list[ActionRow]:
    code = encode_indicators(indicators)
    buttons = _timeframe_row(
        lambda tf: TIMEFRAME_BUTTON.build(ticker=ticker, tf=tf.value, ind=code), timeframe
    )
    menu = StringSelect(
        custom_id=INDICATOR_MENU.build(ticker=ticker, tf=timeframe.value),
        options=[
            SelectOption(
                label=ind.label,
                value=ind.name,
                description=ind.description,
                default=ind.name in indicators,
            )
            for ind in INDICATORS
        ],
        placeholder="Indicators",
        min_values=0,
        max_values=len(INDICATORS),
    )
    return [buttons, ActionRow([menu])]


def shown_indicators(message: ClickedMessage | None) -> frozenset[str]:
    """The indicators a chart message shows, read from its menu's defaults.

    A message without our menu (an old alert) shows a plain chart.
    """
    if message is None:
        return frozenset()
    for row in _dicts(message.components):
        for comp in _dicts(row.get("components")):
            if (
                comp.get("type") == ComponentType.STRING_SELECT
                and INDICATOR_MENU.match(str(comp.get("custom_id", ""))) is not None
            ):
                return frozenset(
                    o["value"]
                    for o in _dicts(comp.get("options"))
                    if o.get("default")
                    and isinstance(o.get("value"), str)
                    and o["value"] in BY_NAME
                )
    return frozenset()


def _dicts(value: object) -> list[dict[str, Any]]:
    """The objects in a JSON list from the request; anything else is ignored, not trusted."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# -- messages --------------------------------------------------------------------------------
def _money(value: float) -> str:
    return f"${value:,.2f}"


def _change(change: float, pct: float) -> str:
    arrow = "▲" if change >= 0 else "▼"
    return f"{arrow} {change:+,.2f} ({pct:+.2f}%)"


def chart_title(bars: Bars, quote: Quote | None) -> str:
    """Ticker, last price and change: the day's from the quote, else over the range shown."""
    if quote is not None:
        return f"{bars.ticker}  {_money(quote.last)}  {_change(quote.change, quote.change_pct)}"
    first, last = float(bars.open[0]), float(bars.close[-1])
    change = last - first
    pct = change / first * 100.0 if first else 0.0
    return f"{bars.ticker}  {_money(last)}  {_change(change, pct)} over {bars.timeframe.value}"


def _bar_width(timeframe: Timeframe) -> str:
    seconds = timeframe.spec.bar_seconds
    return "daily bars" if seconds >= 86_400 else f"{seconds // 60}-minute bars"


def _kept(message: ClickedMessage | None, budget: int) -> tuple[str | None, list[EmbedField]]:
    """The clicked message's content and its chart embed's fields, trimmed to fit ``budget``."""
    if message is None:
        return None, []
    # The message comes from the request body: every part is checked before it is reused.
    content = truncate(message.content.strip(), CONTENT_MAX) or None
    embeds = [e for e in message.embeds if isinstance(e, dict)]
    embed = next(
        (
            e
            for e in embeds
            if isinstance(e.get("image"), dict)
            and str(e["image"].get("url", "")).startswith("attachment://")
        ),
        embeds[0] if embeds else {},
    )
    raw_fields = embed.get("fields")
    fields: list[EmbedField] = []
    for raw in raw_fields if isinstance(raw_fields, list) else []:
        if not isinstance(raw, dict):
            continue
        name = str(raw.get("name") or "").strip()
        value = str(raw.get("value") or "").strip()
        if not name or not value or len(fields) == EMBED_FIELDS_MAX:
            continue
        field = EmbedField(
            truncate(name, EMBED_FIELD_NAME_MAX),
            truncate(value, EMBED_FIELD_VALUE_MAX),
            bool(raw.get("inline")),
        )
        if field.text_length() > budget:
            break
        budget -= field.text_length()
        fields.append(field)
    return content, fields


def chart_message(
    bars: Bars,
    quote: Quote | None,
    indicators: frozenset[str],
    png: bytes,
    *,
    keep: ClickedMessage | None = None,
    short_history: Sequence[str] = (),
) -> Message:
    """The chart message: embed + image + timeframe buttons + indicator menu.

    ``short_history`` names indicators the provider had too little history for.
    """
    simulated = bars.simulated or (quote is not None and quote.simulated)
    title = chart_title(bars, quote)
    footer = (
        f"{bars.timeframe.value} · {_bar_width(bars.timeframe)} · {_labels(indicators)}"
        f" · Source: {bars.source}"
    )
    if short_history:
        footer += (
            f"\nNo earlier price history: {_labels(frozenset(short_history))} "
            "start without full look-back."
        )
    description = SIMULATED_NOTE if simulated else None
    ours = len(title) + len(footer) + len(description or "")
    content, fields = _kept(keep, EMBED_TOTAL_MAX - ours)
    up = (quote.change if quote is not None else bars.close[-1] - bars.open[0]) >= 0
    embed = Embed(
        title=title,
        description=description,
        color=UP_COLOR if up else DOWN_COLOR,
        fields=fields,
        footer=footer,
        image_url=f"attachment://{FILENAME}",
        timestamp=bars.as_of,
    )
    alt = f"{bars.ticker} {bars.timeframe.value} chart" + (" (simulated data)" if simulated else "")
    return Message(
        content=content,
        embeds=[embed],
        files=[File(FILENAME, png, alt)],
        components=chart_components(bars.ticker, bars.timeframe, indicators),
    )


def _performance(a: Bars, b: Bars) -> tuple[float, float] | None:
    import numpy as np  # worker-side only; the edge never needs it

    """% change of each over their common bars (what the compare chart draws)."""
    _, ia, ib = np.intersect1d(a.timestamps, b.timestamps, return_indices=True)
    if len(ia) < 2:
        return None

    def pct(closes: FloatArray) -> float:
        return float((closes[-1] / closes[0] - 1.0) * 100.0)

    return pct(a.close[ia]), pct(b.close[ib])


def compare_message(a: Bars, b: Bars, timeframe: Timeframe, png: bytes) -> Message:
    perf = _performance(a, b)
    lines = (
        []
        if perf is None
        else [
            f"**{a.ticker}** {perf[0]:+.2f}% · **{b.ticker}** "
            f"{perf[1]:+.2f}% over {timeframe.value}"
        ]
    )
    simulated = a.simulated or b.simulated
    if simulated:
        lines.append(SIMULATED_NOTE)
    embed = Embed(
        title=f"{a.ticker} vs {b.ticker} · {timeframe.value}",
        description="\n".join(lines) or None,
        color=0x5865F2,
        footer=f"Normalised % performance · {_bar_width(timeframe)} · Source: {a.source}",
        image_url=f"attachment://{FILENAME}",
        timestamp=max(a.as_of, b.as_of),
    )
    row = _timeframe_row(
        lambda tf: COMPARE_BUTTON.build(a=a.ticker, b=b.ticker, tf=tf.value), timeframe
    )
    alt = f"{a.ticker} vs {b.ticker} {timeframe.value}" + (" (simulated data)" if simulated else "")
    return Message(embeds=[embed], files=[File(FILENAME, png, alt)], components=[row])


# -- the work --------------------------------------------------------------------------------
def _user_error(exc: Exception) -> UserFacingError:
    if isinstance(exc, MarketDataError):
        return UserFacingError(exc.user_message)
    # Anything else comes from the renderer's internals: logged, not shown.
    log.warning("chart could not be drawn", exc_info=exc)
    return UserFacingError("That chart cannot be drawn right now. Try another timeframe.")


Progress = Callable[[str], Awaitable[None]]


async def _quiet(text: str) -> None:
    return None


async def build_chart(
    resources: Resources,
    ticker: str,
    timeframe: Timeframe,
    indicators: frozenset[str],
    *,
    keep: ClickedMessage | None = None,
    progress: Progress | None = None,
) -> Message:
    """Fetch bars and quote, render (cached), and build the message; errors are user-facing.

    ``progress`` (a context's ``progress``) is told each step.
    """
    report = progress or _quiet
    try:
        symbol = normalize_ticker(ticker)
        await report(f"Fetching {timeframe.value} of {symbol}…")
        # Enough earlier bars for the longest selected indicator to be running (and, for
        # EMA-based ones, settled) at the chart's first bar.
        history = history_needed(indicators)
        fetched: tuple[Bars | BaseException, Quote | BaseException] = await asyncio.gather(
            resources.market.bars(symbol, timeframe, history=history),
            resources.market.quote(symbol),
            return_exceptions=True,
        )
        bars, quote = fetched
        if isinstance(bars, BaseException):
            raise bars
        if isinstance(quote, BaseException) and not isinstance(quote, MarketDataError):
            raise quote
        # A missing quote (e.g. none yet today) does not cost the chart its title.
        from ..market.bars import Quote  # numpy: only in the worker that builds charts

        live = quote if isinstance(quote, Quote) else None
        await report(f"Drawing the {timeframe.value} chart of {symbol}…")
        png, _hit = await resources.charts.get().chart(bars, indicators=indicators, quote=live)
    except (MarketDataError, ChartRenderError) as exc:
        raise _user_error(exc) from None
    short = short_of_history([i.name for i in INDICATORS if i.name in indicators], bars.history)
    return chart_message(bars.window(), live, indicators, png, keep=keep, short_history=short)


async def build_compare(
    resources: Resources,
    first: str,
    second: str,
    timeframe: Timeframe,
    *,
    progress: Progress | None = None,
) -> Message:
    report = progress or _quiet
    try:
        a, b = normalize_ticker(first), normalize_ticker(second)
        if a == b:
            raise UserFacingError("Pick two different tickers to compare.")
        await report(f"Fetching {timeframe.value} of {a} and {b}…")
        bars_a, bars_b = await asyncio.gather(
            resources.market.bars(a, timeframe), resources.market.bars(b, timeframe)
        )
        await report(f"Drawing {a} against {b}…")
        png, _hit = await resources.charts.get().compare(bars_a, bars_b, timeframe)
    except (MarketDataError, ChartRenderError) as exc:
        raise _user_error(exc) from None
    return compare_message(bars_a, bars_b, timeframe, png)


# -- autocomplete ----------------------------------------------------------------------------
def indicator_choices(typed: str) -> list[Choice]:
    """Presets for a first word; for a list, completions of its last item."""
    head, _, last = typed.lower().rpartition(",")
    last = last.strip()
    out: list[Choice] = []
    if not head:
        out += [
            Choice(name=f"{p}: {_PRESET_HELP[p]}", value=p) for p in PRESETS if p.startswith(last)
        ]
    taken = [t.strip() for t in head.split(",") if t.strip()]
    prefix = ",".join(taken)
    for ind in INDICATORS:
        if ind.name.startswith(last) and ind.name not in taken:
            value = f"{prefix},{ind.name}" if prefix else ind.name
            labels = ", ".join(BY_NAME[t].label if t in BY_NAME else t for t in [*taken, ind.name])
            out.append(Choice(name=truncate(labels, CHOICE_NAME_MAX), value=value))
    return out[:CHOICES_MAX]


async def suggest_indicators(ctx: AutocompleteContext[Resources], typed: str) -> Sequence[Choice]:
    return indicator_choices(typed)


# -- declaration -----------------------------------------------------------------------------
def indicator_option(text: str) -> frozenset[str] | None:
    """The typed preset or list; blank is None, the timeframe's defaults (see the handler)."""
    return parse_indicators(text, Timeframe.D1) if text.strip() else None


TickerOption = Annotated[Ticker, Param(min_length=1)]
Indicators = Annotated[
    frozenset[str] | None,
    Param(
        "A preset (day, trend, momentum, volatility, all, none) or a list: vwap,rsi",
        sent_as=str,
        convert=indicator_option,
        autocomplete=suggest_indicators,
        max_length=100,
    ),
]
"""Parsed while routing, so an unknown indicator is refused before a render is queued."""

commands = Feature[Resources]()
# Each click renders: a chart's buttons and menu (and the old bot's buttons) share one
# cooldown, /compare's buttons another; each is named for CATALYST_COOLDOWNS.
chart_clicks = cooldown(1, name="chart-buttons")
compare_clicks = cooldown(1, name="compare-buttons")


@commands.command(
    "chart",
    "Price chart with timeframe buttons and an indicator menu",
    mode=Mode.DEFERRED,
    checks=(ticker_options_check,),
)
@cooldown(3)
async def chart(
    ctx: CommandContext[Resources],
    ticker: TickerOption,
    timeframe: Annotated[Timeframe, Param("Range of the chart (default 1D)")] = Timeframe.D1,
    indicators: Indicators = None,
) -> Message:
    chosen = default_indicators(timeframe) if indicators is None else indicators
    return await build_chart(ctx.resources, ticker, timeframe, chosen, progress=ctx.progress)


@commands.command(
    "compare",
    "Two tickers' % performance on one chart",
    mode=Mode.DEFERRED,
    checks=(ticker_options_check,),
)
@cooldown(5)
async def compare(
    ctx: CommandContext[Resources],
    ticker1: TickerOption,
    ticker2: TickerOption,
    timeframe: Annotated[Timeframe, Param("Range of the chart (default 1M)")] = Timeframe.M1,
) -> Message:
    return await build_compare(ctx.resources, ticker1, ticker2, timeframe, progress=ctx.progress)


@commands.component(TIMEFRAME_BUTTON, mode=Mode.DEFERRED)
@chart_clicks
async def timeframe_button(
    ctx: ComponentContext[Resources], ticker: str, tf: str, ind: str
) -> Message:
    return await build_chart(
        ctx.resources, ticker, Timeframe(tf), decode_indicators(ind), keep=ctx.message
    )


@commands.component(INDICATOR_MENU, mode=Mode.DEFERRED)
@chart_clicks
async def indicator_menu(ctx: ComponentContext[Resources], ticker: str, tf: str) -> Message:
    chosen = frozenset(v for v in ctx.values if v in BY_NAME)
    return await build_chart(ctx.resources, ticker, Timeframe(tf), chosen, keep=ctx.message)


@commands.component(COMPARE_BUTTON, mode=Mode.DEFERRED)
@compare_clicks
async def compare_button(ctx: ComponentContext[Resources], a: str, b: str, tf: str) -> Message:
    return await build_compare(ctx.resources, a, b, Timeframe(tf))


@commands.component(LEGACY_CHART, mode=Mode.DEFERRED)
@chart_clicks
async def legacy_chart(ctx: ComponentContext[Resources], ticker: str, tf: str) -> Message:
    # Like a new timeframe button with the indicators the message shows now.
    return await build_chart(
        ctx.resources, ticker, Timeframe(tf), shown_indicators(ctx.message), keep=ctx.message
    )


@commands.component(LEGACY_TOGGLE, mode=Mode.DEFERRED)
@chart_clicks
async def legacy_toggle(ctx: ComponentContext[Resources], ticker: str, tf: str) -> Message:
    # The old bot switched between a plain and an indicator view: plain becomes the
    # timeframe's default indicators, any indicators become plain.
    timeframe = Timeframe(tf)
    chosen = frozenset() if shown_indicators(ctx.message) else default_indicators(timeframe)
    return await build_chart(ctx.resources, ticker, timeframe, chosen, keep=ctx.message)
