"""What an inline command costs the edge with its shared state on the host or in Redis.

Every non-PING interaction asks the replay record once and (with the per-member rate on, the
default) the throttle once. One edge process keeps both in the host's mapped table and its
memory; several hosts keep both in Redis (``CATALYST_REDIS_URL``), one Redis command each.
Three edges run at once, pinned to one core, and answer signed ``/help`` in interleaved
rounds (wrk on the other core): the rate off (as in ``edge_throughput.py``), the rate on in
memory, and the rate and the replay record in Redis. Printed: req/s and the edge process's
CPU per answer (median of the rounds), and each against the first.

    .venv/bin/python bench/bench_shared_state.py [--redis-url redis://127.0.0.1:6379/3]

The Redis database given is used for the run's keys (they expire within the replay window).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
from pathlib import Path

from _servers import ServerSpec, ours_spec, running
from _signing import Workload
from _wrk import run_wrk
from edge_throughput import Pools, cpu_seconds

APPLICATION_ID = "1000000000000000001"
NO_LIMIT = "1000000/1"  # the rate is checked on every request and refuses none


def variants(redis_url: str) -> dict[str, dict[str, str]]:
    return {
        "rate off": {},
        "rate on, this host": {"CATALYST_USER_RATE": NO_LIMIT},
        "rate on, Redis": {
            "CATALYST_USER_RATE": NO_LIMIT,
            "CATALYST_REDIS_URL": redis_url,
            # Required with shared state; any 32+ characters do for a benchmark.
            "CATALYST_STATE_SECRET": "bench-shared-state-" + "x" * 20,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-shared-state-") as tmp:
        pools = Pools(Path(tmp), APPLICATION_ID, 300_000)
        base = ours_spec(pools.public_key, APPLICATION_ID)
        specs = {
            name: ServerSpec(name, base.argv, {**base.env, **extra}, needs_data_dir=True)
            for name, extra in variants(args.redis_url).items()
        }
        cpu: dict[str, list[float]] = {name: [] for name in specs}
        rps: dict[str, list[float]] = {name: [] for name in specs}
        used: dict[tuple[str, Path], int] = {}
        with contextlib.ExitStack() as stack:
            servers = {name: stack.enter_context(running(s, 0))[0] for name, s in specs.items()}
            names = list(servers)
            for round_index in range(args.rounds):
                for name in names if round_index % 2 == 0 else names[::-1]:
                    server, pool = servers[name], pools.get(Workload.HELP)
                    before = cpu_seconds(server.process.pid)
                    result = run_wrk(
                        f"{server.base_url}/interactions",
                        pool,
                        Workload.HELP.expected_type,
                        connections=64,
                        duration_s=args.duration,
                        core=1,
                        offset=used.get((name, pool), 0),
                    )
                    used[(name, pool)] = result.next_offset
                    spent = cpu_seconds(server.process.pid) - before
                    cpu[name].append(spent / result.responses * 1e6)
                    rps[name].append(result.rps)
    baseline = statistics.median(cpu[names[0]])
    rows = {
        name: {
            "rps": round(statistics.median(rps[name])),
            "cpu_us": round(statistics.median(cpu[name]), 1),
            "cpu_vs_rate_off": round(statistics.median(cpu[name]) / baseline, 2),
        }
        for name in names
    }
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"signed /help, wrk -c64, {args.rounds} rounds of {args.duration:g} s, edge on core 0")
    print(f"{'edge':20s} {'req/s':>8s} {'CPU µs/answer':>14s} {'CPU vs rate off':>16s}")
    for name, row in rows.items():
        print(f"{name:20s} {row['rps']:8d} {row['cpu_us']:14.1f} {row['cpu_vs_rate_off']:15.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
