"""A process that owns a chart service's render pool, for the SIGKILL test: it renders one
chart (which starts the pool), prints the render processes' ids and waits to be killed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from catalyst_interactions.bot.charting import ChartService
from catalyst_interactions.charts.cache import LocalDiskStore
from catalyst_interactions.market import DemoProvider, Timeframe


async def main(store_dir: Path) -> None:
    service = ChartService(LocalDiskStore(store_dir), pool_size=2, nice=7)
    market = DemoProvider()
    # Two renders at once: the pool starts its processes on demand.
    all_bars = [await market.bars(t, Timeframe.D1) for t in ("AAPL", "MSFT")]
    done = await asyncio.gather(
        *(service.chart(bars, indicators=frozenset(), quote=None) for bars in all_bars)
    )
    assert all(png.startswith(b"\x89PNG") for png, _ in done)
    executor = service._executor
    pids = sorted(getattr(executor, "_processes", {}))
    print(" ".join(str(pid) for pid in pids), flush=True)
    await asyncio.sleep(600)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
