"""Cost of the replay record per request: the shared mmap table against a plain in-process
set (the lower bound), and Redis when reachable. Prints µs per first-seen check and the RSS
the table adds once every page of it has been touched.

Usage: ``python bench/bench_replay.py [--ops 200000] [--redis redis://127.0.0.1:6379/0]``
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.edge.replay import SharedReplayTable, capacity_for


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def timed(offer, ids: list[str], expires: float) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for interaction_id in ids:
        await offer(interaction_id, expires)
    return (time.perf_counter() - started) / len(ids) * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--redis", default=None)
    args = parser.parse_args()
    now_ms = int(time.time() * 1000)
    ids = [make_snowflake(now_ms + i // 50, i) for i in range(args.ops)]
    expires = time.time() + 300
    seen: set[str] = set()

    async def in_set(interaction_id: str, _: float) -> bool:
        if interaction_id in seen:
            return False
        seen.add(interaction_id)
        return True

    baseline = await timed(in_set, ids, expires)
    with tempfile.TemporaryDirectory() as tmp:
        before = rss_kib()
        table = SharedReplayTable(Path(tmp) / "replay.table", capacity_for(310))
        per_op = await timed(table.first_seen, ids, expires)
        again = await timed(table.first_seen, ids, expires)  # every id a replay now
        grown = rss_kib() - before
        await table.aclose()
        alone = SharedReplayTable(Path(tmp) / "alone.table", capacity_for(310), shared=False)
        unlocked = await timed(alone.first_seen, ids, expires)
        await alone.aclose()
    print(f"set (lower bound)     {baseline:6.2f} µs per check")
    print(f"shared table, new ids {per_op:6.2f} µs per check ({per_op - baseline:+.2f} µs)")
    print(f"shared table, replays {again:6.2f} µs per check")
    print(f"one edge (no lock)    {unlocked:6.2f} µs per check ({unlocked - baseline:+.2f} µs)")
    print(f"RSS after {args.ops:,} ids: +{grown / 1024:.1f} MiB (table: 64 MiB, sparse)")
    if args.redis:
        from redis.asyncio import Redis

        from catalyst_interactions.edge.replay import RedisReplayGuard

        guard = RedisReplayGuard(Redis.from_url(args.redis), prefix="bench:seen:")
        sample = ids[:20_000]
        redis_op = await timed(guard.first_seen, sample, expires)
        await guard.aclose()
        print(f"redis                 {redis_op:6.2f} µs per check (one round trip)")


if __name__ == "__main__":
    asyncio.run(main())
