"""The Cloudflare Worker edge: ours against a Worker written the way the source document
shows it (workers/cloudflare/bench/naive.js: key parsed and imported on every request,
a log line per interaction), both in workerd, same load, one run.

Each Worker runs alone in its own workerd process pinned to one core; wrk runs pinned to
the other (one thread, ``-cN``, pre-signed requests from bench/_signing.py replayed by
bench/wrk_requests.lua, which fails the run if any answer is not a 200 of the expected
callback type). Two workloads:

* ``ping``: a signed PING, answered ``{"type":1}``;
* ``deferred``: a signed ``/help`` that the bench manifest declares deferred: answered
  ``{"type":5}`` at once, then handed over in ``ctx.waitUntil`` with the authenticated
  hand-over (HMAC) to a stand-in backend (workers/cloudflare/bench/sink.js, its own workerd
  process on the Worker's core) that accepts every hand-over with 202 — the figures
  measure the Workers, not the Python backend.

Usage: ``python bench/bench_worker.py [--duration 4] [--rounds 3] [--connections 32] [--json]``;
the runs of the two Workers alternate, and each figure is the median of its rounds.
Needs ``npm ci`` in workers/cloudflare (workerd) and wrk.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from _servers import REPO
from _signing import Workload, make_spec, new_signing_key, verify_key_hex, write_pool
from _wrk import WrkError, WrkResult, run_wrk

sys.path.insert(0, str(REPO / "workers" / "cloudflare"))
from local_workerd import HERE as WORKER_DIR
from local_workerd import WORKER_JS, WorkerdError, WorkerSpec, running_workerd

NAIVE_JS = WORKER_DIR / "bench" / "naive.js"
SINK_JS = WORKER_DIR / "bench" / "sink.js"
APPLICATION_ID = "1100000000000000009"
HANDOVER_SECRET = "bench-handover-secret-0123456789abcdef"
MANIFEST = {
    "version": 1,
    "auto_budget_ms": 2000,
    "commands": {"help": {"mode": "deferred", "ack": {"type": 5}, "handler": "command:help"}},
    "components": [],
    "modals": [],
    "static": {},
}
WORKLOADS = {"ping": (Workload.PING, 1), "deferred": (Workload.HELP, 5)}


@dataclass(frozen=True)
class Row:
    worker: str
    workload: str
    rps: float
    p50_ms: float
    p99_ms: float
    responses: int
    rps_rounds: list[int]
    cpu_us_per_request: float
    """workerd CPU time (user + system, the Worker's process and the sink's) per answer:
    much less disturbed by other load on a shared machine than requests/s."""


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench(args: argparse.Namespace) -> list[Row]:
    """Both Workers run at once (idle one costs nothing); runs alternate between them, round
    after round, and each figure is the median of its rounds: load from elsewhere on a
    shared machine then hits both alike."""
    key = new_signing_key()
    samples: dict[tuple[str, str], list[WrkResult]] = {}
    cpu_us: dict[tuple[str, str], list[float]] = {}
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="workerbench-")))
        manifest = folder / "manifest.json"
        manifest.write_text(json.dumps(MANIFEST))
        pools = {}
        for name, (workload, _) in WORKLOADS.items():
            pools[name] = folder / f"{name}.pool"
            write_pool(make_spec(workload, key, APPLICATION_ID, args.pool_size), pools[name])
        secrets = {"DISCORD_PUBLIC_KEY": verify_key_hex(key), "HANDOVER_SECRET": HANDOVER_SECRET}
        sink = WorkerSpec("sink", SINK_JS, None, {}, secrets={})
        backend = stack.enter_context(running_workerd([sink], secrets={}, core=args.server_core))
        variables = {"BACKEND_URL": backend.urls["sink"], "DISCORD_API_BASE": backend.urls["sink"]}
        urls, pids = {}, {}
        for worker, module in (("ours", WORKER_JS), ("naive", NAIVE_JS)):
            spec = WorkerSpec(worker, module, manifest if worker == "ours" else None, variables)
            run = stack.enter_context(
                running_workerd([spec], secrets=secrets, core=args.server_core)
            )
            urls[worker] = run.urls[worker] + "/interactions"
            pids[worker] = run.process.pid
        order = list(urls)
        for name, (_, expected) in WORKLOADS.items():
            for worker in order:  # warm-up: JIT, connection pools
                run_wrk(
                    urls[worker],
                    pools[name],
                    expected,
                    connections=args.connections,
                    duration_s=1,
                    core=args.load_core,
                )
        for round_ in range(args.rounds):
            for name, (_, expected) in WORKLOADS.items():
                for worker in order if round_ % 2 == 0 else reversed(order):
                    _log(f"round {round_ + 1}: {worker} {name} for {args.duration:g} s")
                    cpu_before = cpu_seconds(pids[worker]) + cpu_seconds(backend.process.pid)
                    result = run_wrk(
                        urls[worker],
                        pools[name],
                        expected,
                        connections=args.connections,
                        duration_s=args.duration,
                        core=args.load_core,
                    )
                    cpu = cpu_seconds(pids[worker]) + cpu_seconds(backend.process.pid) - cpu_before
                    samples.setdefault((worker, name), []).append(result)
                    cpu_us.setdefault((worker, name), []).append(1e6 * cpu / result.responses)
    rows = []
    for (worker, name), results in samples.items():
        rows.append(
            Row(
                worker,
                name,
                statistics.median(r.rps for r in results),
                statistics.median(r.p50_ms for r in results),
                statistics.median(r.p99_ms for r in results),
                sum(r.responses for r in results),
                [round(r.rps) for r in results],
                statistics.median(cpu_us[(worker, name)]),
            )
        )
    return rows


def render(rows: list[Row]) -> str:
    head = (
        f"{'worker':<7} {'workload':<9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs/req':>10}"
    )
    lines = [head + "  req/s by round"]
    lines += [
        f"{r.worker:<7} {r.workload:<9} {r.rps:>7.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f}"
        f" {r.cpu_us_per_request:>10.0f}  {r.rps_rounds}"
        for r in rows
    ]
    by = {(r.worker, r.workload): r for r in rows}
    for name in WORKLOADS:
        ours, naive = by.get(("ours", name)), by.get(("naive", name))
        if ours and naive:
            lines.append(
                f"{name}: ours/naive requests/s x{ours.rps / naive.rps:.2f}, CPU per request "
                f"x{ours.cpu_us_per_request / naive.cpu_us_per_request:.2f}, "
                f"p99 {ours.p99_ms:.2f} vs {naive.p99_ms:.2f} ms"
            )
    return "\n".join(lines)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (fields 14 and 15 of /proc/PID/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="median of this many runs each")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pool-size", type=int, default=20_000)
    parser.add_argument("--server-core", type=int, default=1)
    parser.add_argument("--load-core", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        rows = bench(args)
    except (WorkerdError, WrkError) as exc:
        _log(f"bench_worker: FAILED: {exc}")
        return 2
    print(json.dumps([asdict(r) for r in rows], indent=2) if args.json else render(rows))
    _log(f"bench_worker: done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
