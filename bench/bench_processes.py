"""``serve --processes N``: PING, inline and deferred throughput for 1 and 2 edge processes.

Each configuration is a fresh ``catalyst-interactions serve --no-workers --processes N``
(one port; with N > 1 a supervisor hands one listening socket to N edge processes) with its
own data directory, driven by wrk (closed loop, ``-c`` connections, one thread, every answer
checked by ``bench/wrk_requests.lua``) with pre-signed requests that each carry their own
interaction id:

* PING: verify + PONG;
* inline: ``/help`` answered in the request (type 4);
* deferred: ``/chart`` acknowledged (type 5) once its job is durably in the queue (the
  embedded SQLite queue unless ``--queue-url``); workers are off, so only the edge's side
  is measured.

Nothing is pinned: wrk shares the machine with the servers, as a real host's proxy would.
The ratio 2 processes / 1 process is printed per path.

    .venv/bin/python bench/bench_processes.py [--duration 5] [--connections 64] [--json]
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

import httpx
import nacl.signing

from _servers import HOST, REPO, free_port, ours_executable, stop
from _signing import Workload, make_spec, new_signing_key, verify_key_hex, write_pool
from _wrk import run_wrk
from bench_layouts import APPLICATION_ID, write_chart_pool

PATHS = ("PING", "inline", "deferred")


@dataclass
class Row:
    processes: int
    path: str
    rps: float
    p50_ms: float
    p99_ms: float


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@contextlib.contextmanager
def serving(
    processes: int,
    key: nacl.signing.SigningKey,
    work: Path,
    queue_url: str | None,
    user_rate: str = "off",
) -> Iterator[int]:
    port = free_port()
    data_dir = work / f"data-{processes}"
    data_dir.mkdir()
    env = {
        **os.environ,
        "DISCORD_PUBLIC_KEY": verify_key_hex(key),
        "DISCORD_APPLICATION_ID": APPLICATION_ID,
        "CATALYST_DATA_DIR": str(data_dir),
        "CATALYST_ADMIN_USER_IDS": "1",
        "CATALYST_COOLDOWNS": "chart=0,chart-buttons=0",
        "CATALYST_LOG_LEVEL": "warning",
        # The load generator is one member: the fair-use limits (docs/security.md) are
        # for people, not for a benchmark, so they are off unless --user-rate sets one
        # (high enough to refuse nothing: then every request pays the check and no more).
        "CATALYST_USER_RATE": user_rate,
        "CATALYST_JOBS_PER_USER": "0",
    }
    if queue_url:
        env["CATALYST_QUEUE_URL"] = queue_url
    argv = [
        ours_executable() or "catalyst-interactions",
        "serve",
        "--no-workers",
        "--host",
        HOST,
        "--port",
        str(port),
        "--processes",
        str(processes),
    ]
    log = work / f"server-{processes}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"serve exited:\n{log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://{HOST}:{port}/ready", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"serve not ready:\n{log.read_text()[-3000:]}")
                time.sleep(0.05)
            yield port
        finally:
            stop(process, grace_s=30.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pool", type=int, default=150_000, help="signed requests per path")
    parser.add_argument("--queue-url", help="CATALYST_QUEUE_URL for both runs")
    parser.add_argument(
        "--user-rate",
        default="off",
        help="CATALYST_USER_RATE for both runs, e.g. 1000000/1: the per-member rate is "
        "checked on every request (shared by the processes) but refuses none",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    key = new_signing_key()
    rows: list[Row] = []
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="processes-") as tmp:
        work = Path(tmp)
        for processes in (1, 2):
            # Fresh pools per configuration: every interaction id is new to its server.
            pools = {
                "PING": (work / f"ping-{processes}.pool", 1),
                "inline": (work / f"help-{processes}.pool", 4),
                "deferred": (work / f"chart-{processes}.pool", 5),
            }
            ping = make_spec(Workload.PING, key, APPLICATION_ID, args.pool)
            write_pool(ping, pools["PING"][0])
            inline = make_spec(Workload.HELP, key, APPLICATION_ID, args.pool, ping.base_ms - 1)
            write_pool(inline, pools["inline"][0])
            write_chart_pool(pools["deferred"][0], key, args.pool // 3, 0, inline.base_ms - 1)
            with serving(processes, key, work, args.queue_url, args.user_rate) as port:
                url = f"http://{HOST}:{port}/interactions"
                for path in PATHS:
                    pool, expected = pools[path]
                    # A short warm-up run first (its ids are used up; the pool is large).
                    warm = run_wrk(
                        url, pool, expected, connections=args.connections, duration_s=1, core=None
                    )
                    result = run_wrk(
                        url,
                        pool,
                        expected,
                        connections=args.connections,
                        duration_s=args.duration,
                        core=None,
                        offset=warm.next_offset,
                    )
                    rows.append(Row(processes, path, result.rps, result.p50_ms, result.p99_ms))
    load_after = _load()
    if args.json:
        print(json.dumps({"rows": [asdict(r) for r in rows], "load": [load_before, load_after]}))
        return 0
    by = {(r.processes, r.path): r for r in rows}
    print(
        f"serve --no-workers --processes N, wrk -c{args.connections} for {args.duration:g} s, "
        f"unpinned, CATALYST_USER_RATE={args.user_rate}; load average before {load_before}, "
        f"after {load_after}"
    )
    print(
        f"{'path':<10} {'1 proc req/s':>13} {'p99 ms':>7} {'2 procs req/s':>14} {'p99 ms':>7}"
        f" {'ratio':>6}"
    )
    for path in PATHS:
        one, two = by[(1, path)], by[(2, path)]
        print(
            f"{path:<10} {one.rps:>13,.0f} {one.p99_ms:>7.2f} {two.rps:>14,.0f} "
            f"{two.p99_ms:>7.2f} {two.rps / one.rps:>6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
