"""`import-legacy` on the old bot's sample files (tests/store/samples), twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalyst_interactions.ops.admin_cli import import_legacy_command
from catalyst_interactions.store import Store, database_url

SAMPLES = Path(__file__).parent.parent / "store" / "samples"


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {"CATALYST_DATA_DIR": str(tmp_path / "data"), "CATALYST_DATABASE_URL": ""}
    result = CliRunner().invoke(import_legacy_command, list(args), env=env)
    return result.exit_code, result.output


def test_import_reports_counts_and_bad_lines_and_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ("--alerts", str(SAMPLES / "alerts.jsonl"), "--watchlists", str(SAMPLES / "watchlists"))
    code, output = run(tmp_path, *args)
    assert code == 0, output
    lines = output.splitlines()
    # alerts.jsonl: 14 lines, 1 blank, 6 unusable (7, 8, 9, 10, 12, 14), line 6 repeats line 1.
    assert lines[0] == "alerts (alerts.jsonl): 6 added, 1 already present, 6 rejected"
    assert [line.split(":")[1] for line in lines[1:7]] == ["7", "8", "9", "10", "12", "14"]
    # Watchlists: 1234…: AAPL NVDA TSLA (+AAPL again); 2233…: SOFI PLTR, 2 bad items;
    # 9988…: AMC GME; broken.json is truncated; notes.json names no user.
    assert lines[7] == "watchlists (watchlists): 7 added, 1 already present, 4 rejected"
    assert any(line.startswith("  broken.json: not a UTF-8 JSON document") for line in lines)

    code, again = run(tmp_path, *args)
    assert code == 0
    assert again.splitlines()[0] == "alerts (alerts.jsonl): 0 added, 7 already present, 6 rejected"
    assert "watchlists (watchlists): 0 added, 8 already present, 4 rejected" in again

    async def check() -> tuple[int, list[str]]:
        store = Store(database_url(None, tmp_path / "data"))
        try:
            alerts = await store.alerts.recent(limit=100)
            watch = await store.watchlists.list("123456789012345678")
            return len(alerts), [e.ticker for e in watch]
        finally:
            await store.close()

    count, tickers = asyncio.run(check())
    assert count == 6 and sorted(tickers) == ["AAPL", "NVDA", "TSLA"]


def test_import_needs_a_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = run(tmp_path)
    assert code == 2 and "give --alerts FILE, --watchlists DIR, or both" in output
