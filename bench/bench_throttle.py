"""Cost of one throttle admission (a cooldown or per-member rate check) in each store.

Every command, button and form pays at least one admission (the per-member rate), on the
edge's hot path. The stores: this process's memory (one edge process), the host's shared
table in a memory-mapped file (``serve --processes N`` without Redis) and Redis (several
hosts; only with ``--redis-url``). Each admits ``--admissions`` requests from ``--members``
members, as the rate check does, and prints wall and CPU time per admission and the ratio to
the memory store, in one run.

    .venv/bin/python bench/bench_throttle.py [--admissions 50000] [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from catalyst_interactions.framework.throttle import (
    MemoryThrottleStore,
    RedisThrottleStore,
    SharedThrottleStore,
    ThrottleStore,
)


async def measure(store: ThrottleStore, admissions: int, members: int) -> tuple[float, float]:
    """Microseconds per admission, (wall, CPU), the best of three passes."""
    await store.admit("warm-up", 1.0, 1)
    best = (float("inf"), float("inf"))
    for attempt in range(3):
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(admissions):
            member = 10**17 + i % members
            # 30 per second: every admission counts, none is refused (the cost that matters).
            await store.admit(f"rate:{member}", 1 / 30, 30, str(10**18 + attempt * admissions + i))
        wall = (time.perf_counter() - wall) / admissions * 1e6
        cpu = (time.process_time() - cpu) / admissions * 1e6
        best = min(best, (wall, cpu))
    await store.close()
    return best


async def run(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    stores: dict[str, ThrottleStore] = {"memory": MemoryThrottleStore()}
    with tempfile.TemporaryDirectory(prefix="bench-throttle-") as tmp:
        stores["shared table"] = SharedThrottleStore(Path(tmp) / "throttle.table")
        if args.redis_url:
            stores["redis"] = RedisThrottleStore.from_url(args.redis_url, "bench-throttle")
        results = {}
        for name, store in stores.items():
            wall, cpu = await measure(store, args.admissions, args.members)
            results[name] = {"wall_us": round(wall, 2), "cpu_us": round(cpu, 2)}
    base = results["memory"]["cpu_us"]
    for figures in results.values():
        figures["cpu_vs_memory"] = round(figures["cpu_us"] / base, 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--admissions", type=int, default=50_000)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--redis-url", help="also measure the Redis store (its keys expire)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{args.admissions} admissions from {args.members} members, best of 3 passes")
    print(f"{'store':14s} {'wall µs':>9s} {'CPU µs':>9s} {'CPU vs memory':>14s}")
    for name, figures in results.items():
        print(
            f"{name:14s} {figures['wall_us']:9.2f} {figures['cpu_us']:9.2f}"
            f" {figures['cpu_vs_memory']:13.2f}x"
        )


if __name__ == "__main__":
    main()
