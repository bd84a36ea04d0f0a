from __future__ import annotations

import re
from datetime import timedelta

import pytest
from store_support import FakeClock

from catalyst_interactions.store import InvalidValue, JSONObject, Store


async def test_audit_records_and_filters(store: Store, clock: FakeClock) -> None:
    first = await store.audit.record(
        "42", "admin.approve", target="report:r1", detail={"changes": {"MIN_SCORE": 0.3}}
    )
    clock.advance(minutes=1)
    refused = await store.audit.record("7", "admin.approve", target="report:r1", allowed=False)
    clock.advance(minutes=1)
    await store.audit.record("42", "parameter.rollback", target="MIN_SCORE")

    assert (first.actor_id, first.allowed, first.at) == (
        "42",
        True,
        clock.now - timedelta(minutes=2),
    )
    assert first.detail == {"changes": {"MIN_SCORE": 0.3}}
    assert refused.detail == {}

    everything = await store.audit.list()
    assert [e.action for e in everything] == [
        "parameter.rollback",
        "admin.approve",
        "admin.approve",
    ]
    assert everything[1] == refused
    assert [e.id for e in await store.audit.list(actor_id="42")] == [everything[0].id, first.id]
    assert [e.allowed for e in await store.audit.list(action="admin.approve")] == [False, True]
    since = await store.audit.list(since=clock.now - timedelta(minutes=1))
    assert [e.action for e in since] == ["parameter.rollback", "admin.approve"]
    assert len(await store.audit.list(limit=1)) == 1


async def test_component_state_round_trip_and_expiry(store: Store, clock: FakeClock) -> None:
    state: JSONObject = {
        "ticker": "AAPL",
        "timeframe": "1D",
        "indicators": ["vwap", "rsi"],
        "page": 2,
    }
    short_id = await store.component_state.put(state, ttl=timedelta(minutes=15))
    assert re.fullmatch(r"[A-Za-z0-9_-]{12}", short_id)
    assert await store.component_state.get(short_id) == state

    clock.advance(minutes=14, seconds=59)
    assert await store.component_state.get(short_id) == state
    clock.advance(seconds=1)  # expires_at is exclusive
    assert await store.component_state.get(short_id) is None
    assert await store.component_state.get("unknown") is None


async def test_component_state_purge_removes_only_expired(store: Store, clock: FakeClock) -> None:
    short = await store.component_state.put({"n": 1}, ttl=timedelta(minutes=1))
    long = await store.component_state.put({"n": 2}, ttl=timedelta(hours=1))
    assert short != long
    clock.advance(minutes=2)
    assert await store.component_state.purge_expired() == 1
    assert await store.component_state.purge_expired() == 0
    assert await store.component_state.get(long) == {"n": 2}
    with pytest.raises(InvalidValue):
        await store.component_state.put({}, ttl=timedelta(0))


async def test_audit_counts_since_split_allowed_and_refused(store: Store, clock: FakeClock) -> None:
    await store.audit.record("42", "admin.approve")
    clock.advance(days=8)
    start = clock.now
    for _ in range(3):
        await store.audit.record("7", "admin.set", allowed=False)
    await store.audit.record("42", "parameter.rollback")
    assert await store.audit.counts_since(start) == (1, 3)
    assert await store.audit.counts_since(start - timedelta(days=9)) == (2, 3)
    assert await store.audit.counts_since(clock.now + timedelta(seconds=1)) == (0, 0)
