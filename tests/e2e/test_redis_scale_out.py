"""The scale-out configuration for real: Redis queue, shared rate limits, ledger, cooldowns."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from fakes.fake_discord import FakeDiscord, Reply
from support.signing import command, component

from .test_deferred_flow import calls, registry, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.loopback]
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> Iterator[str]:
    value = f"test-e2e-{uuid.uuid4().hex}"
    yield value

    async def cleanup() -> None:
        from redis.asyncio import Redis

        redis = Redis.from_url(REDIS)
        keys = [k async for k in redis.scan_iter(f"{value}*")]
        keys += [k async for k in redis.scan_iter("catalyst:ledger:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()

    asyncio.run(cleanup())


def test_two_edges_one_redis_queue_one_job(
    start_hybrid, fake_discord: FakeDiscord, prefix: str
) -> None:
    calls.clear()
    url = f"{REDIS}?prefix={prefix}"
    first = start_hybrid(registry(), queue_url=url, redis_url=REDIS)
    second = start_hybrid(registry(), queue_url=url, redis_url=REDIS)
    payload = command("render", [{"name": "ticker", "type": 3, "value": "META"}])
    assert first.send(payload).json() == {"type": 5}
    assert second.send(payload).status_code == 409
    fake_discord.wait_for_requests(1, "edit_original")
    assert calls == ["META"]


def test_deferred_component_with_retry_on_redis(
    start_hybrid, fake_discord: FakeDiscord, prefix: str
) -> None:
    fake_discord.enqueue("edit_original", Reply(503, {"message": "unavailable"}))
    hybrid = start_hybrid(registry(), queue_url=f"{REDIS}?prefix={prefix}", redis_url=REDIS)
    assert hybrid.send(component("tf:AMZN:3M")).json() == {"type": 6}
    fake_discord.wait_for_requests(2, "edit_original")
    assert fake_discord.requests_for("edit_original")[1].json["content"] == "AMZN 3M"

    async def idle() -> bool:
        # A queue object of our own: the server's is bound to the server's event loop.
        from catalyst_interactions.jobs import open_queue

        queue = open_queue(f"{REDIS}?prefix={prefix}", data_dir=hybrid.runtime.settings.data_dir)
        try:
            return not (await queue.list("pending", 5) or await queue.list("running", 5))
        finally:
            await queue.close()

    wait_until(lambda: asyncio.run(idle()))


def test_inline_replay_to_another_edge_is_refused_through_redis(
    start_hybrid, fake_discord: FakeDiscord, prefix: str
) -> None:
    # An inline answer never reaches the queue, so only the shared replay memory can tell the
    # second replica that this id was already answered.
    url = f"{REDIS}?prefix={prefix}"
    first = start_hybrid(registry(), queue_url=url, redis_url=REDIS)
    second = start_hybrid(registry(), queue_url=url, redis_url=REDIS)
    payload = command("auto", [{"name": "delay", "type": 10, "value": 0.0}])
    assert first.send(payload).json()["data"]["content"] == "slept 0.0"
    replayed = second.send(payload)
    assert replayed.status_code == 409
    assert replayed.json() == {"error": "interaction already received"}
