"""The throttle behind cooldowns and per-user rates: GCRA arithmetic worked out by hand, the
memory bound measured, and the shared stores (a memory-mapped table between real processes,
Redis between clients) holding one limit together."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import socket
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest

from catalyst_interactions.framework.throttle import (
    DEFAULT_MAX_ENTRIES,
    MemoryThrottleStore,
    RedisThrottleStore,
    SharedThrottleStore,
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
    import asyncio, json, sys, time
    from pathlib import Path
    from catalyst_interactions.framework.throttle import SharedThrottleStore

    async def main():
        store = SharedThrottleStore(Path(sys.argv[1]))
        user, attempts, start_at = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        admitted = {"cooldown": 0, "rate": 0}
        while time.time() < start_at:  # every process starts hammering at the same moment
            time.sleep(0.001)
        for _ in range(attempts):
            if await store.admit("cd:chart:" + user, 60.0, 1) == 0:
                admitted["cooldown"] += 1
            # A burst of 4,000 that refills one per hour: exactly 4,000, however it races.
            if await store.admit("rate:" + user, 3600.0, 4000) == 0:
                admitted["rate"] += 1
        await store.close()
        print(json.dumps(admitted))

    asyncio.run(main())
    """
)


@pytest.mark.loopback
def test_shared_store_holds_one_limit_across_processes(tmp_path: Path) -> None:
    """Three real processes hammer one member's keys at the same moment through one mapped
    file: one cooldown use and 4,000 rate admissions in total, not per process (without the
    file lock the processes overwrite each other's counts and admit more)."""
    path = tmp_path / "data" / "throttle.table"
    user = str(secrets.randbelow(10**17))
    start_at = time.time() + 3.0  # after every interpreter has started
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), user, "3000", str(start_at)],
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
    assert sum(r["rate"] for r in results) == 4000
    assert all(r["rate"] > 0 for r in results)  # they did race for it
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


async def test_shared_store_answers_as_the_memory_store_does(tmp_path: Path) -> None:
    """Random cooldowns, rates and repeated interactions from 300 members over a minute of
    fake time: the shared table gives the memory store's answer every time (neither is full,
    so neither forgets a live key)."""
    clock = Clock()
    rng = random.Random(7)
    memory = MemoryThrottleStore(clock=clock)
    shared = SharedThrottleStore(tmp_path / "throttle.table", slots=4096, clock=clock)
    limits = [(5.0, 1), (1.0, 1), (2.0, 4), (0.25, 30), (1 / 3, 3)]  # 1/3 s: not whole µs
    last_token: dict[str, str] = {}
    try:
        for step in range(20_000):
            interval, burst = limits[rng.randrange(len(limits))]
            key = f"k{interval}:{burst}:{rng.randrange(300)}"
            token = last_token.get(key, "") if rng.random() < 0.1 else str(10**17 + step)
            last_token[key] = token
            expected = await memory.admit(key, interval, burst, token)
            answer = await shared.admit(key, interval, burst, token)
            assert answer == pytest.approx(expected, abs=1e-5), step  # TATs kept in µs
            clock.now += rng.choice([0.0, 0.001, 0.01, 0.2])
        assert shared.evicted == 0
        assert 0 < shared.live() <= 1200  # at most one per key
    finally:
        await shared.close()


async def test_shared_store_is_bounded_and_reuses_freed_slots(tmp_path: Path) -> None:
    clock = Clock()
    store = SharedThrottleStore(tmp_path / "throttle.table", slots=1024, clock=clock)
    size = store.path.stat().st_size
    try:
        for user in range(3000):  # three times the slots, all live: the table overflows
            assert await store.admit(f"cd:x:{user}", 60.0 + user / 1000, 1) == 0
        assert store.live() == 1024
        assert store.evicted >= 3000 - 1024
        # An overwritten key is let through early; a remembered one is still refused. The
        # limits that free up first went first: later members (longer limits) are remembered.
        refused = [await store.admit(f"cd:x:{user}", 60.0, 1) > 0 for user in range(3000)]
        assert 0 < sum(refused) < 3000
        assert sum(refused[2000:]) > 2 * sum(refused[:1000])
        clock.now += 120.0  # every limit has freed up: their slots are reused, none evicted
        evicted = store.evicted
        for user in range(5000, 5400):
            assert await store.admit(f"cd:y:{user}", 1.0, 1) == 0
        assert store.evicted == evicted
        assert store.live() == 400
        assert store.path.stat().st_size == size  # fixed when made
    finally:
        await store.close()


async def test_shared_store_starts_empty_with_another_layout(tmp_path: Path) -> None:
    path = tmp_path / "throttle.table"
    first = SharedThrottleStore(path, slots=1024)
    assert await first.admit("cd:chart:1", 600.0, 1) == 0
    await first.close()
    again = SharedThrottleStore(path, slots=1024)  # same layout: the limit is still there
    assert await again.admit("cd:chart:1", 600.0, 1) > 0
    await again.close()
    resized = SharedThrottleStore(path, slots=2048)
    try:
        assert await resized.admit("cd:chart:1", 600.0, 1) == 0
        assert path.read_bytes()[:8] == b"CITHROT1"
        assert path.stat().st_size == 16 + 2048 * 24
    finally:
        await resized.close()


async def test_shared_store_fails_open(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = SharedThrottleStore(tmp_path / "throttle.table", slots=1024)

    def broken_lock() -> None:
        raise OSError(5, "Input/output error")

    try:
        assert await store.admit("cd:chart:1", 600.0, 1) == 0
        store._file.lock = broken_lock  # type: ignore[method-assign]
        with caplog.at_level(logging.WARNING, "catalyst_interactions.throttle"):
            assert await store.admit("cd:chart:1", 600.0, 1) == 0
        assert "throttle store unavailable (OSError)" in caplog.text
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


async def test_shared_store_passes_an_interaction_again(tmp_path: Path) -> None:
    store = SharedThrottleStore(tmp_path / "throttle.table")
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
