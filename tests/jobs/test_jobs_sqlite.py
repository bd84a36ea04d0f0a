"""SQLite backend: several queue objects and processes on one file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from catalyst_interactions.jobs import Job, QueueUnavailable, SqliteJobQueue

MakeJob = Callable[..., Job]

_CHILD_CLAIMER = """
import asyncio, json, sys
from pathlib import Path
from catalyst_interactions.jobs import SqliteJobQueue

async def main():
    queue = SqliteJobQueue(Path(sys.argv[1]))
    await queue.ping()
    print("ready", flush=True)
    sys.stdin.readline()
    got = []
    while (claimed := await queue.claim("child", 60, 0)) is not None:
        got.append(claimed.job.id)
        await queue.ack(claimed)
    print(json.dumps(got), flush=True)
    await queue.close()

asyncio.run(main())
"""

_CHILD_ENQUEUER = """
import asyncio, os, sys
from pathlib import Path
from catalyst_interactions.jobs import Job, SqliteJobQueue

async def main():
    queue = SqliteJobQueue(Path(sys.argv[1]))
    job = Job.for_interaction(sys.argv[2], "chart", b"{}", ack_type=5)
    assert await queue.enqueue(job)
    print("enqueued", flush=True)
    os._exit(0)  # die without closing anything, as a crash would

asyncio.run(main())
"""


async def drain(queue: SqliteJobQueue, consumer: str) -> list[str]:
    got = []
    while (claimed := await queue.claim(consumer, 60, 0)) is not None:
        got.append(claimed.job.id)
        await queue.ack(claimed)
    return got


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "queue.db"


async def test_two_objects_never_share_a_job(db: Path, make_job: MakeJob) -> None:
    first, second = SqliteJobQueue(db), SqliteJobQueue(db)
    jobs = [make_job() for _ in range(200)]
    for job in jobs:
        assert await first.enqueue(job)
    got_first, got_second = await asyncio.gather(drain(first, "a"), drain(second, "b"))
    assert set(got_first).isdisjoint(got_second)
    assert sorted(got_first + got_second) == sorted(job.id for job in jobs)
    assert got_first
    assert got_second
    await first.close()
    await second.close()


@pytest.mark.fault
async def test_a_second_process_never_gets_the_same_job(db: Path, make_job: MakeJob) -> None:
    queue = SqliteJobQueue(db)
    jobs = [make_job() for _ in range(400)]
    for job in jobs:
        assert await queue.enqueue(job)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CHILD_CLAIMER,
        str(db),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    async with asyncio.timeout(30):
        assert await child.stdout.readline() == b"ready\n"
        child.stdin.write(b"go\n")
        await child.stdin.drain()
        got_here = await drain(queue, "parent")
        got_there = json.loads(await child.stdout.readline())
        assert await child.wait() == 0
    assert set(got_here).isdisjoint(got_there)
    assert sorted(got_here + got_there) == sorted(job.id for job in jobs)
    assert got_here
    assert got_there
    await queue.close()


@pytest.mark.fault
async def test_enqueue_survives_the_process_dying(db: Path, make_job: MakeJob) -> None:
    job_id = make_job().id
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD_ENQUEUER, str(db), job_id, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(child.communicate(), 30)
    assert out == b"enqueued\n"
    queue = SqliteJobQueue(db)
    claimed = await queue.claim("w", 30, 1)
    assert claimed is not None
    assert claimed.job.id == job_id
    await queue.close()


async def test_other_objects_see_new_jobs_by_polling(db: Path, make_job: MakeJob) -> None:
    consumer = SqliteJobQueue(db, poll_interval_s=0.02)
    producer = SqliteJobQueue(db)
    await producer.ping()
    claim = asyncio.create_task(consumer.claim("w", 30, timeout_s=10))
    async with asyncio.timeout(5):
        while consumer.waiting == 0:
            await asyncio.sleep(0.001)
    job = make_job()
    await producer.enqueue(job)
    enqueued_at = time.perf_counter()
    claimed = await claim
    assert claimed is not None
    assert claimed.job.id == job.id
    assert time.perf_counter() - enqueued_at < 1.0  # the poll, not the 10 s timeout
    await consumer.close()
    await producer.close()


async def test_finished_jobs_keep_no_interaction_token(db: Path, make_job: MakeJob) -> None:
    queue = SqliteJobQueue(db)
    job = make_job()
    assert b"tok-secret" in job.interaction
    await queue.enqueue(job)
    claimed = await queue.claim("w", 30, 1)
    assert claimed is not None
    await queue.ack(claimed)
    await queue.close()
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT interaction FROM jobs WHERE id = ?", (job.id,)).fetchone()
    assert row == (b"",)
    assert "tok-secret" not in repr(job)


async def test_the_file_is_in_wal_mode(db: Path) -> None:
    queue = SqliteJobQueue(db)
    await queue.ping()
    await queue.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_unusable_path_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    queue = SqliteJobQueue(blocker / "queue.db")
    with pytest.raises(QueueUnavailable):
        await queue.ping()
    await queue.close()


async def test_a_writer_gets_the_lock_soon_after_another_process_releases_it(
    db: Path, make_job: MakeJob
) -> None:
    """Another connection (an edge process, say) holds the write lock for 60 ms at a time.
    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries, so it
    would take the lock about 18 ms after a 60 ms hold ends; the queue retries every
    fraction of a millisecond and is in within a few."""
    queue = SqliteJobQueue(db)
    await queue.ping()
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    late_ms = []
    for _ in range(7):
        other.execute("BEGIN IMMEDIATE")
        released_at = 0.0

        def release_after_hold() -> None:
            nonlocal released_at
            time.sleep(0.06)
            other.execute("COMMIT")
            released_at = time.perf_counter()

        holder = asyncio.create_task(asyncio.to_thread(release_after_hold))
        assert await queue.enqueue(make_job())
        done_at = time.perf_counter()
        await holder
        late_ms.append((done_at - released_at) * 1000)
    other.close()
    await queue.close()
    late_ms.sort()
    assert late_ms[len(late_ms) // 2] < 8, late_ms


async def test_a_lock_held_past_the_busy_timeout_is_unavailable(
    db: Path, make_job: MakeJob
) -> None:
    queue = SqliteJobQueue(db, busy_timeout_s=0.2)
    await queue.ping()
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    started = time.perf_counter()
    with pytest.raises(QueueUnavailable, match="locked"):
        await queue.enqueue(make_job())
    assert 0.2 <= time.perf_counter() - started < 2
    other.execute("ROLLBACK")
    assert await queue.enqueue(make_job())  # and the connection still works afterwards
    other.close()
    await queue.close()
