"""/ready answers from a result at most a couple of seconds old: polls do not each cost the
database and the queue a round trip, concurrent polls share one check, and an outage shows
within the cache period."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from catalyst_interactions.edge.ops import OpsApp, OpsListener, Readiness
from catalyst_interactions.jobs import SqliteJobQueue
from catalyst_interactions.metrics import Metrics


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_polls_within_the_period_share_one_round_trip(tmp_path: Path) -> None:
    queue = SqliteJobQueue(tmp_path / "queue.db")
    pings = 0

    async def counted_ping() -> None:
        nonlocal pings
        pings += 1
        await queue.ping()  # the real round trip to the queue's database

    clock = Clock()
    ready = Readiness({"queue": counted_ping}, cache_s=2.0, clock=clock)
    try:
        results = await asyncio.gather(*(ready.failing() for _ in range(50)))
        assert results == [[]] * 50 and pings == 1
        clock.now += 1.9
        assert await ready.failing() == [] and pings == 1
        clock.now += 0.2  # the period is over: one fresh check
        assert await ready.failing() == [] and pings == 2
        await queue.close()  # an outage ...
        clock.now += 2.1
        assert await ready.failing() == ["queue"]  # ... shows at the next period
        assert (await ready.result()).status == 503
    finally:
        await queue.close()


async def test_the_metrics_listener_serves_metrics_and_ready_over_http(tmp_path: Path) -> None:
    queue = SqliteJobQueue(tmp_path / "queue.db")
    metrics = Metrics()
    listener = OpsListener(OpsApp(metrics, Readiness({"queue": queue.ping})), "127.0.0.1", 0)
    await listener.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{listener.port}") as client:
            assert (await client.get("/ready")).json() == {"status": "ready"}
            scraped = await client.get("/metrics")
            assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
            assert "process_resident_memory_bytes" in scraped.text
            assert (await client.get("/interactions")).status_code == 404
            assert (await client.post("/metrics")).status_code == 405
        # A second listener on the same port is a clear error, not a silent exit.
        clash = OpsListener(OpsApp(metrics, Readiness({})), "127.0.0.1", listener.port)
        busy = f"metrics listener cannot bind 127.0.0.1:{listener.port}"
        with pytest.raises(OSError, match=busy):
            await clash.start()
    finally:
        await listener.stop()
        await queue.close()
