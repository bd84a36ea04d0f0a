"""The throttle behind cooldowns and per-user rates: GCRA arithmetic worked out by hand, the
memory bound measured, and the shared stores (a SQLite file between real processes, Redis
between clients) holding one limit together."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from catalyst_interactions.framework.throttle import (
    DEFAULT_MAX_ENTRIES,
    MemoryThrottleStore,
    RedisThrottleStore,
    SqliteThrottleStore,
)

REDIS = "redis://127.0.0.1:6379/0"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_cooldown_is_one_use_per_period() -> None:
    clock = Clock()
    store = MemoryThrottleStore(clock=clock)
    assert await store.admit("cd:chart:1", 5.0, 1) == 0
    clock.now += 2.0
    assert await store.admit("cd:chart:1", 5.0, 1) == pytest.approx(3.0)
    assert await store.admit("cd:chart:2", 5.0, 1) == 0  # another user is not affected
    clock.now += 3.0
    assert await store.admit("cd:chart:1", 5.0, 1) == 0  # the period has passed


async def test_rate_allows_a_burst_then_one_per_interval() -> None:
    # 4 per 8 s: interval 2 s, burst 4.
    clock = Clock()
    store = MemoryThrottleStore(clock=clock)
    assert [await store.admit("rate:1", 2.0, 4) for _ in range(4)] == [0, 0, 0, 0]
    assert await store.admit("rate:1", 2.0, 4) == pytest.approx(2.0)
    clock.now += 0.5
    assert await store.admit("rate:1", 2.0, 4) == pytest.approx(1.5)
    clock.now += 1.5
    assert await store.admit("rate:1", 2.0, 4) == 0  # one more after one interval
    assert await store.admit("rate:1", 2.0, 4) == pytest.approx(2.0)


async def test_memory_store_is_bounded_and_sweeps_expired_keys_first() -> None:
    clock = Clock()
    store = MemoryThrottleStore(max_entries=100, clock=clock)
    for user in range(100):
        assert await store.admit(f"cd:x:{user}", 1.0, 1) == 0
    clock.now += 0.5
    await store.admit("cd:x:new", 10.0, 1)  # full, nothing expired: the oldest goes
    assert len(store) == 100
    assert await store.admit("cd:x:99", 1.0, 1) == pytest.approx(0.5)  # still remembered
    assert await store.admit("cd:x:0", 1.0, 1) == 0  # evicted, so admitted early
    clock.now += 1.0  # every 1 s key has expired; the 10 s one has not
    for user in range(200, 250):
        await store.admit(f"cd:x:{user}", 1.0, 1)
    assert len(store) <= 100
    assert await store.admit("cd:x:new", 10.0, 1) > 0  # the live key survived the sweep


def test_memory_store_bytes_at_its_default_bound() -> None:
    """The stated bound: DEFAULT_MAX_ENTRIES keys (the longest realistic ones) in < 6 MB."""

    async def fill(store: MemoryThrottleStore) -> None:
        for user in range(DEFAULT_MAX_ENTRIES * 2):
            await store.admit(f"cd:compare-buttons:{10**17 + user}", 60.0, 1)

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store = MemoryThrottleStore()
        asyncio.run(fill(store))
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(store) == DEFAULT_MAX_ENTRIES
    print(f"{DEFAULT_MAX_ENTRIES} throttle entries: {used / 1e6:.2f} MB")
    assert used < 6_000_000


_WORKER = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from catalyst_interactions.framework.throttle import SqliteThrottleStore

    async def main():
        store = SqliteThrottleStore(Path(sys.argv[1]))
        admitted = {"cooldown": 0, "rate": 0}
        for _ in range(int(sys.argv[3])):
            if await store.admit("cd:chart:" + sys.argv[2], 60.0, 1) == 0:
                admitted["cooldown"] += 1
            if await store.admit("rate:" + sys.argv[2], 6.0, 10) == 0:
                admitted["rate"] += 1
        await store.close()
        print(json.dumps(admitted))

    asyncio.run(main())
    """
)


@pytest.mark.loopback
def test_sqlite_store_holds_one_limit_across_processes(tmp_path: Path) -> None:
    """Three real processes hammer one user's keys at once: one cooldown use and ten rate
    slots in total, not per process."""
    path = tmp_path / "throttle.db"
    user = str(secrets.randbelow(10**17))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), user, "40"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert sum(r["cooldown"] for r in results) == 1
    # 10 in the burst, plus at most one more if the 3 s run crossed a 0.6 s interval.
    assert 10 <= sum(r["rate"] for r in results) <= 16
    assert path.stat().st_mode & 0o777 == 0o600


async def test_sqlite_store_purges_expired_rows(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteThrottleStore(tmp_path / "throttle.db", clock=clock)
    try:
        for user in range(50):
            await store.admit(f"cd:x:{user}", 1.0, 1)
        assert store.rows() == 50
        clock.now += 31.0  # past every TAT and past the purge interval
        await store.admit("cd:x:last", 1.0, 1)
        assert store.rows() == 1
    finally:
        await store.close()


@pytest.mark.redis
async def test_redis_store_holds_one_limit_across_clients() -> None:
    from redis.asyncio import Redis

    prefix = f"test-throttle-{secrets.token_hex(4)}"
    stores = [RedisThrottleStore(Redis.from_url(REDIS), prefix) for _ in range(3)]
    probe = Redis.from_url(REDIS)
    try:
        results = await asyncio.gather(
            *(s.admit("cd:chart:7", 30.0, 1) for s in stores for _ in range(5))
        )
        assert sum(1 for wait in results if wait == 0) == 1
        # Redis's own clock: the same for every client, so no wait exceeds the period.
        assert all(0 < wait <= 30.0 for wait in results if wait)
        rates = await asyncio.gather(*(s.admit("rate:7", 3.0, 5) for s in stores for _ in range(4)))
        assert sum(1 for wait in rates if wait == 0) == 5
        ttl = await probe.pttl(f"{prefix}:cd:chart:7")
        assert 0 < ttl <= 30_000  # forgotten by Redis itself once the cooldown is over
    finally:
        keys = [k async for k in probe.scan_iter(match=f"{prefix}:*")]
        if keys:
            await probe.delete(*keys)
        await probe.aclose()
        for s in stores:
            await s.close()


async def test_redis_outage_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    from redis.asyncio import Redis

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    store = RedisThrottleStore(Redis.from_url(f"redis://127.0.0.1:{port}/0"), "t")
    with caplog.at_level(logging.WARNING, "catalyst_interactions.throttle"):
        assert await store.admit("cd:chart:1", 30.0, 1) == 0
    assert "throttle store unavailable" in caplog.text
    await store.close()


async def _same_interaction_passes_its_own_limit(store: object) -> None:
    admit = store.admit  # type: ignore[attr-defined]
    key = f"cd:chart:{secrets.randbelow(10**17)}"
    assert await admit(key, 30.0, 1, "1001") == 0
    assert await admit(key, 30.0, 1, "1001") == 0  # delivered again: not refused, not counted
    assert await admit(key, 30.0, 1, "1002") > 0  # another interaction of the same member
    assert await admit(key, 30.0, 1, "") > 0  # no id: no exception
    rate = f"rate:{secrets.randbelow(10**17)}"
    assert [await admit(rate, 10.0, 2, t) for t in ("1", "1", "1", "2")] == [0, 0, 0, 0]
    assert await admit(rate, 10.0, 2, "3") > 0  # "1" was counted once


async def test_memory_store_passes_an_interaction_again() -> None:
    await _same_interaction_passes_its_own_limit(MemoryThrottleStore())


async def test_sqlite_store_passes_an_interaction_again(tmp_path: Path) -> None:
    store = SqliteThrottleStore(tmp_path / "throttle.db")
    try:
        await _same_interaction_passes_its_own_limit(store)
    finally:
        await store.close()


@pytest.mark.redis
async def test_redis_store_passes_an_interaction_again() -> None:
    from redis.asyncio import Redis

    prefix = f"test-throttle-{secrets.token_hex(4)}"
    store = RedisThrottleStore(Redis.from_url(REDIS), prefix)
    probe = Redis.from_url(REDIS)
    try:
        await _same_interaction_passes_its_own_limit(store)
    finally:
        keys = [k async for k in probe.scan_iter(match=f"{prefix}:*")]
        if keys:
            await probe.delete(*keys)
        await probe.aclose()
        await store.close()
