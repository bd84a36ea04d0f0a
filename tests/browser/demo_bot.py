"""A small bot for the browser tests and the screenshot: every kind of answer the page shows.

/quote   deferred: "thinking…", then an embed with a chart image, buttons, a select and a link
/echo    inline text, with a number option that has a range
/feedback a modal; its submit answers ephemerally
/boom    a handler bug: the user sees the framework's ephemeral apology
"""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime
from typing import Annotated

from catalyst_interactions.discord.enums import ButtonStyle, TextInputStyle
from catalyst_interactions.discord.messages import (
    ActionRow,
    Button,
    Choice,
    Embed,
    EmbedField,
    File,
    Message,
    Modal,
    SelectOption,
    StringSelect,
    TextInput,
)
from catalyst_interactions.discord.payloads import Attachment, User
from catalyst_interactions.framework.context import (
    AutocompleteContext,
    CommandContext,
    ComponentContext,
    ModalContext,
)
from catalyst_interactions.framework.modes import Mode
from catalyst_interactions.framework.options import Param
from catalyst_interactions.framework.registry import Registry

TICKERS = ("AAPL", "AMD", "AMZN", "MSFT", "NVDA", "TSLA")
TIMEFRAMES = ("1D", "5D", "1M")


def chart_png(seed: int, width: int = 480, height: int = 200) -> bytes:
    """A small line chart as PNG, drawn pixel by pixel (no plotting library needed)."""
    bg, grid, line = (43, 45, 49), (60, 63, 69), (88, 101, 242)
    rows = [bytearray(bg * width) for _ in range(height)]
    for y in range(0, height, 40):
        rows[y][:] = bytes(grid * width)
    value, state, drift = height / 2, seed * 2654435761 % 2**32 or 1, 0.0
    points = []
    for _ in range(width // 2):
        state = (1103515245 * state + 12345) % 2**31  # a tiny LCG: deterministic per seed
        drift = 0.85 * drift + (state / 2**31 - 0.5) * 2.2
        value = min(max(value - drift, 12), height - 12)
        points.append(int(value))
    for i in range(len(points) - 1):
        y0, y1 = points[i], points[i + 1]
        for x in (2 * i, 2 * i + 1):
            for y in range(min(y0, y1) - 1, max(y0, y1) + 2):
                rows[y][x * 3 : x * 3 + 3] = bytes(line)
    raw = b"".join(b"\x00" + bytes(r) for r in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def quote_message(ticker: str, timeframe: str, indicator: str = "none") -> Message:
    seed = sum(map(ord, ticker + timeframe + indicator))
    price = 100 + seed % 400 + (seed % 100) / 100
    buttons = [
        Button(
            label=tf,
            custom_id=f"tf:{ticker}:{tf}",
            style=ButtonStyle.PRIMARY if tf == timeframe else ButtonStyle.SECONDARY,
            disabled=tf == timeframe,
        )
        for tf in TIMEFRAMES
    ]
    buttons.append(
        Button(label="Details", style=ButtonStyle.LINK, url=f"https://example.com/quote/{ticker}")
    )
    select = StringSelect(
        custom_id=f"ind:{ticker}:{timeframe}",
        placeholder="Add an indicator",
        options=[
            SelectOption(
                label=name, value=name.lower(), default=name.lower() == indicator, description=desc
            )
            for name, desc in (
                ("VWAP", "Volume-weighted average price"),
                ("RSI", "Relative strength index"),
                ("MACD", "Moving average convergence divergence"),
            )
        ],
    )
    return Message(
        embeds=[
            Embed(
                title=f"{ticker} · {timeframe}",
                url=f"https://example.com/quote/{ticker}",
                description=f"**${price:,.2f}** · up *1.8%* today\nIndicator: `{indicator}`",
                color=0x3BA55C,
                fields=[
                    EmbedField("Open", f"${price - 2:,.2f}", inline=True),
                    EmbedField("High", f"${price + 3:,.2f}", inline=True),
                    EmbedField("Volume", "12.4M", inline=True),
                    EmbedField("Note", "Demo data drawn by the test bot; nothing is fetched."),
                ],
                image_url="attachment://chart.png",
                footer="Catalyst demo",
                timestamp=datetime(2026, 1, 5, 15, 30, tzinfo=UTC),
            )
        ],
        files=[File("chart.png", chart_png(seed))],
        components=[ActionRow(buttons), ActionRow([select])],
    )


def demo_registry() -> Registry:
    reg = Registry()

    @reg.command("quote", "Price chart for a ticker", mode=Mode.DEFERRED)
    async def quote(
        ctx: CommandContext,
        ticker: Annotated[str, Param("Ticker symbol", autocomplete=True)],
        timeframe: Annotated[str, Param("Chart range", choices={t: t for t in TIMEFRAMES})] = "1D",
    ) -> Message:
        return quote_message(ticker.upper(), timeframe)

    @reg.autocomplete("quote", "ticker")
    async def tickers(ctx: AutocompleteContext, typed: str) -> list[Choice]:
        return [Choice(t, t) for t in TICKERS if t.startswith(typed.upper())]

    @reg.component("tf:{ticker}:{tf}", mode=Mode.DEFERRED)
    async def timeframe(ctx: ComponentContext, ticker: str, tf: str) -> Message:
        return quote_message(ticker, tf)

    @reg.component("ind:{ticker}:{tf}")
    async def indicator(ctx: ComponentContext, ticker: str, tf: str) -> Message:
        return quote_message(ticker, tf, ctx.values[0] if ctx.values else "none")

    @reg.command("echo", "Repeat some text")
    async def echo(
        ctx: CommandContext,
        text: Annotated[str, Param("What to say")],
        times: Annotated[int, Param("How many times", min_value=1, max_value=3)] = 1,
    ) -> Message:
        return Message(content=" ".join([f"**{text}**"] * times))

    @reg.command("feedback", "Tell us something")
    async def feedback(ctx: CommandContext) -> Modal:
        return Modal(
            custom_id="fb:general",
            title="Send feedback",
            inputs=[
                TextInput("subject", "Subject", max_length=60, placeholder="One line"),
                TextInput("body", "What happened?", style=TextInputStyle.PARAGRAPH, required=False),
            ],
        )

    @reg.modal("fb:{topic}", ephemeral=True)
    async def feedback_sent(ctx: ModalContext, topic: str) -> Message:
        return Message(
            content=f"Thanks {ctx.user.display_name}! Got “{ctx.values['subject']}” ({topic}).",
            ephemeral=True,
        )

    @reg.command("boom", "A command whose handler has a bug")
    async def boom(ctx: CommandContext) -> Message:
        raise RuntimeError("demo bug")

    @reg.command("whoami", "Am I an admin?", ephemeral=True)
    async def whoami(ctx: CommandContext) -> Message:
        role = "an admin" if ctx.is_admin else "a regular member"
        return Message(content=f"You are {ctx.user.display_name}, {role}.", ephemeral=True)

    @reg.command("greet", "Greet a member")
    async def greet(ctx: CommandContext, who: Annotated[User, Param("Whom to greet")]) -> Message:
        return Message(content=f"Hello {who.display_name} (<@{who.id}>)!")

    @reg.command("upload", "Describe a file")
    async def upload(
        ctx: CommandContext, file: Annotated[Attachment, Param("Any file")]
    ) -> Message:
        return Message(content=f"{file.filename}: {file.size} bytes, {file.content_type}")

    return reg
