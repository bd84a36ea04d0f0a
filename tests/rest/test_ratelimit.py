"""Rate limits end to end: 429s honoured, buckets waited for, limits shared through Redis."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from redis.asyncio import Redis

from catalyst_interactions.discord.rest import DiscordRest, MemoryRateLimitStore
from catalyst_interactions.discord.rest.redis_ratelimit import RedisRateLimitStore
from fakes.fake_discord import FakeDiscord, Reply

from .conftest import REDIS_URL, TOKEN, MakeRest, RecordingMetrics

pytestmark = pytest.mark.loopback

CHANNEL = "1200000000000000007"
MESSAGE = "1210000000000000001"
EDIT_CHANNEL = "PATCH /channels/{channel_id}/messages/{message_id}"


def too_many(retry_after: float, *, scope: str = "user", is_global: bool = False) -> Reply:
    headers = {"X-RateLimit-Scope": scope, "Retry-After": str(int(retry_after) + 1)}
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": is_global,
    }
    return Reply(429, body, headers)


def gaps(fake: FakeDiscord, route: str) -> list[float]:
    times = [r.at for r in fake.requests_for(route)]
    return [b - a for a, b in itertools.pairwise(times)]


async def seed_channel_message(fake: FakeDiscord) -> None:
    fake.channel_messages[MESSAGE] = {"id": MESSAGE, "content": "", "attachments": []}


async def test_429_retry_after_from_body_is_honoured(
    make_rest: MakeRest, fake: FakeDiscord
) -> None:
    metrics = RecordingMetrics()
    rest = make_rest(metrics=metrics)
    fake.enqueue("edit_original", too_many(0.2), too_many(0.2))
    message = await rest.edit_original(TOKEN, {"content": "after the wait"})
    assert message["content"] == "after the wait"
    assert len(fake.requests_for("edit_original")) == 3
    # The body's 0.2 s wins over the coarser Retry-After header (1 s).
    assert all(0.2 <= gap < 0.9 for gap in gaps(fake, "edit_original"))
    route = "PATCH /webhooks/{application_id}/{token}/messages/@original"
    assert metrics.limited == [(route, "user"), (route, "user")]


async def test_429_retry_after_header_with_a_non_json_body(
    rest: DiscordRest, fake: FakeDiscord
) -> None:
    # Cloudflare-style: HTML body, only the Retry-After header says how long.
    fake.enqueue("get_application", Reply(429, b"<html>slow down</html>", {"Retry-After": "0.25"}))
    await rest.get_application()
    (gap,) = gaps(fake, "get_application")
    assert gap >= 0.25


async def test_exhausted_bucket_waits_for_reset_after(rest: DiscordRest, fake: FakeDiscord) -> None:
    await seed_channel_message(fake)
    exhausted = {
        "X-RateLimit-Limit": "1",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset-After": "0.3",
        "X-RateLimit-Bucket": "edit-bucket",
    }
    fake.enqueue("edit_channel_message", Reply(headers=exhausted))
    await rest.edit_channel_message(CHANNEL, MESSAGE, {"content": "1"})
    # Another channel is another bucket (major parameter): no wait.
    other = "1200000000000000008"
    fake.channel_messages["1210000000000000002"] = {"id": "1210000000000000002"}
    started = time.monotonic()
    await rest.edit_channel_message(other, "1210000000000000002", {"content": "other"})
    assert time.monotonic() - started < 0.2
    await rest.edit_channel_message(CHANNEL, MESSAGE, {"content": "2"})
    same_channel = [r.at for r in fake.requests_for("edit_channel_message") if CHANNEL in r.path]
    assert same_channel[1] - same_channel[0] >= 0.3
    assert fake.sent_429 == 0


class SpyStore(MemoryRateLimitStore):
    def __init__(self) -> None:
        super().__init__()
        self.global_blocked = asyncio.Event()

    async def block_global(self, retry_after: float) -> None:
        await super().block_global(retry_after)
        self.global_blocked.set()


async def test_global_429_pauses_bot_routes_only(make_rest: MakeRest, fake: FakeDiscord) -> None:
    store = SpyStore()
    rest = make_rest(ratelimits=store)
    fake.enqueue("get_application", too_many(0.3, scope="global", is_global=True))
    first = asyncio.create_task(rest.get_application())
    await store.global_blocked.wait()
    blocked_at = time.monotonic()
    await rest.edit_original(TOKEN, {"content": "interaction routes are exempt"})
    assert time.monotonic() - blocked_at < 0.2
    await rest.get_commands()  # another bot route, another bucket: still paused
    await first
    (limited,) = [r for r in fake.requests if r.route == "get_application"][:1]
    (commands,) = fake.requests_for("get_global_commands")
    assert commands.at - limited.at >= 0.3


async def test_learned_bucket_prevents_429s(rest: DiscordRest, fake: FakeDiscord) -> None:
    await seed_channel_message(fake)
    fake.rate_limit("edit_channel_message", limit=2, window_s=0.25)
    await rest.edit_channel_message(CHANNEL, MESSAGE, {"content": "warm-up"})
    started = time.monotonic()
    await asyncio.gather(
        *(rest.edit_channel_message(CHANNEL, MESSAGE, {"content": str(i)}) for i in range(5))
    )
    # 6 requests at 2 per window need at least 2 more windows after the first.
    assert time.monotonic() - started >= 0.25
    assert fake.sent_429 == 0


@pytest.mark.redis
async def test_redis_store_is_shared_by_two_clients(
    make_rest: MakeRest, fake: FakeDiscord, redis_prefix: str
) -> None:
    await seed_channel_message(fake)
    fake.rate_limit("edit_channel_message", limit=2, window_s=0.25)
    stores = [RedisRateLimitStore.from_url(REDIS_URL, prefix=redis_prefix) for _ in range(2)]
    try:
        first, second = (make_rest(ratelimits=s) for s in stores)
        await first.edit_channel_message(CHANNEL, MESSAGE, {"content": "warm-up"})
        await second.edit_channel_message(CHANNEL, MESSAGE, {"content": "warm-up"})
        await asyncio.gather(
            *(
                (first, second)[i % 2].edit_channel_message(CHANNEL, MESSAGE, {"content": str(i)})
                for i in range(6)
            )
        )
        assert len(fake.requests_for("edit_channel_message")) == 8
        assert fake.sent_429 == 0
    finally:
        for store in stores:
            await store.aclose()


async def test_separate_memory_stores_do_collide(make_rest: MakeRest, fake: FakeDiscord) -> None:
    """The contrast to the Redis test: two processes with private state cause 429s."""
    await seed_channel_message(fake)
    fake.rate_limit("edit_channel_message", limit=2, window_s=0.25)
    first, second = make_rest(), make_rest()
    await first.edit_channel_message(CHANNEL, MESSAGE, {"content": "warm-up"})
    await second.edit_channel_message(CHANNEL, MESSAGE, {"content": "warm-up"})
    await asyncio.gather(
        *(
            (first, second)[i % 2].edit_channel_message(CHANNEL, MESSAGE, {"content": str(i)})
            for i in range(6)
        )
    )
    assert fake.sent_429 > 0


@pytest.mark.redis
async def test_redis_keys_hold_no_token(
    make_rest: MakeRest, fake: FakeDiscord, redis_prefix: str
) -> None:
    store = RedisRateLimitStore.from_url(REDIS_URL, prefix=redis_prefix)
    try:
        rest = make_rest(ratelimits=store)
        fake.rate_limit("edit_original", limit=5, window_s=1)
        fake.enqueue("edit_original", too_many(0.05))
        await rest.edit_original(TOKEN, {"content": "x"})
    finally:
        await store.aclose()
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = [key async for key in client.scan_iter(match=f"{{{redis_prefix}}}*")]
        assert any(":b:" in key for key in keys)  # the bucket really was stored
        dump = " ".join(keys)
        for key in keys:
            if await client.type(key) == "hash":
                dump += " ".join(f"{k}={v}" for k, v in (await client.hgetall(key)).items())
    finally:
        await client.aclose()
    assert TOKEN not in dump
