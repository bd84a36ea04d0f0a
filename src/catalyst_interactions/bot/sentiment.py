"""/sentiment ticker: aggregate sentiment of the ticker's stored alerts, with a gauge image.

Each alert counts with its stored sentiment score (-1 bearish ... +1 bullish). An alert
stored without one is scored from its headline with a small keyword lexicon; a headline with
no keyword does not count. The aggregate is the plain mean over the newest alerts.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..discord.limits import EMBED_FIELD_VALUE_MAX
from ..discord.messages import Embed, EmbedField, File, Message
from ..framework.context import CommandContext
from ..framework.cooldowns import cooldown
from ..framework.errors import UserFacingError
from ..framework.modes import Mode
from ..framework.registry import Feature
from ._shared import (
    BRAND_COLOR,
    DOWN_COLOR,
    UP_COLOR,
    Ticker,
    alert_line,
    lines_within,
    open_store,
)
from .resources import Resources

if TYPE_CHECKING:
    from ..store import Alert

NEWEST = 50
BULLISH_ABOVE = 0.2
BEARISH_BELOW = -0.2
_BULLISH_WORDS = frozenset(
    {
        "beat",
        "beats",
        "buyback",
        "record",
        "approval",
        "approved",
        "upgrade",
        "upgraded",
        "wins",
        "win",
        "partnership",
        "contract",
        "surge",
        "surges",
        "soars",
        "raises",
        "raised",
        "growth",
        "profit",
        "breakthrough",
        "expands",
        "acquire",
        "acquires",
        "dividend",
    }
)
_BEARISH_WORDS = frozenset(
    {
        "miss",
        "misses",
        "halt",
        "halts",
        "halted",
        "downgrade",
        "downgraded",
        "lawsuit",
        "probe",
        "investigation",
        "recall",
        "plunge",
        "plunges",
        "falls",
        "loss",
        "losses",
        "cut",
        "cuts",
        "bankruptcy",
        "delay",
        "delays",
        "fraud",
        "offering",
        "dilution",
        "layoffs",
        "warning",
        "resigns",
        "arson",
        "fire",
        "default",
    }
)
_WORD = re.compile(r"[a-z]+")


def headline_score(title: str) -> float | None:
    """(bullish - bearish) / hits over the lexicon, or None when no keyword occurs."""
    words = _WORD.findall(title.lower())
    up = sum(1 for w in words if w in _BULLISH_WORDS)
    down = sum(1 for w in words if w in _BEARISH_WORDS)
    return None if up + down == 0 else (up - down) / (up + down)


@dataclass(frozen=True, slots=True)
class Aggregate:
    score: float | None
    stored: int
    """Alerts that carried a sentiment score."""
    from_headlines: int
    bullish: int
    neutral: int
    bearish: int


def aggregate(alerts: Sequence[Alert]) -> Aggregate:
    scores: list[float] = []
    stored = from_headlines = 0
    for alert in alerts:
        if alert.sentiment is not None:
            scores.append(max(-1.0, min(1.0, alert.sentiment)))
            stored += 1
            continue
        guess = headline_score(alert.title)
        if guess is not None:
            scores.append(guess)
            from_headlines += 1
    return Aggregate(
        score=sum(scores) / len(scores) if scores else None,
        stored=stored,
        from_headlines=from_headlines,
        bullish=sum(1 for s in scores if s > BULLISH_ABOVE),
        neutral=sum(1 for s in scores if BEARISH_BELOW <= s <= BULLISH_ABOVE),
        bearish=sum(1 for s in scores if s < BEARISH_BELOW),
    )


def label(score: float) -> str:
    if score > BULLISH_ABOVE:
        return "Bullish"
    return "Bearish" if score < BEARISH_BELOW else "Neutral"


def _gauge_png(score: float) -> bytes:
    from ..charts.render import render_gauge  # matplotlib: only in the process that draws

    return render_gauge(score)


commands = Feature[Resources]()


# DEFERRED: drawing the gauge imports and runs matplotlib, never on the edge.
@commands.command(
    "sentiment", "Aggregate sentiment of a ticker's alerts, with a gauge", mode=Mode.DEFERRED
)
@cooldown(0)  # none unless the operator sets one (CATALYST_COOLDOWNS=sentiment=10)
async def sentiment(ctx: CommandContext[Resources], ticker: Ticker) -> Message:
    symbol = ticker  # already normalised by the Ticker type
    store = await open_store(ctx)
    alerts = await store.alerts.recent(symbol, limit=NEWEST)
    if not alerts:
        raise UserFacingError(f"There are no stored alerts for **{symbol}** yet.")
    result = aggregate(alerts)
    headlines = EmbedField(
        "Latest headlines", lines_within([alert_line(a) for a in alerts[:5]], EMBED_FIELD_VALUE_MAX)
    )
    if result.score is None:
        return Message(
            embeds=[
                Embed(
                    title=f"Sentiment: {symbol}",
                    color=BRAND_COLOR,
                    description=f"None of the {len(alerts)} alerts carries a sentiment "
                    "score or a recognisable headline keyword.",
                    fields=[headlines],
                )
            ]
        )
    png = await asyncio.to_thread(_gauge_png, result.score)
    verdict = label(result.score)
    color = {"Bullish": UP_COLOR, "Bearish": DOWN_COLOR}.get(verdict, BRAND_COLOR)
    basis = f"{result.stored} scored alert{'s' if result.stored != 1 else ''}"
    if result.from_headlines:
        plural = "s" if result.from_headlines != 1 else ""
        basis += f" and {result.from_headlines} headline{plural}"
    embed = Embed(
        title=f"Sentiment: {symbol}",
        color=color,
        image_url="attachment://sentiment.png",
        description=f"**{verdict}** ({result.score:+.2f} on a -1 … +1 scale), "
        f"from {basis} of the newest {len(alerts)}.",
        fields=[
            EmbedField("Bullish", str(result.bullish), True),
            EmbedField("Neutral", str(result.neutral), True),
            EmbedField("Bearish", str(result.bearish), True),
            headlines,
        ],
    )
    return Message(
        embeds=[embed],
        files=[File("sentiment.png", png, description=f"{symbol} sentiment gauge")],
    )
