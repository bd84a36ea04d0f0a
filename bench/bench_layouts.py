"""``serve``'s process layouts under deferred chart load: split (default) against single.

The same run starts ``catalyst-interactions serve --layout single`` (the old layout: edge,
workers and their deliveries on one event loop, render processes at the edge's priority)
and ``serve`` (split: the edge in its own process, workers at a lower priority, render
processes lower still), each with its own data directory, and drives each with signed
``/chart`` commands at a fixed rate: real handlers, real renders in the render processes
(the demo data's minute changes the cache key, so every ticker is drawn again each minute),
and a PNG uploaded with every edit to a loopback Discord (``bench/_rest_sink.py``).
Nothing is pinned: the load generator, the sink and the server share the machine's cores,
as the issue's goal asks.

Figures per layout: the acknowledgement (request due → type 5 answer, from the open-loop
generator), delivery (request due → the edit with its PNG reaches the sink), requests lost
(acknowledged but never edited) and edits doubled. Goal (issue 12): 300/s for 30 s, ack
p99 < 10 ms, delivery p95 < 1 s, nothing lost.

    .venv/bin/python bench/bench_layouts.py [--rate 300] [--duration 30] [--json]
        [--layouts single,split]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nacl.signing

from _servers import BENCH, HOST, REPO, free_port, ours_executable, rss_kib, stop
from _signing import Workload, interaction_id, make_spec, new_signing_key, verify_key_hex
from bench_deferred import index_of, percentile, token_for
from catalyst_interactions.market.symbols import DEMO_SYMBOLS as _DEMO

DEMO_SYMBOLS = sorted(_DEMO)

ACK_GOAL_P99_MS = 10.0
DELIVERY_GOAL_P95_MS = 1000.0
APPLICATION_ID = "1100000000000000009"
GUILD_ID = "1100000000000000001"
_encoder = msgspec.json.Encoder()


class BenchError(RuntimeError):
    """The benchmark could not produce trustworthy figures."""


WARM_OFFSET = 90_000_000
"""Warm-up requests' token indices start here, apart from the measured run's."""


def chart_body(snowflake: str, index: int, ticker: str) -> bytes:
    """``/chart ticker`` by user ``index`` (one user per request: no cooldown applies); the
    token carries ``index``."""
    return _encoder.encode(
        {
            "type": 2,
            "id": snowflake,
            "application_id": APPLICATION_ID,
            "token": token_for(index),
            "version": 1,
            "data": {
                "id": "1200000000000000002",
                "name": "chart",
                "type": 1,
                "options": [{"name": "ticker", "type": 3, "value": ticker}],
            },
            "guild_id": GUILD_ID,
            "channel_id": "1100000000000000002",
            "member": {
                "user": {"id": str(1300000000000000000 + index), "username": f"u{index}"},
                "roles": [],
                "permissions": "0",
            },
            "app_permissions": "2147534848",
            "locale": "en-US",
        }
    )


def write_chart_pool(
    path: Path,
    key: nacl.signing.SigningKey,
    size: int,
    token_offset: int = 0,
    not_after_ms: int | None = None,
) -> int:
    """Sign ``size`` distinct ``/chart`` requests (``_signing``'s pool format); returns the
    first id's milliseconds (pass it minus 1 as ``not_after_ms`` of the next pool)."""
    # Only the spec's ids and timestamp are used.
    spec = make_spec(Workload.HELP, key, APPLICATION_ID, size, not_after_ms)
    prefix = str(spec.timestamp).encode()
    tab_ts = b"\t" + prefix + b"\t"
    with path.open("wb") as out:
        for index in range(size):
            ticker = DEMO_SYMBOLS[index % len(DEMO_SYMBOLS)]
            body = chart_body(interaction_id(spec.base_ms, index), token_offset + index, ticker)
            signature = key.sign(prefix + body).signature.hex().encode()
            out.write(signature + tab_ts + body + b"\n")
    return spec.base_ms


@dataclass
class LayoutResult:
    layout: str
    rate: float
    duration_s: float
    sent: int
    ack_p50_ms: float
    ack_p99_ms: float
    ack_max_ms: float
    delivery_p50_ms: float
    delivery_p95_ms: float
    delivery_p99_ms: float
    delivered: int
    lost: int
    doubled: int
    without_png: int
    """Requests edited (progress) whose chart never came."""
    png_mib: float
    server_rss_mib: float
    load_before: str
    load_after: str

    @property
    def goal_met(self) -> bool:
        return (
            self.ack_p99_ms < ACK_GOAL_P99_MS
            and self.delivery_p95_ms < DELIVERY_GOAL_P95_MS
            and self.lost == 0
            and self.doubled == 0
        )


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@contextlib.contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process, grace_s=30.0)


def _wait_http(port: int, path: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://{HOST}:{port}{path}", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise BenchError(f"no 200 from {path} after 60 s:\n{log.read_text()[-3000:]}")


def _generate(port: int, pool: Path, rate: float, duration: float, connections: int) -> Any:
    argv = [
        sys.executable,
        str(BENCH / "bench_deferred.py"),
        "--generate",
        "--port",
        str(port),
        "--pool",
        str(pool),
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--connections",
        str(connections),
        "--expected-type",
        "5",
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + 90, cwd=BENCH, check=False
    )
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise BenchError(f"the load generator failed:\n{done.stderr[-3000:]}") from exc
    if done.returncode != 0:
        raise BenchError(f"bad answers from the server: {result.get('first_bad')}")
    return result


def run_layout(layout: str, args: argparse.Namespace, work: Path) -> LayoutResult:
    key = new_signing_key()
    total = int(args.rate * args.duration)
    warm_pool, pool = work / "warm.pool", work / "run.pool"
    base_ms = write_chart_pool(pool, key, total)
    write_chart_pool(warm_pool, key, len(DEMO_SYMBOLS) * 4, WARM_OFFSET, base_ms - 1)
    sink_port, port = free_port(), free_port()
    data_dir = work / "data"
    data_dir.mkdir()
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DISCORD_PUBLIC_KEY": verify_key_hex(key),
        "DISCORD_APPLICATION_ID": APPLICATION_ID,
        "DISCORD_API_BASE": f"http://{HOST}:{sink_port}/api/v10",
        "CATALYST_DATA_DIR": str(data_dir),
        "CATALYST_ADMIN_USER_IDS": "1",
        "CATALYST_LOG_LEVEL": "warning",
        # The load generator is one member: the fair-use limits (docs/security.md) are
        # for people, not for a benchmark, so they are off here.
        "CATALYST_USER_RATE": "off",
        "CATALYST_JOBS_PER_USER": "0",
        "CATALYST_COOLDOWNS": "chart=0,compare=0,chart-buttons=0,compare-buttons=0",
    }
    server_argv = [
        ours_executable() or "catalyst-interactions",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--layout",
        layout,
    ]
    sink_argv = [sys.executable, str(BENCH / "_rest_sink.py"), "--port", str(sink_port)]
    with (
        _process(sink_argv, env, work / "sink.log") as sink,
        _process(server_argv, env, work / "server.log") as server,
    ):
        _wait_http(sink_port, "/health", sink, work / "sink.log")
        _wait_http(port, "/ready", server, work / "server.log")
        # Warm-up: render processes started, every ticker's data made once.
        _generate(port, warm_pool, 20, len(DEMO_SYMBOLS) * 4 / 20, 4)
        _drain(sink_port, len(DEMO_SYMBOLS) * 4, 60)
        load_before = _load()
        run = _generate(port, pool, args.rate, args.duration, args.connections)
        load_after = _load()
        rss = rss_kib(server.pid) / 1024
        _drain(sink_port, len(DEMO_SYMBOLS) * 4 + total, args.drain)
        data = _arrivals(sink_port)
    start_wall, rate = float(run["start_wall"]), float(run["rate"])
    first, sent = int(run["first_measured"]), int(run["sent"])
    # A chart's answer is the edit that uploads its PNG (progress edits come before it).
    uploads: dict[str, list[Any]] = data["uploads"]
    latest: dict[int, list[Any]] = {}
    for token, arrival in uploads.items():
        index = index_of(token)
        if index is None:
            raise BenchError("the sink received an edit for a token this run never issued")
        if index < WARM_OFFSET:
            latest[index] = arrival
    delivery = [
        float(latest[i][0]) - (start_wall + i / rate) for i in range(first, sent) if i in latest
    ]
    lost = sum(1 for i in range(sent) if i not in latest)
    return LayoutResult(
        layout=layout,
        rate=args.rate,
        duration_s=args.duration,
        sent=sent,
        ack_p50_ms=float(run["p50_ms"]),
        ack_p99_ms=float(run["p99_ms"]),
        ack_max_ms=float(run["max_ms"]),
        delivery_p50_ms=percentile(delivery, 50),
        delivery_p95_ms=percentile(delivery, 95),
        delivery_p99_ms=percentile(delivery, 99),
        delivered=len(latest),
        lost=lost,
        # Every PNG upload beyond a token's first would be a chart delivered twice.
        doubled=int(data["upload_edits"]) - len(uploads),
        without_png=sum(1 for t, a in data["arrivals"].items() if t not in uploads),
        png_mib=sum(int(a[1]) for a in latest.values()) / 2**20,
        server_rss_mib=rss,
        load_before=load_before,
        load_after=load_after,
    )


def _arrivals(port: int) -> Any:
    return httpx.get(f"http://{HOST}:{port}/arrivals", timeout=30).json()


def _drain(port: int, expected: int, timeout_s: float) -> None:
    """Wait until the sink holds ``expected`` charts, or none came for 30 s, or the timeout."""
    deadline = time.monotonic() + timeout_s
    seen, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        uploads = int(httpx.get(f"http://{HOST}:{port}/count", timeout=5).json()["uploads"])
        if uploads >= expected:
            return
        if uploads != seen:
            seen, quiet_since = uploads, time.monotonic()
        elif time.monotonic() - quiet_since > 30:
            return
        time.sleep(0.5)


def render(results: list[LayoutResult]) -> str:
    lines = [
        f"deferred /chart at {results[0].rate:g}/s for {results[0].duration_s:g} s, real renders,"
        " PNG uploads to a loopback Discord; generator, sink and server unpinned on this machine",
        f"{'layout':<8} {'ack p50':>8} {'ack p99':>8} {'ack max':>8} {'dlv p50':>8} "
        f"{'dlv p95':>8} {'dlv p99':>8} {'lost':>5} {'dup':>4} {'noPNG':>5} {'RSS MiB':>8}  "
        "load before/after  goal",
    ]
    for r in results:
        lines.append(
            f"{r.layout:<8} {r.ack_p50_ms:>8.2f} {r.ack_p99_ms:>8.2f} {r.ack_max_ms:>8.1f} "
            f"{r.delivery_p50_ms:>8.1f} {r.delivery_p95_ms:>8.1f} {r.delivery_p99_ms:>8.1f} "
            f"{r.lost:>5} {r.doubled:>4} {r.without_png:>5} {r.server_rss_mib:>8.1f}  "
            f"{r.load_before} / {r.load_after}  {'met' if r.goal_met else 'MISSED'}"
        )
    by = {r.layout: r for r in results}
    if "single" in by and "split" in by:
        old, new = by["single"], by["split"]
        lines.append(
            f"split / single: ack p99 {new.ack_p99_ms / old.ack_p99_ms:.2f}, "
            f"delivery p95 {new.delivery_p95_ms / old.delivery_p95_ms:.2f}"
        )
    lines.append(
        f"goal (issue 12): ack p99 < {ACK_GOAL_P99_MS:g} ms, delivery p95 < "
        f"{DELIVERY_GOAL_P95_MS:g} ms, 0 lost, 0 doubled"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--layouts", default="single,split")
    parser.add_argument(
        "--drain", type=float, default=300.0, help="seconds to wait for the last charts"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    layouts = [name.strip() for name in args.layouts.split(",") if name.strip()]
    results = []
    for layout in layouts:
        with tempfile.TemporaryDirectory(prefix=f"layouts-{layout}-") as work:
            results.append(run_layout(layout, args, Path(work)))
    if args.json:
        print(json.dumps([asdict(r) | {"goal_met": r.goal_met} for r in results], indent=2))
    else:
        print(render(results))
    return 0 if all(r.lost == 0 and r.doubled == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
