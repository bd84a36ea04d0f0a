"""Edge throughput benchmark: our edge against the legacy Flask server and a bare ASGI app.

Every server is pinned to one core (``taskset -c 0``), and wrk to another (``taskset -c 1
wrk -t1 -cN -dSs --latency``). For each server:

* closed-loop throughput of signed PINGs and of the inline ``/help`` command (wrk replays
  pre-signed requests and fails the run if any answer is not a correct 200). The servers are
  up together (an idle one uses no CPU) and measured in rounds, each round one run of every
  server and workload, in alternating order: a ratio between two servers is taken within a
  round, minutes of a shared machine's drift apart never enter it, and the budgets judge the
  median of the rounds' ratios;
* for bare and ours, an open-loop latency run at half of the server's own PING peak
  (``bench/_openloop.py``; wrk cannot hold a fixed rate);
* for every server, cold start (spawn to the first 200 on ``GET /health``, median of
  ``--cold-runs``) and idle RSS right after that first 200.

Figures drift on a shared machine; the ratios between servers of one round are what the
budgets in docs/design.md constrain. Budget misses are reported; ``--strict`` makes them fail.

Usage: ``python bench/edge_throughput.py [--duration 10] [--connections 64]
[--only legacy,bare,ours] [--json] [--strict] [--repeats N]``; ``--repeats 5 --duration 5``
measures five rounds of shorter runs: the table shows each cell's best, the ratios are the
median of the five rounds'.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from _servers import (
    BENCH,
    RunningServer,
    ServerError,
    ServerSpec,
    bare_spec,
    legacy_spec,
    ours_executable,
    ours_spec,
    pinned,
    rss_kib,
    running,
)
from _signing import PoolSpec, Workload, make_spec, new_signing_key, verify_key_hex, write_pool
from _wrk import WrkError, WrkResult, run_wrk
from catalyst_interactions.discord.snowflake import make_snowflake

SERVERS = ("legacy", "bare", "ours")
# A pool is re-signed before use once older than this: the edge refuses timestamps
# older than 5 minutes, and a full run takes about 3.
POOL_MAX_AGE_S = 120.0


class BenchError(RuntimeError):
    """The benchmark could not produce trustworthy figures."""


@dataclass
class Throughput:
    server: str
    workload: str
    rps: float
    p50_ms: float
    p99_ms: float
    responses: int
    cpu_us: float = 0.0
    """The server's CPU time (user + system) per answer, least of the runs: on a shared
    machine a rate also measures how often the server and wrk had to wait for a core, while
    the CPU a request costs moves much less with the load."""
    faults: float = 0.0
    """The server's page faults per answer, most of the runs: a count the machine's speed
    does not move (each costs ~10 µs here; the replay table's file was where they came
    from, docs/decisions.md D37)."""


@dataclass
class Latency:
    server: str
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    service_p99_ms: float
    send_lag_p99_ms: float
    completed: int


@dataclass
class Startup:
    server: str
    cold_start_ms: float
    cold_start_runs_ms: list[float]
    idle_rss_mib: float


@dataclass
class Budget:
    name: str
    value: float
    limit: float
    higher_is_better: bool

    @property
    def ok(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value < self.limit


@dataclass
class Report:
    config: dict[str, object]
    throughput: list[Throughput] = field(default_factory=list)
    latency: list[Latency] = field(default_factory=list)
    startup: list[Startup] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    budgets: list[Budget] = field(default_factory=list)
    rounds: list[dict[str, float]] = field(default_factory=list)
    """Per round, each run's rate by ``"server workload"``: ratios are taken within a round."""

    def rps(self, server: str, workload: Workload) -> float | None:
        for row in self.throughput:
            if row.server == server and row.workload == workload.value:
                return row.rps
        return None

    def round_ratios(self, top: tuple[str, Workload], bottom: tuple[str, Workload]) -> list[float]:
        """Per round, one run's rate divided by another's of the same round (rounds that
        have both)."""
        key_top, key_bottom = f"{top[0]} {top[1].value}", f"{bottom[0]} {bottom[1].value}"
        return [
            r[key_top] / r[key_bottom] for r in self.rounds if r.get(key_top) and r.get(key_bottom)
        ]

    def round_ratio(self, top: tuple[str, Workload], bottom: tuple[str, Workload]) -> float | None:
        """The median of :meth:`round_ratios`; None when no round has both."""
        ratios = self.round_ratios(top, bottom)
        return statistics.median(ratios) if ratios else None

    def cpu_us(self, server: str, workload: Workload) -> float | None:
        for row in self.throughput:
            if row.server == server and row.workload == workload.value and row.cpu_us > 0:
                return row.cpu_us
        return None

    def to_json(self) -> dict[str, object]:
        return {
            "config": self.config,
            "throughput": [asdict(r) for r in self.throughput],
            "latency": [asdict(r) for r in self.latency],
            "startup": [asdict(r) for r in self.startup],
            "skipped": self.skipped,
            "budgets": [{**asdict(b), "ok": b.ok} for b in self.budgets],
            "rounds": self.rounds,
        }


class Pools:
    """Signed request pools, one per workload, re-signed when stale; ids never repeat."""

    def __init__(self, directory: Path, application_id: str, size: int) -> None:
        self.directory = directory
        self.application_id = application_id
        self.size = size
        self.key = new_signing_key()
        self.public_key = verify_key_hex(self.key)
        self._made: dict[Workload, tuple[float, Path]] = {}
        self._not_after_ms: int | None = None
        self._serial = 0

    def _write(self, workload: Workload, size: int) -> Path:
        spec: PoolSpec = make_spec(
            workload, self.key, self.application_id, size, self._not_after_ms
        )
        self._not_after_ms = spec.base_ms - 1
        self._serial += 1
        path = self.directory / f"{workload.value}-{self._serial}.pool"
        write_pool(spec, path)
        return path

    def get(self, workload: Workload) -> Path:
        made = self._made.get(workload)
        if made is None or time.monotonic() - made[0] > POOL_MAX_AGE_S:
            if made is not None:
                made[1].unlink(missing_ok=True)
            made = (time.monotonic(), self._write(workload, self.size))
            self._made[workload] = made
        return made[1]

    def fresh(self, workload: Workload, size: int) -> Path:
        """A one-off pool (the latency run), with ids no other pool uses."""
        return self._write(workload, size)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ours_available() -> str | None:
    """Why our edge cannot run yet, or None when ``catalyst-interactions serve`` exists."""
    executable = ours_executable()
    if executable is None:
        return "catalyst-interactions is not installed"
    try:
        probe = subprocess.run(
            [executable, "serve", "--help"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"catalyst-interactions serve --help failed: {exc}"
    if probe.returncode != 0:
        tail = probe.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return f"catalyst-interactions serve is not available yet ({tail[0]})"
    return None


def _stat(pid: int) -> list[str]:
    """``/proc/PID/stat`` after the command name (which may hold spaces)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def page_faults(pid: int) -> int:
    """Page faults (minor: no disk read) a process has taken so far."""
    return int(_stat(pid)[7])


def open_loop(
    port: int, pool: Path, rate: float, duration_s: float, connections: int, core: int | None
) -> dict[str, float]:
    argv = [
        sys.executable,
        str(BENCH / "_openloop.py"),
        "--port",
        str(port),
        "--pool",
        str(pool),
        "--rate",
        f"{rate:.1f}",
        "--duration",
        str(duration_s),
        "--connections",
        str(connections),
        "--expected-type",
        "1",
    ]
    try:
        done = subprocess.run(
            pinned(argv, core), capture_output=True, text=True, timeout=duration_s + 60
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError("open-loop generator did not finish in time") from exc
    try:
        result: dict[str, float] = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise BenchError(f"open-loop generator failed:\n{done.stderr[-3000:]}") from exc
    if done.returncode != 0:
        raise BenchError(f"open-loop run had bad answers: {result.get('first_bad')}")
    return result


def cold_starts(spec: ServerSpec, args: argparse.Namespace) -> list[float]:
    """Seconds from spawn to the first 200 on ``/health``, for all but the last of the
    ``--cold-runs`` starts (the last is the start the server is measured in)."""
    colds: list[float] = []
    for _ in range(max(0, args.cold_runs - 1)):
        with running(spec, args.server_core) as (_, cold):
            colds.append(cold)
    return colds


def bench_servers(
    specs: dict[str, ServerSpec], pools: Pools, args: argparse.Namespace, report: Report
) -> None:
    """Start every server, then measure them in interleaved rounds, then each one's latency."""
    colds = {name: cold_starts(spec, args) for name, spec in specs.items()}
    # Make or refresh the pools before the measured starts, so no signing overlaps them.
    for workload in (Workload.PING, Workload.HELP):
        pools.get(workload)
    with contextlib.ExitStack() as stack:
        servers: dict[str, RunningServer] = {}
        for name, spec in specs.items():
            server, cold = stack.enter_context(running(spec, args.server_core))
            servers[name] = server
            colds[name].append(cold)
            report.startup.append(
                Startup(
                    name,
                    statistics.median(colds[name]) * 1000,
                    [round(c * 1000, 1) for c in colds[name]],
                    rss_kib(server.process.pid) / 1024,  # idle: right after the first 200
                )
            )
        closed_loop_rounds(servers, pools, args, report)
        for name, server in servers.items():
            if name != "legacy" and args.latency_duration > 0:
                latency(name, server, pools, args, report)


def closed_loop_rounds(
    servers: dict[str, RunningServer], pools: Pools, args: argparse.Namespace, report: Report
) -> None:
    """``--repeats`` rounds of one wrk run per server and workload; the order alternates
    from round to round. Each cell keeps its best rate and least CPU per answer."""
    used: dict[tuple[str, Path], int] = {}  # pool entries a server has seen: ids never repeat
    best: dict[tuple[str, Workload], WrkResult] = {}
    least_cpu: dict[tuple[str, Workload], float] = {}
    most_faults: dict[tuple[str, Workload], float] = {}
    # The runs a budget compares are next to each other in every round, whichever the
    # direction: legacy PING, ours PING, bare PING, ours /help (then the rest).
    order = [
        ("legacy", Workload.PING),
        ("ours", Workload.PING),
        ("bare", Workload.PING),
        ("ours", Workload.HELP),
        ("bare", Workload.HELP),
        ("legacy", Workload.HELP),
    ]
    cells = [cell for cell in order if cell[0] in servers]
    for round_index in range(args.repeats):
        rates: dict[str, float] = {}
        for name, workload in cells if round_index % 2 == 0 else cells[::-1]:
            server = servers[name]
            pool = pools.get(workload)
            _log(
                f"[round {round_index + 1}/{args.repeats}] {name} {workload.value}:"
                f" wrk -c{args.connections} -d{args.duration}s"
            )
            cpu_before = cpu_seconds(server.process.pid)
            faults_before = page_faults(server.process.pid)
            result = run_wrk(
                f"{server.base_url}/interactions",
                pool,
                workload.expected_type,
                connections=args.connections,
                duration_s=args.duration,
                core=args.load_core,
                offset=used.get((name, pool), 0),
            )
            used[(name, pool)] = result.next_offset
            cpu_us = (cpu_seconds(server.process.pid) - cpu_before) / result.responses * 1e6
            faults = (page_faults(server.process.pid) - faults_before) / result.responses
            cell = (name, workload)
            most_faults[cell] = max(faults, most_faults.get(cell, 0.0))
            if cpu_us > 0 and (cell not in least_cpu or cpu_us < least_cpu[cell]):
                least_cpu[cell] = cpu_us
            if cell not in best or result.rps > best[cell].rps:
                best[cell] = result
            rates[f"{name} {workload.value}"] = result.rps
        report.rounds.append(rates)
    for name, workload in cells:
        top = best[(name, workload)]
        report.throughput.append(
            Throughput(
                name,
                workload.value,
                top.rps,
                top.p50_ms,
                top.p99_ms,
                top.responses,
                least_cpu.get((name, workload), 0.0),
                most_faults.get((name, workload), 0.0),
            )
        )


def latency(
    name: str, server: RunningServer, pools: Pools, args: argparse.Namespace, report: Report
) -> None:
    """Open-loop PING latency at half of the server's own closed-loop PING peak."""
    peak = report.rps(name, Workload.PING) or 0.0
    rate = peak / 2
    pool = pools.fresh(Workload.PING, math.ceil(rate * args.latency_duration) + 1000)
    _log(f"[{name}] open-loop latency at {rate:.0f} req/s for {args.latency_duration}s")
    measured = open_loop(
        server.port, pool, rate, args.latency_duration, args.connections, args.load_core
    )
    report.latency.append(
        Latency(
            name,
            rate,
            measured["p50_ms"],
            measured["p99_ms"],
            measured["max_ms"],
            measured["service_p99_ms"],
            measured["send_lag_p99_ms"],
            int(measured["completed"]),
        )
    )


def judge(report: Report) -> None:
    """The docs/design.md budgets that this run has the figures for."""
    ping, help_ = Workload.PING, Workload.HELP
    budgets = report.budgets
    for name, top, bottom, limit in (
        ("PING rps ours/legacy", ("ours", ping), ("legacy", ping), 6.0),
        ("PING rps ours/bare", ("ours", ping), ("bare", ping), 0.90),
        ("/help rps ours / bare PING rps", ("ours", help_), ("bare", ping), 0.80),
    ):
        ratio = report.round_ratio(top, bottom)  # the median of the rounds' ratios
        if ratio is not None:
            budgets.append(Budget(name, ratio, limit, True))
    for row in report.latency:
        if row.server == "ours":
            budgets.append(Budget("ours p99 ms at half peak", row.p99_ms, 5.0, False))
    startup = {row.server: row for row in report.startup}
    if "ours" in startup:
        budgets.append(Budget("ours idle RSS MiB", startup["ours"].idle_rss_mib, 60.0, False))
        budgets.append(Budget("ours cold start ms", startup["ours"].cold_start_ms, 400.0, False))


def render(report: Report) -> str:
    lines = [
        f"{'server':<8} {'workload':<8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'CPU µs/req':>11} {'faults/req':>11}",
    ]
    for t in report.throughput:
        lines.append(
            f"{t.server:<8} {t.workload:<8} {t.rps:>9.0f} {t.p50_ms:>8.2f} {t.p99_ms:>8.2f}"
            f" {t.cpu_us:>11.1f} {t.faults:>11.3f}"
        )
    if report.latency:
        lines += ["", "open loop, PING at half of the server's own PING peak:"]
        lines.append(
            f"{'server':<8} {'rate/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
            f" {'svc p99':>8} {'gen lag p99':>11}"
        )
        for lat in report.latency:
            lines.append(
                f"{lat.server:<8} {lat.rate:>8.0f} {lat.p50_ms:>8.2f} {lat.p99_ms:>8.2f}"
                f" {lat.max_ms:>8.2f} {lat.service_p99_ms:>8.2f} {lat.send_lag_p99_ms:>11.2f}"
            )
    if report.startup:
        lines += ["", f"{'server':<8} {'cold start ms (median)':>22} {'idle RSS MiB':>13}"]
        for s in report.startup:
            lines.append(f"{s.server:<8} {s.cold_start_ms:>22.0f} {s.idle_rss_mib:>13.1f}")
    ratios = _ratios(report)
    if ratios:
        lines += ["", f"ratios (rates: median of {len(report.rounds)} rounds' ratios):"]
        lines += [f"  {name:<36} {value:>7.2f}" for name, value in ratios]
    ping, help_ = Workload.PING, Workload.HELP
    for label, top, bottom in (
        ("/help ours / PING bare", ("ours", help_), ("bare", ping)),
        ("PING ours/bare", ("ours", ping), ("bare", ping)),
    ):
        each = report.round_ratios(top, bottom)
        if len(each) > 1:
            lines.append(f"  {label + ', each round:':<36} " + " ".join(f"{v:.2f}" for v in each))
    if report.budgets:
        lines += ["", "budgets (docs/design.md):"]
        for b in report.budgets:
            sign = ">=" if b.higher_is_better else "<"
            verdict = "ok" if b.ok else "MISSED"
            lines.append(f"  {b.name:<36} {b.value:>7.2f}  {sign} {b.limit:<5g} {verdict}")
    for name, why in report.skipped.items():
        lines.append(f"\nskipped {name}: {why}")
    return "\n".join(lines)


def _ratios(report: Report) -> list[tuple[str, float]]:
    ping, help_ = Workload.PING, Workload.HELP
    out: list[tuple[str, float]] = []
    # Rates: the median over rounds of each round's ratio.
    for name, upper, lower in (
        ("PING ours/legacy", ("ours", ping), ("legacy", ping)),
        ("PING ours/bare", ("ours", ping), ("bare", ping)),
        ("PING bare/legacy", ("bare", ping), ("legacy", ping)),
        ("/help ours / PING bare", ("ours", help_), ("bare", ping)),
        ("/help bare / PING bare", ("bare", help_), ("bare", ping)),
    ):
        ratio = report.round_ratio(upper, lower)
        if ratio is not None:
            out.append((name, ratio))
    # The same ratios from the server's CPU per answer (capacity on a core of its own):
    # what one request costs, not how often the shared machine let it run.
    pairs: list[tuple[str, Callable[[], float | None], Callable[[], float | None]]] = [
        (
            "PING ours/bare by CPU per answer",
            lambda: report.cpu_us("bare", ping),
            lambda: report.cpu_us("ours", ping),
        ),
        (
            "/help ours / PING bare by CPU",
            lambda: report.cpu_us("bare", ping),
            lambda: report.cpu_us("ours", help_),
        ),
    ]
    for name, top, bottom in pairs:
        a, b = top(), bottom()
        if a and b:
            out.append((name, a / b))
    startup = {row.server: row for row in report.startup}
    if "ours" in startup and "bare" in startup:
        out.append(
            ("idle RSS ours/bare", startup["ours"].idle_rss_mib / startup["bare"].idle_rss_mib)
        )
        out.append(
            ("cold start ours/bare", startup["ours"].cold_start_ms / startup["bare"].cold_start_ms)
        )
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--only", default=",".join(SERVERS), help="comma-separated servers")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is missed")
    parser.add_argument(
        "--latency-duration", type=float, default=5.0, help="open-loop seconds; 0 to skip"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="rounds of one wrk run per server and workload (ratios: the rounds' median)",
    )
    parser.add_argument("--cold-runs", type=int, default=3, help="starts per server for cold start")
    parser.add_argument(
        "--pool-size", type=int, default=0, help="signed requests per pool (0: auto)"
    )
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    args = parser.parse_args(argv)
    selected = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(selected) - set(SERVERS))
    if unknown or not selected:
        parser.error(f"--only takes names among {', '.join(SERVERS)}; got {args.only!r}")
    if not (1 <= args.duration <= 300) or min(args.connections, args.cold_runs, args.repeats) < 1:
        parser.error("--duration must be 1..300 s; --connections, --cold-runs, --repeats >= 1")
    args.selected = [s for s in SERVERS if s in selected]
    # Enough distinct ids for 20,000 req/s: a wrapped pool replays ids, which ours refuses.
    args.pool_size = args.pool_size or max(20_000, math.ceil(args.duration * args.repeats * 20_000))
    return args


def _terminate(signum: int, frame: object) -> None:
    # Unwind through the finally blocks that stop the servers.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    application_id = make_snowflake(int(time.time() * 1000) - 86_400_000, 1)
    report = Report(
        config={
            "duration_s": args.duration,
            "repeats": args.repeats,
            "connections": args.connections,
            "latency_duration_s": args.latency_duration,
            "cold_runs": args.cold_runs,
            "pool_size": args.pool_size,
            "server_core": args.server_core,
            "load_core": args.load_core,
        }
    )
    try:
        with tempfile.TemporaryDirectory(prefix="edgebench-pools-") as tmp:
            pools = Pools(Path(tmp), application_id, args.pool_size)
            specs = {
                "legacy": legacy_spec(pools.public_key),
                "bare": bare_spec(pools.public_key),
                "ours": ours_spec(pools.public_key, application_id),
            }
            if "ours" in args.selected:
                why = ours_available()
                if why is not None:
                    report.skipped["ours"] = why
                    _log(f"[ours] skipped: {why}")
            selected = {n: specs[n] for n in args.selected if n not in report.skipped}
            _log(f"starting {', '.join(selected)}")
            bench_servers(selected, pools, args, report)
    except (ServerError, WrkError, BenchError) as exc:
        _log(f"edge_throughput: FAILED: {exc}")
        return 2
    except KeyboardInterrupt:
        _log("edge_throughput: interrupted")
        return 130
    judge(report)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render(report))
    if args.strict and not all(b.ok for b in report.budgets):
        return 1
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
