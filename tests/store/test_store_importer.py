"""The importer against the sample files in samples/ (see the expectations spelled out below)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from store_support import SAMPLES, FakeClock

from catalyst_interactions.store import InvalidValue, Store
from catalyst_interactions.store.errors import ImportFailed
from catalyst_interactions.store.importer import (
    import_alert_log,
    import_watchlists,
    parse_timestamp,
)

ALERT_LOG = SAMPLES / "alerts.jsonl"
# samples/alerts.jsonl, line by line: 1 AAPL, 2 NVDA (reason only, -05:00), 3 TSLA (symbol/ts
# epoch/headline/link), 4 blank, 5 SOFI (naive time), 6 AAPL again with "Z" (duplicate of 1),
# 7 bad time, 8 no ticker, 9 price "n/a", 10 truncated JSON, 11 BRK.B (epoch string),
# 12 a list, 13 AMC (no price), 14 invalid UTF-8.
BAD_LINES = [7, 8, 9, 10, 12, 14]


async def test_alert_log_import_counts_and_reports_bad_lines(store: Store) -> None:
    report = await import_alert_log(store, ALERT_LOG)
    assert (report.added, report.duplicates) == (6, 1)
    assert [b.line for b in report.bad] == BAD_LINES
    assert report.bad_count == 6
    assert {b.source for b in report.bad} == {"alerts.jsonl"}
    reasons = {b.line: b.reason for b in report.bad}
    assert "timestamp" in reasons[7]
    assert "ticker" in reasons[8]
    assert "price" in reasons[9]
    assert "JSON" in reasons[10]
    assert "object" in reasons[12]
    assert "UTF-8" in reasons[14]

    tickers = sorted(a.ticker for a in await store.alerts.recent(limit=100))
    assert tickers == ["AAPL", "AMC", "BRK.B", "NVDA", "SOFI", "TSLA"]


async def test_alert_log_fields_are_mapped(store: Store) -> None:
    await import_alert_log(store, ALERT_LOG)
    [nvda] = await store.alerts.recent("NVDA")
    assert nvda.posted_at == datetime(2024, 3, 4, 14, 45, tzinfo=UTC)  # 09:45 at -05:00
    assert (
        nvda.title
        == nvda.reason
        == ("Partnership keyword: multi-year supply agreement with hyperscaler")
    )
    assert nvda.price == 852.37  # from the string "852.37"

    [tsla] = await store.alerts.recent("TSLA")
    assert tsla.posted_at == datetime(2024, 3, 4, 15, 30, tzinfo=UTC)  # epoch 1709566200
    assert tsla.price == 188.14
    assert tsla.title == "Tesla halts production at Berlin plant after suspected arson"
    assert tsla.url is not None
    assert tsla.url.startswith("https://www.reuters.com/")

    [sofi] = await store.alerts.recent("SOFI")
    assert sofi.posted_at == datetime(2024, 3, 4, 16, 2, 11, tzinfo=UTC)  # naive means UTC

    [brk] = await store.alerts.recent("BRK.B")
    assert brk.posted_at == datetime(2024, 3, 5, 14, 0, tzinfo=UTC)  # "1709647200"
    assert (brk.title, brk.reason) == (
        "Berkshire Hathaway annual shareholder letter released",
        "Annual letter keywords: buyback, succession",
    )
    [amc] = await store.alerts.recent("AMC")
    assert (amc.price, amc.score, amc.sentiment) == (None, 0.58, -0.4)


async def test_alert_log_reimport_adds_nothing(store: Store) -> None:
    await import_alert_log(store, ALERT_LOG)
    again = await import_alert_log(store, ALERT_LOG)
    assert (again.added, again.duplicates, again.bad_count) == (0, 7, 6)
    assert len(await store.alerts.recent(limit=100)) == 6


async def test_missing_log_fails_clearly(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match=r"missing\.jsonl"):
        await import_alert_log(store, tmp_path / "missing.jsonl")
    with pytest.raises(ImportFailed):
        await import_watchlists(store, tmp_path / "nowhere")


async def test_watchlists_import(store: Store, clock: FakeClock) -> None:
    report = await import_watchlists(store, SAMPLES / "watchlists")
    # 123…: AAPL, NVDA, TSLA (+1 repeated AAPL); 223…: SOFI, PLTR (+2 bad items);
    # 998…: AMC, GME (numeric user_id); notes.json has no user id; broken.json is not JSON.
    assert (report.added, report.duplicates) == (7, 1)
    assert sorted((b.source, b.reason.split(":")[0]) for b in report.bad) == [
        ("223344556677889900.json", "item 3"),
        ("223344556677889900.json", "item 4"),
        ("broken.json", "not a UTF-8 JSON document"),
        ("notes.json", "no Discord user id (field user_id or file name)"),
    ]

    first = await store.watchlists.list("123456789012345678")
    assert sorted(e.ticker for e in first) == ["AAPL", "NVDA", "TSLA"]
    assert {e.added_at for e in first} == {clock.now}
    second = {e.ticker: e.added_at for e in await store.watchlists.list("223344556677889900")}
    assert second == {"SOFI": clock.now, "PLTR": datetime(2024, 2, 1, 12, tzinfo=UTC)}
    third = await store.watchlists.list("998877665544332211")
    assert sorted(e.ticker for e in third) == ["AMC", "GME"]

    again = await import_watchlists(store, SAMPLES / "watchlists")
    assert (again.added, again.duplicates, again.bad_count) == (0, 8, 4)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-04T14:31:05Z", datetime(2024, 3, 4, 14, 31, 5, tzinfo=UTC)),
        ("2024-03-04T14:31:05.250+02:00", datetime(2024, 3, 4, 12, 31, 5, 250000, tzinfo=UTC)),
        ("2024-03-04 14:31:05", datetime(2024, 3, 4, 14, 31, 5, tzinfo=UTC)),
        ("2024-03-04", datetime(2024, 3, 4, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1709566200.5, datetime(2024, 3, 4, 15, 30, 0, 500000, tzinfo=UTC)),
        (" 1709566200 ", datetime(2024, 3, 4, 15, 30, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_accepts(raw: object, expected: datetime) -> None:
    parsed = parse_timestamp(raw)
    assert parsed == expected
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize("raw", ["soon", "", True, None, 1e20, [2024], "2024-13-01"])
def test_parse_timestamp_rejects(raw: object) -> None:
    with pytest.raises(InvalidValue):
        parse_timestamp(raw)
