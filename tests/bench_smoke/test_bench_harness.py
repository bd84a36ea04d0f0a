"""The harness refuses to report figures from a run with wrong answers.

wrk really runs (1 s, loopback) against the bare baseline: once with a pool signed by the
server's key, once with a pool signed by another key, which must fail loudly.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from _servers import bare_spec, running  # noqa: E402
from _signing import (  # noqa: E402
    Workload,
    make_spec,
    new_signing_key,
    read_pool,
    verify_key_hex,
    write_pool,
)
from _wrk import WrkError, parse_report, run_wrk  # noqa: E402

WRK_REPORT = """Running 2s test @ http://127.0.0.1:1/interactions
  1 threads and 64 connections
  Latency Distribution
     50%  188.00us
     75%  267.00us
     90%  321.00us
     99%    1.50ms
  18323 requests in 1.00s, 3.34MB read
Requests/sec:  18314.65
Transfer/sec:      3.34MB
EDGEBENCH responses=18323 non200=0 badbody=0 socket_errors=0 wrapped=0 next=18387 \
p50_us=188 p99_us=1500
"""


def test_parse_report_reads_rate_and_percentiles() -> None:
    result = parse_report(WRK_REPORT)
    assert result.rps == pytest.approx(18314.65)
    assert result.p50_ms == pytest.approx(0.188)
    assert result.p99_ms == pytest.approx(1.5)
    assert result.responses == 18323
    assert result.next_offset == 18387


@pytest.mark.parametrize(
    "damage",
    [
        ("non200=0", "non200=3"),
        ("badbody=0", "badbody=1"),
        ("socket_errors=0", "socket_errors=2"),
        ("Requests/sec", "Non-2xx or 3xx responses: 5\nRequests/sec"),
        ("EDGEBENCH", "SOMETHING"),
    ],
)
def test_parse_report_refuses_a_run_with_errors(damage: tuple[str, str]) -> None:
    with pytest.raises(WrkError):
        parse_report(WRK_REPORT.replace(*damage))


def test_pool_ids_are_distinct_and_signatures_verify(tmp_path: Path) -> None:
    key = new_signing_key()
    spec = make_spec(Workload.HELP, key, "1", 5000)
    path = tmp_path / "help.pool"
    write_pool(spec, path, processes=1)
    pool = read_pool(path)
    assert len(pool) == 5000
    ids = {body.split(b'"id":"', 1)[1].split(b'"', 1)[0] for _, _, body in pool}
    assert len(ids) == 5000
    for signature, timestamp, body in pool[::997]:
        key.verify_key.verify(timestamp.encode() + body, bytes.fromhex(signature))


@pytest.fixture(scope="module")
def bare() -> Iterator[tuple[str, str]]:
    key = new_signing_key()
    with running(bare_spec(verify_key_hex(key)), core=None) as (server, _):
        yield server.base_url, bytes(key).hex()


@pytest.mark.loopback
@pytest.mark.wrk
def test_wrk_run_with_correct_signatures_reports_figures(
    bare: tuple[str, str], tmp_path: Path
) -> None:
    from nacl.signing import SigningKey

    base_url, seed_hex = bare
    path = tmp_path / "ping.pool"
    write_pool(make_spec(Workload.PING, SigningKey(bytes.fromhex(seed_hex)), "1", 20000), path)
    result = run_wrk(f"{base_url}/interactions", path, 1, connections=4, duration_s=1, core=None)
    assert result.rps > 0
    assert result.responses > 0
    assert 0 < result.p50_ms <= result.p99_ms


@pytest.mark.loopback
@pytest.mark.wrk
def test_wrk_run_with_wrong_signatures_fails_loudly(bare: tuple[str, str], tmp_path: Path) -> None:
    base_url, _ = bare
    path = tmp_path / "ping.pool"
    write_pool(make_spec(Workload.PING, new_signing_key(), "1", 2000), path, processes=1)
    with pytest.raises(WrkError, match="non-200"):
        run_wrk(f"{base_url}/interactions", path, 1, connections=4, duration_s=1, core=None)
