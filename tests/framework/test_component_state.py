from __future__ import annotations

import uuid

import pytest

from catalyst_interactions.framework.component_state import (
    ComponentStateStore,
    MemoryStateBackend,
    RedisStateBackend,
    StateExpired,
    StateForged,
)

SECRET = b"s" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_round_trip_fits_a_custom_id_and_survives_a_new_store_object() -> None:
    backend = MemoryStateBackend()
    state = {"report": "r-42", "params": {"min_score": 0.7, "tickers": ["AAPL"] * 20}}
    sid = await ComponentStateStore(backend, SECRET).save(state)
    assert len(f"admin:v1:{sid}") <= 100
    # A restart builds a new store object: only the backend and the secret carry over.
    assert await ComponentStateStore(backend, SECRET).load(sid) == state


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # mac changed
        lambda s: s.split(".")[0] + ".ffffffff." + s.split(".")[2],  # expiry extended
        lambda s: ("y" if s[0] == "x" else "x") + s[1:],  # key changed (always a change)
        lambda s: s.replace(".", ""),  # shape broken
    ],
)
async def test_forged_or_tampered_ids_are_refused(mutate) -> None:
    store = ComponentStateStore(MemoryStateBackend(), SECRET)
    sid = await store.save({"a": 1})
    with pytest.raises(StateForged, match="not valid"):
        await store.load(mutate(sid))


async def test_other_secret_is_refused() -> None:
    backend = MemoryStateBackend()
    sid = await ComponentStateStore(backend, SECRET).save({"a": 1})
    with pytest.raises(StateForged):
        await ComponentStateStore(backend, b"t" * 32).load(sid)


async def test_expired_ids_are_refused_with_a_clear_message() -> None:
    clock = Clock()
    store = ComponentStateStore(MemoryStateBackend(clock), SECRET, clock=clock)
    sid = await store.save({"a": 1}, ttl_s=60)
    clock.now += 59
    assert await store.load(sid) == {"a": 1}
    clock.now += 2
    with pytest.raises(StateExpired, match="expired"):
        await store.load(sid)


@pytest.mark.redis
async def test_redis_backend_for_real() -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"test:state:{uuid.uuid4().hex}:"
    try:
        store = ComponentStateStore(RedisStateBackend(redis, prefix=prefix), SECRET)
        sid = await store.save({"ticker": "AAPL"}, ttl_s=30)
        assert await store.load(sid) == {"ticker": "AAPL"}
        key = prefix + sid.split(".")[0]
        assert 0 < await redis.ttl(key) <= 30
        await redis.delete(key)  # evicted / expired in storage
        with pytest.raises(StateExpired):
            await store.load(sid)
    finally:
        keys = [k async for k in redis.scan_iter(prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
