"""/research ticker [question] and /ask question: an LLM answer grounded in our own data.

The model gets the ticker's quote and its recent alerts (or, for /ask, the newest alerts
overall) as context. The answer is streamed: the message shows it growing (edits coalesced
by the context, see docs/architecture.md) and is then replaced by the final answer. A deferred
handler edits one message, so an answer longer than an embed description is shown shortened
and attached in full as a Markdown file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from ..discord.limits import ATTACHMENT_DESCRIPTION_MAX, EMBED_FIELD_VALUE_MAX, EMBED_TITLE_MAX
from ..discord.messages import Embed, EmbedField, File, Message, truncate
from ..framework.context import CommandContext, Context
from ..framework.cooldowns import cooldown
from ..framework.errors import CheckFailure, UserFacingError
from ..framework.modes import Mode
from ..framework.options import Param
from ..framework.registry import Feature
from ._shared import BRAND_COLOR, SIMULATED_NOTE, Ticker, money, open_store
from .resources import Resources

if TYPE_CHECKING:
    from ..llm import ChatClient, ChatMessage, ChatResult
    from ..store import Alert

CONTEXT_ALERTS = 10
PREVIEW_CHARS = 3500
"""Shown in the embed when the answer does not fit its 4096-character description."""
SYSTEM_PROMPT = (
    "You are Catalyst, a concise markets research assistant answering in a Discord server. "
    "Ground your answer in the data provided and say plainly when it is missing, stale or "
    "simulated. Do not invent prices, dates or headlines. This is not financial advice; do "
    "not tell anyone to buy or sell. Use short Markdown paragraphs or bullet points."
)


def chat_client(ctx: Context[Resources]) -> ChatClient | None:
    """The configured LLM client (made on first use, checked at start), or None."""
    llm = ctx.resources.llm
    return None if llm is None else llm.get()


async def research_configured(ctx: Context[Resources]) -> None:
    """Refuse at once (ephemerally, before deferring) when no LLM is configured."""
    if ctx.resources.llm is None:
        raise CheckFailure(
            "Research is not configured on this bot (an admin must set "
            "CATALYST_LLM_BASE_URL and CATALYST_LLM_MODEL)."
        )


def _alert_context(alert: Alert) -> str:
    bits = [f"{alert.posted_at:%Y-%m-%d %H:%M} UTC", alert.ticker, alert.title]
    if alert.price is not None:
        bits.append(f"price {money(alert.price)}")
    if alert.score is not None:
        bits.append(f"score {alert.score:.2f}")
    if alert.sentiment is not None:
        bits.append(f"sentiment {alert.sentiment:+.2f}")
    if alert.source:
        bits.append(f"source {alert.source}")
    return "- " + " | ".join(bits)


def _alerts_block(alerts: list[Alert]) -> str:
    if not alerts:
        return "Recent alerts: none stored."
    return "Recent alerts (newest first):\n" + "\n".join(_alert_context(a) for a in alerts)


CURSOR = " ▌"
"""Ends the text while it is still being written."""


def partial_message(title: str, question: str, text: str, model: str) -> Message:
    """The answer so far, as the message shows it while the model is still writing."""
    if len(text) > PREVIEW_CHARS:
        text = truncate(text, PREVIEW_CHARS)
    embed = Embed(
        title=truncate(title, EMBED_TITLE_MAX),
        description=text + CURSOR,
        color=BRAND_COLOR,
        fields=[EmbedField("Question", truncate(question, EMBED_FIELD_VALUE_MAX))],
        footer=f"{model} · writing…",
    )
    return Message(embeds=[embed])


async def _ask(ctx: Context[Resources], prompt: str, title: str, question: str) -> ChatResult:
    from ..llm import ChatMessage, LLMError

    client = chat_client(ctx)
    if client is None:  # configuration changed between the check and the worker
        raise UserFacingError("Research is not configured on this bot.")
    messages: list[ChatMessage] = [
        ChatMessage("system", SYSTEM_PROMPT),
        ChatMessage("user", prompt),
    ]

    async def grow(text: str) -> None:
        await ctx.edit(partial_message(title, question, text, client.model))

    await ctx.progress(f"Asking the research assistant ({client.model})…")
    try:
        return await client.stream(messages, grow)
    except LLMError as exc:
        raise UserFacingError(exc.user_message) from None


def answer_message(
    title: str, question: str, result: ChatResult, *, filename: str, notes: tuple[str, ...] = ()
) -> Message:
    """The answer in an embed; when too long, a preview plus the full text as a file."""
    files: list[File] = []
    text = result.text
    if len(text.strip()) > 4000:
        description = (
            truncate(text, PREVIEW_CHARS) + f"\n\n*The full answer is attached as `{filename}`.*"
        )
        document = f"# {title}\n\n**Question:** {question}\n\n{text}\n"
        files.append(
            File(
                filename, document.encode(), description=truncate(title, ATTACHMENT_DESCRIPTION_MAX)
            )
        )
    else:
        description = text
    footer = [f"{result.model} · not financial advice"]
    if result.finish_reason == "length":
        footer.append("The answer was cut at the model's length limit.")
    footer.extend(notes)
    embed = Embed(
        title=truncate(title, EMBED_TITLE_MAX),
        description=description,
        color=BRAND_COLOR,
        fields=[EmbedField("Question", truncate(question, EMBED_FIELD_VALUE_MAX))],
        footer="\n".join(footer),
    )
    return Message(embeds=[embed], files=files)


commands = Feature[Resources](checks=(research_configured,))
"""Both commands need the LLM: refused at once, before deferring, when it is not set up."""


@commands.command("research", "Ask the research assistant about a ticker", mode=Mode.DEFERRED)
@cooldown(30)
async def research(
    ctx: CommandContext[Resources],
    ticker: Ticker,
    question: Annotated[
        str | None, Param("What you want to know (optional)", max_length=1000)
    ] = None,
) -> Message:
    from ..market.errors import MarketDataError

    symbol = ticker  # already normalised by the Ticker type
    await ctx.progress(f"Reading {symbol}'s quote and recent alerts…")
    store = await open_store(ctx)
    alerts = await store.alerts.recent(symbol, limit=CONTEXT_ALERTS)
    notes: tuple[str, ...] = ()
    try:
        quote = await ctx.resources.market.quote(symbol)
        quote_line = (
            f"Quote: {money(quote.last)}, {quote.change:+.2f} "
            f"({quote.change_pct:+.2f}%) vs previous close, as of "
            f"{quote.as_of:%Y-%m-%d %H:%M} UTC, source {quote.source}"
            + (" (SIMULATED demo data, not real prices)" if quote.simulated else "")
        )
        if quote.simulated:
            notes = (SIMULATED_NOTE,)
    except MarketDataError as exc:
        quote_line = f"Quote: unavailable ({exc.user_message})"
    asked = (question or "").strip() or (
        f"Summarise the recent catalysts for {symbol} and what they could mean."
    )
    prompt = f"Ticker: {symbol}\n{quote_line}\n{_alerts_block(alerts)}\n\nQuestion: {asked}"
    result = await _ask(ctx, prompt, f"Research: {symbol}", asked)
    return answer_message(
        f"Research: {symbol}", asked, result, filename=f"research-{symbol}.md", notes=notes
    )


@commands.command("ask", "Ask the research assistant a question", mode=Mode.DEFERRED)
@cooldown(30)
async def ask(
    ctx: CommandContext[Resources],
    question: Annotated[str, Param("Your question", min_length=3, max_length=1000)],
) -> Message:
    store = await open_store(ctx)
    alerts = await store.alerts.recent(limit=CONTEXT_ALERTS)
    prompt = (
        f"{_alerts_block(alerts)}\n\nThe alerts above are the bot's newest "
        f"catalysts across all tickers.\n\nQuestion: {question.strip()}"
    )
    result = await _ask(ctx, prompt, "Ask Catalyst", question.strip())
    return answer_message("Ask Catalyst", question.strip(), result, filename="answer.md")
