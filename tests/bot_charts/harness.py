"""Helpers for the chart tests: the running bot and the fixed clock of its market."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from catalyst_interactions.app import Runtime
from catalyst_interactions.bot.resources import Resources
from catalyst_interactions.market import (
    Bars,
    CachedProvider,
    MarketDataProvider,
    Quote,
    Timeframe,
)
from fakes.fake_discord import FakeDiscord
from support.signing import Signer

NY = ZoneInfo("America/New_York")
FIXED_NOW = datetime(2025, 3, 12, 14, 0, tzinfo=NY).timestamp()
TOKEN = "interaction-token-secret"  # what support.signing puts in every interaction


def fixed_clock() -> float:
    return FIXED_NOW


class Market:
    """``provider`` behind the real TTL cache, shaped like the bot's market service."""

    def __init__(self, provider: MarketDataProvider) -> None:
        self.cached = CachedProvider(provider)

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        return await self.cached.bars(ticker, timeframe, history=history)

    async def quote(self, ticker: str) -> Quote:
        return await self.cached.quote(ticker)

    def known_symbols(self) -> dict[str, str] | None:
        return self.cached.known_symbols()

    async def aclose(self) -> None:
        """Nothing to release: the providers used in tests hold no connections."""


class Bot:
    """A running bot, its fake Discord and helpers to talk to both."""

    def __init__(
        self, runtime: Runtime, client: httpx.Client, signer: Signer, discord: FakeDiscord
    ) -> None:
        self.runtime = runtime
        self.client = client
        self.signer = signer
        self.discord = discord

    @property
    def services(self) -> Resources:
        services = self.runtime.resources
        assert isinstance(services, Resources)
        return services

    def send(self, payload: dict[str, Any]) -> httpx.Response:
        body, headers = self.signer.signed(payload)
        return self.client.post("/interactions", content=body, headers=headers)

    def wait(self, route: str, count: int = 1, timeout: float = 60.0) -> None:
        self.discord.wait_for_requests(count, route, timeout=timeout)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until the job queue has nothing pending or running."""
        queue = self.runtime.queue
        deadline = time.monotonic() + timeout

        async def busy() -> bool:
            return bool(await queue.list("pending", 10) or await queue.list("running", 10))

        while asyncio.run(busy()):
            if time.monotonic() > deadline:
                raise TimeoutError("jobs still pending")
            time.sleep(0.01)
