"""Button click to edited message: a timeframe click through the real edge and worker.

Each sample is one signed component interaction (a timeframe button of a /chart message)
POSTed to the real edge (uvicorn, httptools, uvloop) of the real Catalyst bot, which
answers type 6, queues the job durably (SQLite), and whose in-process worker fetches bars,
renders in the process pool and PATCHes ``@original`` on a loopback fake Discord. The
sample is the time from the start of the POST to the PATCH's arrival at the fake Discord.
Clicks are sequential.

The data cache is warm: every (ticker, timeframe) was fetched before the clock starts and
the cache's TTL is raised to an hour so nothing expires mid-run. Two scenarios:

- ``render hit``: the chart was rendered before; the PNG comes from the render cache;
- ``render miss``: an indicator combination not drawn before, so every click renders.

The fake Discord, the edge, the worker and this client share one Python process (the
renders run in the pool's processes); a separate Discord would only take load off it.
Budget (docs/design.md): p95 under 300 ms. Prints numbers; asserts nothing.

    .venv/bin/python bench/bench_click.py [--n 60] [--pool 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from nacl.signing import SigningKey

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the loopback fake Discord and signing helpers

from catalyst_interactions.app import build_runtime  # noqa: E402
from catalyst_interactions.bot.chart import TIMEFRAME_BUTTON, encode_indicators  # noqa: E402
from catalyst_interactions.market import (  # noqa: E402
    Bars,
    CachedProvider,
    DemoProvider,
    Quote,
    Timeframe,
)
from catalyst_interactions.settings import Settings  # noqa: E402
from fakes.fake_discord import FakeDiscord  # noqa: E402
from support.servers import serve_in_thread  # noqa: E402
from support.signing import Signer, command, component  # noqa: E402

TOKEN = "interaction-token-secret"
BUDGET_P95_MS = 300.0
NAMES = ("vwap", "sma20", "sma50", "ema9", "ema21", "bollinger", "rsi", "macd")


class WarmMarket:
    """The demo provider behind the real TTL cache, with an hour's TTL for every range."""

    def __init__(self, timeframes: list[Timeframe]) -> None:
        self._cached = CachedProvider(DemoProvider(), ttl={tf: 3600.0 for tf in timeframes})

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        return await self._cached.bars(ticker, timeframe, history=history)

    async def quote(self, ticker: str) -> Quote:
        return await self._cached.quote(ticker)

    async def aclose(self) -> None:
        """The demo provider holds no connections."""


class Clicker:
    def __init__(self, client: httpx.Client, signer: Signer, discord: FakeDiscord) -> None:
        self.client = client
        self.signer = signer
        self.discord = discord
        self.patches = 0

    def post(self, payload: dict[str, Any]) -> None:
        body, headers = self.signer.signed(payload)
        response = self.client.post("/interactions", content=body, headers=headers)
        response.raise_for_status()

    def wait_patch(self) -> float:
        """Wait for the next PATCH of @original with a chart; its arrival time (monotonic).

        A slash command's progress edits ("Fetching 1D of AAPL…") come first and are skipped.
        """
        while True:
            self.patches += 1
            self.discord.wait_for_requests(self.patches, "edit_original", timeout=60)
            request = self.discord.requests_for("edit_original")[self.patches - 1]
            if request.content_type.startswith("multipart/"):
                return float(request.at)
            if not str(request.json.get("content", "")).endswith("…"):
                raise RuntimeError(f"the edit carried no chart: {request.json}")

    def click(self, ticker: str, tf: Timeframe, indicators: frozenset[str]) -> float:
        """One click; milliseconds from the POST's start to the PATCH's arrival."""
        custom_id = TIMEFRAME_BUTTON.build(
            ticker=ticker, tf=tf.value, ind=encode_indicators(indicators)
        )
        message = self.discord.originals[TOKEN]
        payload = component(custom_id, message=message)
        start = time.monotonic()
        self.post(payload)
        return (self.wait_patch() - start) * 1000.0


def report(name: str, samples: list[float]) -> float:
    arr = np.asarray(samples)
    p50, p95 = float(np.percentile(arr, 50)), float(np.percentile(arr, 95))
    verdict = "within" if p95 < BUDGET_P95_MS else "OVER"
    print(
        f"{name:<12} n={len(arr):<4} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
        f"max {arr.max():7.1f} ms  mean {statistics.fmean(samples):7.1f} ms  "
        f"({verdict} the {BUDGET_P95_MS:.0f} ms p95 budget)"
    )
    return p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=60, help="clicks per scenario (max 253)")
    parser.add_argument("--pool", type=int, default=2, help="render processes")
    args = parser.parse_args()

    signer = Signer(SigningKey.generate())
    tfs = list(Timeframe)
    with tempfile.TemporaryDirectory() as data_dir, FakeDiscord() as discord:
        settings = Settings(
            public_key_hex=signer.public_key_hex,
            application_id=discord.application_id,
            api_base=discord.base_url,
            data_dir=Path(data_dir),
            market_provider="demo",
            process_pool_size=args.pool,
            worker_concurrency=4,
            log_level="warning",
            admin_guild_ids=frozenset({"500"}),  # the home server (admin tools)
        )
        runtime = build_runtime(settings)
        services = runtime.resources
        setattr(services, "market", WarmMarket(tfs))  # noqa: B010
        with serve_in_thread(runtime.app) as url, httpx.Client(base_url=url) as client:
            clicker = Clicker(client, signer, discord)
            # Warm up: the message, the pool's processes, every timeframe's data.
            clicker.post(command("chart", [{"name": "ticker", "type": 3, "value": "AAPL"}]))
            clicker.wait_patch()
            base = frozenset({"vwap"})
            for tf in tfs:  # every indicator: the most history each timeframe fetches
                clicker.click("AAPL", tf, frozenset(NAMES))
            for tf in tfs * 2:
                clicker.click("AAPL", tf, base)

            hits = [clicker.click("AAPL", tfs[i % len(tfs)], base) for i in range(args.n)]
            # Indicator sets never drawn before (every mask but the warm-up's VWAP-only 1 and
            # all-eight ff), in a shuffled order so light and heavy sets (RSI/MACD) mix.
            masks = np.random.default_rng(7).permutation(np.arange(2, 255))
            misses = []
            for i, mask in enumerate(masks[: args.n].tolist()):
                chosen = frozenset(n for b, n in enumerate(NAMES) if mask >> b & 1)
                misses.append(clicker.click("AAPL", tfs[i % len(tfs)], chosen))

    print(
        f"click -> edited message, warm data cache, {args.pool} render processes, sequential clicks"
    )
    report("render hit", hits)
    report("render miss", misses)


if __name__ == "__main__":
    main()
