"""The real Catalyst bot (registry and Resources) behind the local Discord, one stack per
test module.

The emulator signs and sends every interaction, the real edge answers, the real worker edits
through the emulator's REST API, and tests read what the page shows. The market is the
simulated demo provider on a fixed clock (Wednesday 2024-03-20, 14:00 New York), so expected
prices and charts can be recomputed independently; the sample alerts of tests/store/samples
(4-5 March 2024) fall inside its daily history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot_charts.harness import Market
from catalyst_interactions.dev import build_dev
from catalyst_interactions.market import Bars, DemoProvider, Quote, Timeframe
from catalyst_interactions.settings import Settings
from support.local_discord import Clock, Local, running

NY = ZoneInfo("America/New_York")
MARKET_NOW = datetime(2024, 3, 20, 14, 0, tzinfo=NY).timestamp()
SAMPLES = Path(__file__).parent.parent / "store" / "samples"


def market_clock() -> float:
    return MARKET_NOW


def demo_data(ticker: str, timeframe: Timeframe, history: int = 0) -> tuple[Bars, Quote]:
    """What the bot's market returns, from a provider of our own on the same clock."""
    provider = DemoProvider(clock=market_clock)

    async def fetch() -> tuple[Bars, Quote]:
        bars = await provider.bars(ticker, timeframe, history=history)
        return bars, await provider.quote(ticker)

    return asyncio.run(fetch())


def start_bot(tmp: Path, **overrides: Any) -> Iterator[Local]:
    """The whole local system with the real bot; Settings ``overrides`` on top of test ones."""
    clock = Clock()
    base: dict[str, Any] = {
        "data_dir": tmp,
        "job_retry_base_s": 0.05,
        "process_pool_size": 1,
        "worker_concurrency": 4,
        "cooldowns": {"*": 0.0},
    }
    stack = build_dev(Settings(**(base | overrides)), None, port=0, clock=clock)
    with running(stack, clock) as local:
        assert stack.runtime is not None
        services = stack.runtime.resources
        setattr(services, "market", Market(DemoProvider(clock=market_clock)))  # noqa: B010
        yield local


def data_dir(local: Local) -> Path:
    assert local.stack.settings is not None
    return local.stack.settings.data_dir
