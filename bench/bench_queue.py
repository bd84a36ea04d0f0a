"""Job queue latency: durable enqueue and worker pickup, SQLite and Redis.

Open loop: enqueue *i* starts at ``start + i / rate`` in its own task (as edge
requests would), whatever the earlier ones are doing; its latency runs from that
start until the job is durable. Pickup runs from the start of the enqueue until a
waiting worker holds the job (wall clock, so a worker in another process counts).

Scenarios:
- sqlite, worker in the same process and queue object (`serve`: in-process wake-up);
- sqlite, worker in another process (`serve --no-workers` + `worker`: fallback poll,
  and write-lock contention between processes);
- redis, worker on its own client (XREAD wake-up).

Also prints what one raw SQLite commit costs with synchronous=FULL and NORMAL, and
what the queue's dedicated thread adds over calling SQLite on the event loop.
Prints numbers only; asserts nothing.

    .venv/bin/python bench/bench_queue.py [--rate 500] [--jobs 2000] [--no-redis]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis.asyncio as redis

from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.jobs import Job, JobQueue, SqliteJobQueue
from catalyst_interactions.jobs.redis_queue import RedisJobQueue
from catalyst_interactions.jobs.sqlite_queue import _SCHEMA, _enqueue_op

REDIS_URL = "redis://127.0.0.1:6379/0"
BODY = b'{"type":2,"token":"' + b"x" * 200 + b'","data":{"name":"chart"}}' + b" " * 1200


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<44} p50 {pct(values, 0.50):7.3f} ms   p99 {pct(values, 0.99):7.3f} ms   "
        f"max {max(values) * 1000:7.3f} ms   n={len(values)}"
    )


def make_jobs(count: int) -> list[Job]:
    now_ms = int(time.time() * 1000)
    return [
        Job.for_interaction(make_snowflake(now_ms, i), "chart", BODY, ack_type=5)
        for i in range(count)
    ]


async def consume(queue: JobQueue, count: int, claimed_at: dict[str, float]) -> None:
    while len(claimed_at) < count:
        claimed = await queue.claim("bench", lease_s=60, timeout_s=5)
        if claimed is None:
            break
        claimed_at[claimed.job.id] = time.time()
        await queue.ack(claimed)


async def produce(
    queue: JobQueue, jobs: list[Job], rate: float, started_at: dict[str, float]
) -> list[float]:
    latencies: list[float] = []

    async def one(job: Job) -> None:
        started_at[job.id] = time.time()
        t0 = time.perf_counter()
        assert await queue.enqueue(job)
        latencies.append(time.perf_counter() - t0)

    tasks = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, job in enumerate(jobs):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(job)))
    await asyncio.gather(*tasks)
    return latencies


async def scenario(
    name: str, producer: JobQueue, consumer: JobQueue | None, args: argparse.Namespace
) -> None:
    jobs = make_jobs(args.jobs)
    started_at: dict[str, float] = {}
    claimed_at: dict[str, float] = {}
    await producer.ping()
    child = None
    if consumer is None:
        assert isinstance(producer, SqliteJobQueue)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--consume",
            str(producer.path),
            "--jobs",
            str(args.jobs),
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 24,  # the child reports all its claim times on one line
        )
        assert child.stdout is not None
        await child.stdout.readline()  # "ready"
        latencies = await produce(producer, jobs, args.rate, started_at)
        claimed_at = json.loads(await child.stdout.readline())
        await child.wait()
    else:
        await consumer.ping()
        worker = asyncio.create_task(consume(consumer, len(jobs), claimed_at))
        latencies = await produce(producer, jobs, args.rate, started_at)
        await worker
    pickups = [claimed_at[i] - started_at[i] for i in claimed_at]
    print(line(f"{name}: enqueue (durable)", latencies))
    print(line(f"{name}: enqueue start -> worker holds job", pickups))


def raw_sqlite_commits(directory: Path) -> None:
    for mode in ("FULL", "NORMAL"):
        conn = sqlite3.connect(directory / f"raw-{mode}.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={mode}")
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body BLOB)")
        times = []
        for i in range(2000):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (?, ?)", (str(i), BODY))
            conn.execute("COMMIT")
            times.append(time.perf_counter() - t0)
        conn.close()
        print(line(f"raw sqlite insert+commit, synchronous={mode}", times))


async def thread_overhead(directory: Path) -> None:
    # The same statements on a connection used from the loop thread itself.
    conn = sqlite3.connect(directory / "blocking.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(_SCHEMA)
    queue = SqliteJobQueue(directory / "thread.db")
    await queue.ping()
    direct, via_thread = [], []
    jobs = make_jobs(2000)
    for job in jobs[:1000]:
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        _enqueue_op(conn, job)
        conn.execute("COMMIT")
        direct.append(time.perf_counter() - t0)
    conn.close()
    for job in jobs[1000:]:
        t0 = time.perf_counter()
        await queue.enqueue(job)
        via_thread.append(time.perf_counter() - t0)
    print(line("sqlite enqueue on the loop thread (blocking)", direct))
    print(line("sqlite enqueue via the queue's thread", via_thread))
    await queue.close()


async def child_consumer(path: Path, count: int) -> None:
    queue = SqliteJobQueue(path)
    await queue.ping()
    claimed_at: dict[str, float] = {}
    print("ready", flush=True)
    await consume(queue, count, claimed_at)
    print(json.dumps(claimed_at), flush=True)
    await queue.close()


async def main(args: argparse.Namespace) -> None:
    print(f"rate {args.rate}/s, {args.jobs} jobs per scenario, body {len(BODY)} bytes")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        raw_sqlite_commits(directory)
        await thread_overhead(directory)

        queue = SqliteJobQueue(directory / "same.db")
        await scenario("sqlite, worker in-process", queue, queue, args)
        await queue.close()

        queue = SqliteJobQueue(directory / "split.db")
        await scenario("sqlite, worker in another process", queue, None, args)
        await queue.close()

    if not args.no_redis:
        prefix = f"bench:jobs:{uuid.uuid4().hex}"
        producer = RedisJobQueue(redis.Redis.from_url(REDIS_URL), prefix=prefix)
        consumer = RedisJobQueue(redis.Redis.from_url(REDIS_URL), prefix=prefix)
        try:
            await scenario("redis", producer, consumer, args)
        finally:
            client = redis.Redis.from_url(REDIS_URL)
            keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()
            await producer.close()
            await consumer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--consume", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.consume:
        asyncio.run(child_consumer(arguments.consume, arguments.jobs))
    else:
        asyncio.run(main(arguments))
