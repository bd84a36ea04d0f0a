"""One contract suite run against every RateLimitStore backend (memory and Redis)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import pytest

from catalyst_interactions.discord.rest import (
    MemoryRateLimitStore,
    RateLimitHeaders,
    RateLimitStore,
)
from catalyst_interactions.discord.rest.redis_ratelimit import RedisRateLimitStore

from .conftest import REDIS_URL

ROUTE = "PATCH /channels/{channel_id}/messages/{message_id}"
OTHER_ROUTE = "POST /channels/{channel_id}/messages"


def headers(
    limit: int, remaining: int, reset_after: float, bucket: str | None = "h1"
) -> RateLimitHeaders:
    return RateLimitHeaders(bucket, limit, remaining, reset_after)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RateLimitStore]:
    if request.param == "memory":
        made: RateLimitStore = MemoryRateLimitStore(global_per_second=3)
    else:  # only Redis runs need (and clean up) a key prefix
        prefix = request.getfixturevalue("redis_prefix")
        made = RedisRateLimitStore.from_url(REDIS_URL, prefix=prefix, global_per_second=3)
    yield made
    await made.aclose()


async def test_unknown_route_goes(store: RateLimitStore) -> None:
    assert await store.acquire(ROUTE, "1", global_limited=False) == 0.0


async def test_exhausted_bucket_waits_until_reset_then_refills(store: RateLimitStore) -> None:
    await store.record(ROUTE, "1", headers(limit=2, remaining=1, reset_after=0.3))
    assert await store.acquire(ROUTE, "1", global_limited=False) == 0.0
    wait = await store.acquire(ROUTE, "1", global_limited=False)
    assert 0.2 < wait <= 0.3
    await asyncio.sleep(wait)
    # A new window of the last seen length: `limit` slots again.
    assert await store.acquire(ROUTE, "1", global_limited=False) == 0.0
    assert await store.acquire(ROUTE, "1", global_limited=False) == 0.0
    assert await store.acquire(ROUTE, "1", global_limited=False) > 0.2


async def test_major_parameters_are_separate_buckets(store: RateLimitStore) -> None:
    await store.record(ROUTE, "1", headers(limit=1, remaining=0, reset_after=5))
    assert await store.acquire(ROUTE, "1", global_limited=False) > 4
    assert await store.acquire(ROUTE, "2", global_limited=False) == 0.0


async def test_routes_with_the_same_bucket_hash_share_it(store: RateLimitStore) -> None:
    await store.record(ROUTE, "1", headers(limit=3, remaining=1, reset_after=5, bucket="shared"))
    await store.record(
        OTHER_ROUTE, "1", headers(limit=3, remaining=1, reset_after=5, bucket="shared")
    )
    assert await store.acquire(ROUTE, "1", global_limited=False) == 0.0
    assert await store.acquire(OTHER_ROUTE, "1", global_limited=False) > 4


async def test_late_response_cannot_raise_remaining(store: RateLimitStore) -> None:
    await store.record(ROUTE, "1", headers(limit=5, remaining=0, reset_after=5))
    await store.record(ROUTE, "1", headers(limit=5, remaining=4, reset_after=4.9))
    assert await store.acquire(ROUTE, "1", global_limited=False) > 4


async def test_block_after_429(store: RateLimitStore) -> None:
    await store.block(ROUTE, "1", 0.5, "h9")
    assert 0.4 < await store.acquire(ROUTE, "1", global_limited=False) <= 0.5
    assert await store.acquire(ROUTE, "2", global_limited=False) == 0.0


async def test_global_block_spares_interaction_routes(store: RateLimitStore) -> None:
    await store.block_global(0.5)
    assert 0.4 < await store.acquire(ROUTE, "1", global_limited=True) <= 0.5
    assert (
        await store.acquire(
            "PATCH /webhooks/{application_id}/{token}/messages/@original", "x", global_limited=False
        )
        == 0.0
    )


async def test_global_per_second_limit(store: RateLimitStore) -> None:
    # global_per_second=3; the window is the wall-clock second, so the run may straddle one.
    granted = 0
    wait = 0.0
    for _ in range(10):
        wait = await store.acquire(ROUTE, str(granted), global_limited=True)
        if wait > 0:
            break
        granted += 1
    assert 3 <= granted <= 6
    assert 0 < wait <= 1.0


async def test_concurrent_acquires_take_exactly_the_remaining(store: RateLimitStore) -> None:
    await store.record(ROUTE, "1", headers(limit=5, remaining=5, reset_after=2))
    waits = await asyncio.gather(
        *(store.acquire(ROUTE, "1", global_limited=False) for _ in range(20))
    )
    assert sum(1 for w in waits if w == 0.0) == 5


async def test_memory_global_window_with_a_controlled_clock() -> None:
    now = [100.25]
    store = MemoryRateLimitStore(global_per_second=2, clock=lambda: now[0])
    assert await store.acquire(ROUTE, "1", global_limited=True) == 0.0
    assert await store.acquire(ROUTE, "2", global_limited=True) == 0.0
    assert await store.acquire(ROUTE, "3", global_limited=True) == pytest.approx(0.75)
    assert await store.acquire(ROUTE, "3", global_limited=False) == 0.0
    now[0] = 101.0
    assert await store.acquire(ROUTE, "3", global_limited=True) == 0.0


@pytest.mark.redis
async def test_two_redis_stores_share_one_bucket(redis_prefix: str) -> None:
    first = RedisRateLimitStore.from_url(REDIS_URL, prefix=redis_prefix)
    second = RedisRateLimitStore.from_url(REDIS_URL, prefix=redis_prefix)
    try:
        await first.record(ROUTE, "1", headers(limit=6, remaining=6, reset_after=2))
        waits = await asyncio.gather(
            *(
                (first if i % 2 else second).acquire(ROUTE, "1", global_limited=False)
                for i in range(30)
            )
        )
        assert sum(1 for w in waits if w == 0.0) == 6
    finally:
        await first.aclose()
        await second.aclose()


def test_redis_prefix_is_validated() -> None:
    with pytest.raises(ValueError, match="prefix"):
        RedisRateLimitStore.from_url(REDIS_URL, prefix="bad{tag}")


async def test_redis_down_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = RedisRateLimitStore.from_url(f"redis://127.0.0.1:{port}/0", prefix="down")
    try:
        await store.record(ROUTE, "1", headers(limit=1, remaining=0, reset_after=5))
        await store.block_global(5)
        assert await store.acquire(ROUTE, "1", global_limited=True) == 0.0
    finally:
        await store.aclose()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # one warning per outage, not per call
    assert "unavailable" in warnings[0].getMessage()
