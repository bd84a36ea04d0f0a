"""A hostile soak: 1,000,000 odd requests against the server on loopback; RSS must stay flat.

    .venv/bin/python bench/soak_hostile.py --requests 1000000 --png docs/hostile-soak-rss.png

``catalyst-interactions serve`` (edge and workers in their own processes, demo market data,
the hand-over route) runs against a fake Discord. A pool of hostile requests is built once
from bench/_hostile.py (signed mutations of every command, component and modal, deep
nesting, invalid UTF-8, huge strings and numbers, bad and missing signatures, odd headers,
methods and paths, chunked bodies, hand-overs) and replayed by wrk (bench/wrk_hostile.lua),
which stops itself after the given number of answers. Each signed entry carries its own
interaction id: the first pass runs them, later passes are replays (409) and, once the
timestamps age past the window, stale (401) — as captured traffic replayed by an attacker
would be. Nobody but Discord can sign new interactions, so that is the hostile case.

The warm-up (``--warm-up`` answers, by default 10 %) runs first; RSS of the server and all
its children is printed after it and at the end, sampled every second in between, and
drawn to ``--png``. Exit status 1 when any answer was a 5xx or the growth exceeds
``--max-growth-mib``.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nacl.signing

from _hostile import Mutator, RawClient, seeds
from _rss import MIB, Sampler, breakdown, load_average
from _servers import BENCH, HOST, running
from bench_hostile import BOT_TOKEN, HANDOVER_SECRET, server_spec
from catalyst_interactions.bot import build_registry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fakes.fake_discord import FakeDiscord

LUA = BENCH / "wrk_hostile.lua"
_LINE = re.compile(
    r"HOSTILESOAK responses=(\d+) s2xx=(\d+) s3xx=(\d+) s4xx=(\d+) s5xx=(\d+) next=(\d+)"
)
_LATENCY = re.compile(r"HOSTILESOAK p99_ms=([\d.]+) max_ms=([\d.]+) socket_errors=(\d+)")


def build_pool(path: Path, size: int, seed: int, key: nacl.signing.SigningKey, app_id: str) -> None:
    """``size`` raw requests; pipelined or framing-breaking ones are left out (wrk counts one
    answer per request, and a HEAD answer has no body to read)."""
    corpus = seeds(
        build_registry(), application_id=app_id, user_id="4242", admin=True, report_id="r-1"
    )
    mutator = Mutator(corpus, key, random.Random(seed), handover_secret=HANDOVER_SECRET.encode())
    written = 0
    with path.open("wb") as out:
        while written < size:
            case = mutator.case()
            if case.raw is not None or case.method == b"HEAD":
                continue
            raw = RawClient.encode(case, HOST.encode())
            # Mostly small, a few up to 256 KiB: a million requests of the fuzz suite's
            # average size (~50 KiB) would measure the loopback, not the server.
            if len(raw) > 8192 and (len(raw) > 262_144 or mutator.rng.random() > 0.02):
                continue
            out.write(b"%d\n" % len(raw) + raw)
            written += 1


def run_wrk(
    url: str, pool: Path, limit: int, start: int, connections: int, max_s: int
) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    argv = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max_s}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        str(pool),
        str(limit),
        str(start),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=max_s + 60, check=False)
    out = done.stdout + done.stderr
    counts, latency = _LINE.search(out), _LATENCY.search(out)
    if counts is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{out[-3000:]}")
    names = ("responses", "2xx", "3xx", "4xx", "5xx", "next")
    figures: dict[str, float] = {n: int(v) for n, v in zip(names, counts.groups(), strict=True)}
    # Latency is printed only when the time bound ended the run before the count did.
    if latency is not None:
        figures["socket_errors"] = int(latency[3])
    else:
        figures["socket_errors"] = 0
    return figures


def plot(samples: list[tuple[float, int, int]], warm_at: float, png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.6), dpi=110)
    axes = figure.subplots()
    axes.plot([t for t, _, _ in samples], [rss / MIB for _, rss, _ in samples], color="#5865F2")
    axes.axvline(warm_at, color="#999999", linestyle="--", linewidth=1)
    axes.annotate(
        "end of warm-up",
        (warm_at, axes.get_ylim()[0]),
        xytext=(4, 6),
        textcoords="offset points",
        fontsize=8,
        color="#666666",
    )
    axes.set_xlabel("seconds")
    axes.set_ylabel("RSS, server + children (MiB)")
    axes.set_ylim(bottom=0)
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(png)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--warm-up", type=int, default=0, help="default: 10 %% of --requests")
    parser.add_argument("--pool", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-seconds", type=int, default=1500, help="upper bound per wrk run")
    parser.add_argument("--max-growth-mib", type=float, default=20.0)
    parser.add_argument("--png", type=Path)
    args = parser.parse_args()
    warm_up = args.warm_up or args.requests // 10

    key = nacl.signing.SigningKey(bytes([args.seed]) * 32)
    print(f"load average at start: {load_average()}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="soak-") as tmp,
        FakeDiscord(bot_token=BOT_TOKEN) as fake,
    ):
        pool = Path(tmp) / "pool.bin"
        built = time.monotonic()
        build_pool(pool, args.pool, args.seed, key, fake.application_id)
        size = pool.stat().st_size / MIB
        print(
            f"pool: {args.pool} requests, {size:.1f} MiB, built in {time.monotonic() - built:.0f} s"
        )
        spec = server_spec(key.verify_key.encode().hex(), fake)
        with running(spec, core=None, startup_timeout_s=60) as (server, _):
            url = f"http://{HOST}:{server.port}"
            with Sampler(server.process.pid, interval_s=1.0) as sampler:
                rss_start = sampler.sample()
                started = time.monotonic()
                first = run_wrk(url, pool, warm_up, 0, args.connections, args.max_seconds)
                warm_at = time.monotonic() - started
                time.sleep(2.0)  # let the workers finish what the warm-up queued
                rss_warm = sampler.sample()
                parts_warm = {pid: rss for pid, rss, _ in breakdown(server.process.pid)}
                print(
                    f"warm-up: {first['responses']:.0f} answers in {warm_at:.0f} s; "
                    f"RSS {rss_warm / MIB:.1f} MiB (at start {rss_start / MIB:.1f})",
                    flush=True,
                )
                second = run_wrk(
                    url,
                    pool,
                    args.requests - warm_up,
                    int(first["next"]),
                    args.connections,
                    args.max_seconds,
                )
                elapsed = time.monotonic() - started
                time.sleep(2.0)
                rss_end = sampler.sample()
                for pid, rss, command in breakdown(server.process.pid):
                    before = parts_warm.get(pid, 0) / MIB
                    print(f"  pid {pid}: {before:6.1f} -> {rss / MIB:6.1f} MiB  {command}")
                processes = sampler.samples[-1][2]
                samples = list(sampler.samples)
            log = server.log_tail(10**9)
    total = {
        k: first[k] + second[k] for k in ("responses", "2xx", "3xx", "4xx", "5xx", "socket_errors")
    }
    growth = (rss_end - rss_warm) / MIB
    print(
        f"answers: {total['responses']:.0f} in {elapsed:.0f} s "
        f"({total['responses'] / elapsed:.0f}/s): 2xx {total['2xx']:.0f}, 3xx {total['3xx']:.0f}, "
        f"4xx {total['4xx']:.0f}, 5xx {total['5xx']:.0f}; "
        f"socket errors {total['socket_errors']:.0f}"
    )
    print(
        f"RSS, server and {processes - 1} children: {rss_warm / MIB:.1f} MiB after warm-up, "
        f"{rss_end / MIB:.1f} MiB at the end: growth {growth:+.1f} MiB "
        f"(goal < {args.max_growth_mib:.0f})"
    )
    print(f"tracebacks in the server log: {log.count('Traceback')}")
    print(f"load average at the end: {load_average()}")
    if args.png:
        title = (
            f"{total['responses']:,.0f} hostile requests; RSS {rss_warm / MIB:.0f} → "
            f"{rss_end / MIB:.0f} MiB after warm-up ({growth:+.1f} MiB)"
        )
        plot(samples, warm_at, args.png, title)
        print(f"wrote {args.png}")
    bad = total["5xx"] > 0 or growth >= args.max_growth_mib or "Traceback" in log
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
