from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from store_support import FakeClock

from catalyst_interactions.store import (
    AlreadyRolledBack,
    ChangeNotFound,
    ChangeSuperseded,
    InvalidParameterValue,
    InvalidValue,
    ParameterType,
    Store,
    UnknownParameter,
)

ADMIN = "111111111111111111"


async def define_min_score(store: Store) -> None:
    await store.parameters.define("MIN_SCORE", ParameterType.FLOAT, 0.25, minimum=0.0, maximum=1.0)


async def test_define_seeds_once_and_get_all(store: Store, clock: FakeClock) -> None:
    created = await store.parameters.define("MAX_ALERTS_PER_HOUR", ParameterType.INT, 20)
    assert (created.value, created.type, created.updated_by) == (20, ParameterType.INT, "system")
    assert created.updated_at == clock.now
    await store.parameters.set("MAX_ALERTS_PER_HOUR", 30, ADMIN)
    # A restart defines again: the approved value must survive.
    again = await store.parameters.define("MAX_ALERTS_PER_HOUR", ParameterType.INT, 20)
    assert again.value == 30
    await define_min_score(store)
    assert [p.name for p in await store.parameters.all()] == ["MAX_ALERTS_PER_HOUR", "MIN_SCORE"]
    with pytest.raises(UnknownParameter):
        await store.parameters.get("NOPE")


INVALID_DEFAULTS: list[tuple[ParameterType, object, float | None, float | None]] = [
    (ParameterType.INT, True, None, None),  # bool is not an int here
    (ParameterType.INT, 1.5, None, None),
    (ParameterType.FLOAT, "0.3", None, None),
    (ParameterType.FLOAT, float("nan"), None, None),
    (ParameterType.BOOL, 1, None, None),
    (ParameterType.STR, 3, None, None),
    (ParameterType.INT, 11, 0, 10),
    (ParameterType.FLOAT, -0.1, 0.0, 1.0),
]


async def test_define_validates_default(store: Store) -> None:
    for kind, value, minimum, maximum in INVALID_DEFAULTS:
        with pytest.raises(InvalidParameterValue):
            await store.parameters.define(
                "P",
                kind,
                value,  # type: ignore[arg-type]
                minimum=minimum,
                maximum=maximum,
            )
    assert await store.parameters.all() == []


async def test_define_rejects_inconsistent_bounds(store: Store) -> None:
    with pytest.raises(InvalidValue):
        await store.parameters.define("P", ParameterType.INT, 1, minimum=5, maximum=1)
    with pytest.raises(InvalidValue):
        await store.parameters.define("P", ParameterType.STR, "x", minimum=0)


async def test_set_updates_value_and_records_history(store: Store, clock: FakeClock) -> None:
    await define_min_score(store)
    clock.advance(hours=1)
    change = await store.parameters.set(
        "MIN_SCORE", 0.3, ADMIN, report_id="report-2024-03-04", reason="win rate below 55%"
    )
    assert (change.parameter, change.old_value, change.new_value) == ("MIN_SCORE", 0.25, 0.3)
    assert (change.changed_by, change.changed_at) == (ADMIN, clock.now)
    assert (change.report_id, change.reason) == ("report-2024-03-04", "win rate below 55%")
    assert (change.rolled_back, change.rollback_of) == (False, None)

    param = await store.parameters.get("MIN_SCORE")
    assert (param.value, param.updated_by, param.updated_at) == (0.3, ADMIN, clock.now)
    assert await store.parameters.history("MIN_SCORE") == [change]


async def test_set_coerces_int_to_float_and_checks_bounds(store: Store) -> None:
    await define_min_score(store)
    change = await store.parameters.set("MIN_SCORE", 1, ADMIN)
    assert change.new_value == 1.0
    assert isinstance((await store.parameters.get("MIN_SCORE")).value, float)
    with pytest.raises(InvalidParameterValue):
        await store.parameters.set("MIN_SCORE", 1.01, ADMIN)
    with pytest.raises(InvalidParameterValue):
        await store.parameters.set("MIN_SCORE", "high", ADMIN)
    with pytest.raises(UnknownParameter):
        await store.parameters.set("MISSING", 1, ADMIN)
    assert len(await store.parameters.history("MIN_SCORE")) == 1


async def test_history_is_newest_first_and_filterable(store: Store) -> None:
    await define_min_score(store)
    await store.parameters.define("USE_LLM", ParameterType.BOOL, False)
    a = await store.parameters.set("MIN_SCORE", 0.3, ADMIN)
    b = await store.parameters.set("USE_LLM", True, ADMIN)
    c = await store.parameters.set("MIN_SCORE", 0.35, ADMIN)
    assert [h.id for h in await store.parameters.history()] == [c.id, b.id, a.id]
    assert [h.id for h in await store.parameters.history("MIN_SCORE")] == [c.id, a.id]
    assert [h.id for h in await store.parameters.history(limit=1)] == [c.id]


async def test_rollback_restores_and_records(store: Store, clock: FakeClock) -> None:
    await define_min_score(store)
    change = await store.parameters.set("MIN_SCORE", 0.4, ADMIN)
    clock.advance(minutes=5)
    undo = await store.parameters.rollback(change.id, "222")

    assert (undo.old_value, undo.new_value, undo.rollback_of) == (0.4, 0.25, change.id)
    assert (undo.changed_by, undo.changed_at, undo.rolled_back) == ("222", clock.now, False)
    assert undo.reason == f"rollback of change #{change.id}"
    assert (await store.parameters.get("MIN_SCORE")).value == 0.25
    history = await store.parameters.history("MIN_SCORE")
    assert [(h.id, h.rolled_back) for h in history] == [(undo.id, False), (change.id, True)]

    with pytest.raises(AlreadyRolledBack):
        await store.parameters.rollback(change.id, "222")


async def test_rollback_refuses_a_superseded_change(store: Store) -> None:
    await define_min_score(store)
    first = await store.parameters.set("MIN_SCORE", 0.3, ADMIN)
    second = await store.parameters.set("MIN_SCORE", 0.5, ADMIN)
    with pytest.raises(ChangeSuperseded):
        await store.parameters.rollback(first.id, ADMIN)
    assert (await store.parameters.get("MIN_SCORE")).value == 0.5
    # Rolling back `second` adds a newer entry, so `first` stays superseded.
    await store.parameters.rollback(second.id, ADMIN)
    with pytest.raises(ChangeSuperseded):
        await store.parameters.rollback(first.id, ADMIN)
    assert (await store.parameters.get("MIN_SCORE")).value == 0.3


async def test_rolling_back_a_rollback_reapplies(store: Store) -> None:
    await define_min_score(store)
    change = await store.parameters.set("MIN_SCORE", 0.6, ADMIN)
    undo = await store.parameters.rollback(change.id, ADMIN)
    redo = await store.parameters.rollback(undo.id, ADMIN)
    assert (redo.old_value, redo.new_value, redo.rollback_of) == (0.25, 0.6, undo.id)
    assert (await store.parameters.get("MIN_SCORE")).value == 0.6


async def test_rollback_of_unknown_change(store: Store) -> None:
    with pytest.raises(ChangeNotFound):
        await store.parameters.rollback(999, ADMIN)


async def test_concurrent_rollbacks_undo_once(store: Store) -> None:
    await define_min_score(store)
    change = await store.parameters.set("MIN_SCORE", 0.9, ADMIN)
    results = await asyncio.gather(
        *(store.parameters.rollback(change.id, ADMIN) for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, AlreadyRolledBack) for r in results if isinstance(r, BaseException)), (
        results
    )
    assert len(await store.parameters.history("MIN_SCORE")) == 2


async def test_concurrent_sets_keep_a_consistent_history(store: Store) -> None:
    await store.parameters.define("COUNTER", ParameterType.INT, 0)
    await asyncio.gather(*(store.parameters.set("COUNTER", i, ADMIN) for i in range(1, 9)))
    history = list(reversed(await store.parameters.history("COUNTER")))
    # Each change's old value is the previous change's new value: no lost update.
    assert history[0].old_value == 0
    for before, after in itertools.pairwise(history):
        assert after.old_value == before.new_value
    assert (await store.parameters.get("COUNTER")).value == history[-1].new_value


async def test_changes_since_counts_sets_and_rollbacks_after_a_time(
    store: Store, clock: FakeClock
) -> None:
    await define_min_score(store)
    await store.parameters.set("MIN_SCORE", 0.3, ADMIN)
    clock.advance(days=8)
    start = clock.now
    await store.parameters.set("MIN_SCORE", 0.35, ADMIN)
    await store.parameters.set("MIN_SCORE", 0.4, ADMIN)
    assert await store.parameters.changes_since(start) == 2
    assert await store.parameters.changes_since(start - timedelta(days=9)) == 3
