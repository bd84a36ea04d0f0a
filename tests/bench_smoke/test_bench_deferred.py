"""The deferred benchmark runs end to end at a tiny rate and accounts for every request.

bench/bench_deferred.py really runs (as a subprocess, unpinned): the server with its
in-process worker, the REST sink and the open-loop generator, for 1 s at 48 requests/s.
The expectations are derived from the rate and duration, not read from the bench.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.loopback

BENCH = Path(__file__).resolve().parents[2] / "bench"
# 48/s: no request is due exactly on the warm-up boundary (0.2 s), where rounding decides.
RATE = 48
DURATION_S = 1.0


def test_deferred_bench_matches_every_request_to_its_edit() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_deferred.py"),
            "--rate",
            str(RATE),
            "--duration",
            str(DURATION_S),
            "--no-pin",
            "--no-baseline",
            "--connections",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)

    sent = int(RATE * DURATION_S)
    # The generator leaves out the first 20% of the run (at most 1 s) as warm-up.
    measured = sent - math.ceil(RATE * min(1.0, DURATION_S * 0.2))
    assert report["generator"]["sent"] == sent
    assert report["edits"] == sent and report["duplicate_edits"] == 0

    figures = {f["name"]: f for f in report["figures"]}
    assert set(figures) >= {"ack", "pickup", "end to end"}
    for name in ("ack", "pickup", "end to end"):
        figure = figures[name]
        assert figure["count"] == measured, name
        assert 0 < figure["p50_ms"] <= figure["p99_ms"] <= figure["max_ms"], name
    # The edit is sent by the handler's worker after the job was picked up, so a request's
    # end-to-end time exceeds its pickup: so must the medians (both ends are wall clocks).
    assert figures["end to end"]["p50_ms"] > figures["pickup"]["p50_ms"]

    checks = {c["label"]: c for c in report["checks"]}
    ack_budget = checks["ack p99"]
    assert ack_budget["reference_ms"] == 5.0 and ack_budget["kind"] == "budget"
    assert ack_budget["ratio"] == pytest.approx(figures["ack"]["p99_ms"] / 5.0)
    assert report["config"]["queue"] == "sqlite"
