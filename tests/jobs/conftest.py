"""Queue fixtures: every contract test runs against SQLite and against real Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis

from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.jobs import Job, JobQueue, SqliteJobQueue
from catalyst_interactions.jobs.redis_queue import RedisJobQueue

REDIS_URL = "redis://127.0.0.1:6379/0"
# Long enough that a test passing on time proves the wake-up, not the fallback poll.
SLOW_POLL_S = 30.0

MakeQueue = Callable[..., JobQueue]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def make_queue(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeQueue]:
    """Makes queue objects sharing one store (as separate processes would)."""
    made: list[JobQueue] = []
    prefix = f"test:jobs:{uuid.uuid4().hex}"

    def make(**options: Any) -> JobQueue:
        options.setdefault("poll_interval_s", SLOW_POLL_S)
        queue: JobQueue
        if request.param == "sqlite":
            queue = SqliteJobQueue(tmp_path / "queue.db", **options)
        else:
            queue = RedisJobQueue(redis.Redis.from_url(REDIS_URL), prefix=prefix, **options)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        await queue.close()
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def queue(make_queue: MakeQueue) -> JobQueue:
    return make_queue()


MakeJob = Callable[..., Job]


@pytest.fixture
def make_job() -> MakeJob:
    """Makes jobs for fresh interactions (distinct ids, a token in the body)."""
    increments = count()

    def make(handler: str = "chart", *, age_s: float = 0.0, ack_type: int = 5) -> Job:
        now = time.time()
        interaction_id = make_snowflake(int((now - age_s) * 1000), next(increments))
        body = b'{"id":"%s","type":2,"token":"tok-secret-%s"}' % (
            interaction_id.encode(),
            interaction_id.encode(),
        )
        return Job.for_interaction(interaction_id, handler, body, ack_type=ack_type, now=now)

    return make
