from __future__ import annotations

import asyncio

import pytest
from store_support import FakeClock

from catalyst_interactions.store import (
    DuplicateReport,
    InvalidValue,
    JSONObject,
    ReportAlreadyDecided,
    ReportNotFound,
    ReportStatus,
    Store,
)

PAYLOAD: JSONObject = {
    "summary": "Win rate 48% over 7 days",
    "recommendations": [
        {"parameter": "MIN_SCORE", "current": 0.25, "proposed": 0.3, "reason": "too many misses"},
        {"parameter": "USE_LLM", "current": False, "proposed": True, "reason": None},
    ],
}


async def test_create_get_and_attach_message(store: Store, clock: FakeClock) -> None:
    created = await store.reports.create("report_2024-03-04", PAYLOAD)
    assert (created.status, created.created_at, created.decided_by) == (
        ReportStatus.PENDING,
        clock.now,
        None,
    )
    await store.reports.attach_message("report_2024-03-04", "555", "666")
    loaded = await store.reports.get("report_2024-03-04")
    assert loaded.payload == PAYLOAD
    assert (loaded.channel_id, loaded.message_id) == ("555", "666")
    with pytest.raises(DuplicateReport):
        await store.reports.create("report_2024-03-04", {})
    with pytest.raises(ReportNotFound):
        await store.reports.get("missing")
    with pytest.raises(ReportNotFound):
        await store.reports.attach_message("missing", "1", "2")


async def test_decide_once(store: Store, clock: FakeClock) -> None:
    await store.reports.create("r1", PAYLOAD)
    clock.advance(minutes=3)
    decided = await store.reports.decide("r1", ReportStatus.PARTIALLY_APPLIED, "42")
    assert (decided.status, decided.decided_by, decided.decided_at) == (
        ReportStatus.PARTIALLY_APPLIED,
        "42",
        clock.now,
    )
    assert await store.reports.get("r1") == decided
    with pytest.raises(ReportAlreadyDecided, match="partially applied"):
        await store.reports.decide("r1", ReportStatus.REJECTED, "43")
    with pytest.raises(ReportNotFound):
        await store.reports.decide("nope", ReportStatus.APPROVED, "42")
    with pytest.raises(InvalidValue):
        await store.reports.decide("r1", ReportStatus.PENDING, "42")


async def test_concurrent_decisions_have_one_winner(store: Store) -> None:
    await store.reports.create("r2", PAYLOAD)
    results = await asyncio.gather(
        store.reports.decide("r2", ReportStatus.APPROVED, "1"),
        store.reports.decide("r2", ReportStatus.REJECTED, "2"),
        store.reports.decide("r2", ReportStatus.APPROVED, "3"),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, ReportAlreadyDecided) for r in results if r not in winners)
    assert await store.reports.get("r2") == winners[0]


async def test_list_filters_by_status_newest_first(store: Store, clock: FakeClock) -> None:
    for name in ("a", "b", "c"):
        await store.reports.create(name, {})
        clock.advance(minutes=1)
    await store.reports.decide("b", ReportStatus.APPROVED, "1")
    assert [r.report_id for r in await store.reports.list()] == ["c", "b", "a"]
    assert [r.report_id for r in await store.reports.list(ReportStatus.PENDING)] == ["c", "a"]
    assert [r.report_id for r in await store.reports.list(limit=1)] == ["c"]


async def test_an_approved_report_can_be_marked_partially_applied(store: Store) -> None:
    await store.reports.create("r2", PAYLOAD)
    await store.reports.decide("r2", ReportStatus.APPROVED, "42")
    marked = await store.reports.mark_partially_applied("r2")
    assert marked.status is ReportStatus.PARTIALLY_APPLIED and marked.decided_by == "42"
    await store.reports.create("r3", PAYLOAD)
    await store.reports.decide("r3", ReportStatus.REJECTED, "42")
    assert (await store.reports.mark_partially_applied("r3")).status is ReportStatus.REJECTED
    with pytest.raises(ReportNotFound):
        await store.reports.mark_partially_applied("nope")


async def test_statuses_are_kept_as_their_text_and_read_back_as_the_enum(
    store: Store, migrated_url: str
) -> None:
    """The column holds the words older rows and other tools read ("partially_applied");
    the repository hands back ReportStatus members only."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from catalyst_interactions.store import normalize_url

    await store.reports.create("kept", PAYLOAD)
    await store.reports.create("old", PAYLOAD)
    await store.reports.decide("kept", ReportStatus.PARTIALLY_APPLIED, "42")
    engine = create_async_engine(normalize_url(migrated_url))
    try:
        async with engine.begin() as conn:
            # A row written as text by an older version reads back as the enum member.
            await conn.execute(
                text("UPDATE admin_reports SET status = 'rejected' WHERE report_id = 'old'")
            )
            rows = await conn.execute(text("SELECT report_id, status FROM admin_reports"))
            stored = {row[0]: row[1] for row in rows}
    finally:
        await engine.dispose()
    assert stored == {"kept": "partially_applied", "old": "rejected"}
    old = await store.reports.get("old")
    assert old.status is ReportStatus.REJECTED and old.status.label == "rejected"
    assert [r.report_id for r in await store.reports.list(ReportStatus.PARTIALLY_APPLIED)] == [
        "kept"
    ]
    assert ReportStatus.PARTIALLY_APPLIED.label == "partially applied"


async def test_counts_cover_every_status_past_any_listing_limit(store: Store) -> None:
    # /admin stats used to count by listing (limit 1,000): 1,003 pending reports read as 1,000.
    for i in range(1_003):
        await store.reports.create(f"r{i}", {})
    await store.reports.decide("r0", ReportStatus.REJECTED, "1")
    assert await store.reports.counts() == {
        ReportStatus.PENDING: 1_002,
        ReportStatus.APPROVED: 0,
        ReportStatus.REJECTED: 1,
        ReportStatus.PARTIALLY_APPLIED: 0,
    }
