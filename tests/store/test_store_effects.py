"""Exactly-once units of work (store/effects.py) and migration 0002, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from catalyst_interactions.store import (
    Conflict,
    InvalidParameterValue,
    ParameterType,
    Store,
    migrate,
    normalize_url,
)


async def test_a_unit_commits_its_changes_and_answer_once(store: Store) -> None:
    await store.parameters.define("p", ParameterType.INT, 1, minimum=0, maximum=10)
    async with store.effects.once("1001", "set") as effect:
        assert not effect.repeated
        await store.parameters.set("p", 2, "a", interaction_id="1001")
        await store.audit.record("a", "parameter.set", interaction_id="1001")
        effect.outcome = {"content": "set to 2"}
    async with store.effects.once("1001", "set") as effect:
        assert effect.repeated and effect.previous == {"content": "set to 2"}
    assert (await store.parameters.get("p")).value == 2
    assert len(await store.parameters.history()) == 1
    assert await store.effects.count() == 1


async def test_a_failed_unit_leaves_nothing_not_even_its_claim(store: Store) -> None:
    await store.parameters.define("p", ParameterType.INT, 1, minimum=0, maximum=10)

    async def failing_handler() -> None:
        async with store.effects.once("1002", "set"):
            await store.parameters.set("p", 3, "a", interaction_id="1002")
            raise RuntimeError("the handler failed after its change")

    with pytest.raises(RuntimeError):
        await failing_handler()
    assert (await store.parameters.get("p")).value == 1
    assert await store.effects.count() == 0
    async with store.effects.once("1002", "set") as effect:  # may be decided afresh
        assert not effect.repeated


async def test_a_refused_step_undoes_only_itself(store: Store) -> None:
    await store.parameters.define("p", ParameterType.INT, 1, minimum=0, maximum=10)
    await store.parameters.define("q", ParameterType.INT, 1, minimum=0, maximum=10)
    async with store.effects.once("1003", "approve") as effect:
        await store.parameters.set("p", 5, "a", interaction_id="1003")
        with pytest.raises(InvalidParameterValue):
            await store.parameters.set("q", 99, "a", interaction_id="1003")
        effect.outcome = {"content": "partly"}
    assert [(await store.parameters.get(n)).value for n in ("p", "q")] == [5, 1]


async def test_concurrent_runs_of_one_interaction_commit_once(store: Store) -> None:
    await store.parameters.define("n", ParameterType.INT, 0, minimum=0, maximum=1000)
    started = asyncio.Event()

    async def run(name: str) -> str:
        async with store.effects.once("1004", "bump") as effect:
            if effect.repeated:
                return f"{name}: again {effect.previous}"
            started.set()
            await asyncio.sleep(0.2)  # the other run arrives while this one holds the claim
            current = (await store.parameters.get("n")).value
            assert isinstance(current, int)
            await store.parameters.set("n", current + 1, name, interaction_id="1004")
            effect.outcome = {"by": name}
            return f"{name}: first"

    async def second() -> str:
        await started.wait()
        return await run("second")

    answers = await asyncio.gather(run("first"), second())
    assert answers == ["first: first", "second: again {'by': 'first'}"]
    assert (await store.parameters.get("n")).value == 1


async def test_audit_and_history_are_unique_per_interaction(store: Store) -> None:
    first = await store.audit.record("a", "report.reject", target="r", interaction_id="1005")
    again = await store.audit.record("a", "report.reject", target="r", interaction_id="1005")
    assert again.id == first.id
    assert len(await store.audit.list()) == 1
    await store.parameters.define("p", ParameterType.INT, 1, minimum=0, maximum=10)
    await store.parameters.set("p", 2, "a", interaction_id="1006")
    with pytest.raises(Conflict):
        await store.parameters.set("p", 3, "a", interaction_id="1006")


async def test_migration_0002_keeps_existing_rows(empty_url: str) -> None:
    await migrate(empty_url, "0001")
    engine = create_async_engine(normalize_url(empty_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor_id, action, target, allowed, detail) "
                    "VALUES (CURRENT_TIMESTAMP, '7', 'report.approve', 'r1', true, '{}')"
                )
            )
    finally:
        await engine.dispose()
    await migrate(empty_url)
    store = Store(empty_url)
    try:
        [old] = await store.audit.list()
        assert (old.actor_id, old.action, old.target) == ("7", "report.approve", "r1")
        # Rows from before the migration have no interaction id: several may share NULL.
        await store.audit.record("7", "report.approve", target="r2")
        assert len(await store.audit.list()) == 2
        async with store.effects.once("1007", "x") as effect:
            assert not effect.repeated
    finally:
        await store.close()
