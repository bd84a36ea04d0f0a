"""Redis backend specifics: dedupe marker lifetime, key hygiene, unreachable server."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as redis

from catalyst_interactions.discord.snowflake import INTERACTION_TOKEN_LIFETIME_S
from catalyst_interactions.jobs import Job, QueueUnavailable
from catalyst_interactions.jobs.redis_queue import RedisJobQueue

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/0"
MakeJob = Callable[..., Job]


@pytest.fixture
async def client() -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(client: redis.Redis) -> AsyncIterator[str]:
    prefix = f"test:jobs:{uuid.uuid4().hex}"
    yield prefix
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)


async def test_dedupe_marker_outlives_the_token(
    client: redis.Redis, prefix: str, make_job: MakeJob
) -> None:
    queue = RedisJobQueue(redis.Redis.from_url(REDIS_URL), prefix=prefix)
    job = make_job()
    await queue.enqueue(job)
    claimed = await queue.claim("w", 30, 1)
    assert claimed is not None
    await queue.ack(claimed)
    ttl = await client.ttl(f"{prefix}:seen:{job.id}")
    remaining_token_life = job.deadline - time.time()
    assert ttl > remaining_token_life
    assert ttl >= INTERACTION_TOKEN_LIFETIME_S
    # A finished job leaves only that marker (and the shared bookkeeping) behind.
    assert not await client.exists(f"{prefix}:job:{job.id}")
    assert await client.xlen(f"{prefix}:stream") == 0
    await queue.close()


async def test_unreachable_redis_is_unavailable() -> None:
    queue = RedisJobQueue.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(QueueUnavailable):
        await queue.ping()
    await queue.close()
