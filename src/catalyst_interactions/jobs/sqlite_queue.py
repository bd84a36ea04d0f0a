"""The embedded job queue: one SQLite file in WAL mode, safe across processes.

Every SQLite call of a queue object runs on one dedicated thread that owns the
connection, so the event loop never blocks on disk and the connection is never
shared between threads. Writes use BEGIN IMMEDIATE (the write lock is taken up
front, so busy_timeout applies instead of SQLITE_BUSY_SNAPSHOT failures) and
`synchronous=FULL`: a commit is on disk when enqueue returns, which is the promise
the edge relies on before acknowledging (measured: about 0.2 ms p50, 1 ms p99).

Pickup: a claimer of this object is woken in-process the moment this object
commits a runnable job. Commits by other connections (other processes) are seen
by polling `PRAGMA data_version` every `poll_interval_s`, which reads a counter in
shared memory and takes no lock; only a change leads to a real claim attempt.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from catalyst_interactions.jobs.job import ClaimedJob, Job, JobInfo, JobState
from catalyst_interactions.jobs.queue import LeaseLost, QueueClosed, QueueUnavailable

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    handler TEXT NOT NULL,
    interaction BLOB NOT NULL,
    deadline REAL NOT NULL,
    enqueued_at REAL NOT NULL,
    ack_type INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    consumer TEXT,
    lease_until REAL,
    token INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, seq);
CREATE INDEX IF NOT EXISTS jobs_by_lease ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS jobs_done ON jobs (deadline) WHERE state = 'done';
"""

# A running row picked by a claim is an expired lease: that attempt counts.
_CLAIM_SQL = """
UPDATE jobs SET state = 'running', consumer = ?, lease_until = ?, token = token + 1,
    attempts = attempts + (state = 'running'),
    last_error = CASE WHEN state = 'running' THEN 'lease expired' ELSE last_error END
WHERE seq = ?
RETURNING id, handler, interaction, deadline, enqueued_at, ack_type, attempts, not_before,
    last_error, consumer, lease_until, token
"""
# Each finishing update applies only to the current claim: WHERE id, running, token.
_RENEW_SQL = "UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND token = ?"
# The body holds the interaction token: a done row keeps only the dedupe marker.
_ACK_SQL = """
UPDATE jobs SET state = 'done', interaction = X'', consumer = NULL, lease_until = NULL,
    finished_at = ?
WHERE id = ? AND state = 'running' AND token = ?
"""
_RETRY_SQL = """
UPDATE jobs SET state = 'pending', attempts = attempts + 1, not_before = ?, last_error = ?,
    consumer = NULL, lease_until = NULL
WHERE id = ? AND state = 'running' AND token = ?
"""
_DEAD_SQL = """
UPDATE jobs SET state = 'dead', reason = ?, consumer = NULL, lease_until = NULL,
    finished_at = ?
WHERE id = ? AND state = 'running' AND token = ?
"""
_LIST_SQL = """
SELECT id, handler, state, attempts, deadline, enqueued_at, not_before, last_error,
    consumer, lease_until, reason
FROM jobs WHERE state = ? ORDER BY seq LIMIT ?
"""
_STATES: frozenset[str] = frozenset({"pending", "running", "dead"})
_PURGE_EVERY_S = 60.0


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _claimed_from_row(row: tuple[Any, ...]) -> ClaimedJob:
    job = Job(
        id=row[0],
        handler=row[1],
        interaction=bytes(row[2]),
        deadline=row[3],
        enqueued_at=row[4],
        ack_type=row[5],
        attempts=row[6],
        not_before=row[7],
        last_error=row[8],
    )
    return ClaimedJob(job=job, consumer=row[9], lease_until=row[10], token=str(row[11]))


def _token(claimed: ClaimedJob) -> int:
    try:
        return int(claimed.token)
    except ValueError:
        raise LeaseLost(f"job {claimed.job.id}: not a claim of this queue") from None


class SqliteJobQueue:
    """`JobQueue` on a SQLite file; several objects and processes may share the file."""

    def __init__(
        self,
        path: Path,
        *,
        poll_interval_s: float = 0.05,
        busy_timeout_s: float = 5.0,
        done_retention_s: float = 900.0,
    ) -> None:
        self._path = path
        self._poll_interval_s = poll_interval_s
        self._busy_timeout_s = busy_timeout_s
        # Done rows are dedupe markers: kept this long past the token's death.
        self._done_retention_s = done_retention_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-queue")
        self._conn: sqlite3.Connection | None = None  # touched only on the executor thread
        self._last_purge = 0.0
        self._closed = False
        self._generation = 0
        self._waiters: set[asyncio.Future[None]] = set()

    def __repr__(self) -> str:
        return f"SqliteJobQueue({str(self._path)!r})"

    @property
    def path(self) -> Path:
        return self._path

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    # -- thread side ---------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, timeout=self._busy_timeout_s, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                with _immediate(conn):
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _enqueue_sync(self, job: Job) -> bool:
        conn = self._db()
        with _immediate(conn):
            cur = conn.execute(
                "INSERT INTO jobs (id, handler, interaction, deadline, enqueued_at, ack_type, "
                "attempts, not_before, last_error, state) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT (id) DO NOTHING",
                (
                    job.id,
                    job.handler,
                    job.interaction,
                    job.deadline,
                    job.enqueued_at,
                    job.ack_type,
                    job.attempts,
                    job.not_before,
                    job.last_error,
                ),
            )
        return cur.rowcount == 1

    @staticmethod
    def _candidate(conn: sqlite3.Connection, now: float) -> int | None:
        row = conn.execute(
            "SELECT seq FROM jobs WHERE state = 'pending' AND not_before <= ? ORDER BY seq LIMIT 1",
            (now,),
        ).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT seq FROM jobs WHERE state = 'running' AND lease_until <= ? "
                "ORDER BY lease_until LIMIT 1",
                (now,),
            ).fetchone()
        return None if row is None else int(row[0])

    def _claim_sync(
        self, consumer: str, lease_s: float
    ) -> tuple[ClaimedJob | None, float | None, int]:
        """One claim attempt: (claimed, when the next job becomes due, data_version)."""
        conn = self._db()
        # Read before looking, so any commit after this point changes it.
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        now = time.time()
        # Look without the write lock first: idle claimers must not contend with enqueues.
        if self._candidate(conn, now) is not None:
            with _immediate(conn):
                now = time.time()
                seq = self._candidate(conn, now)
                row = None
                if seq is not None:
                    row = conn.execute(_CLAIM_SQL, (consumer, now + lease_s, seq)).fetchone()
            if row is not None:
                return _claimed_from_row(row), None, version
        if now - self._last_purge >= _PURGE_EVERY_S:
            self._purge_sync(conn, now)
        due = conn.execute(
            "SELECT min(t) FROM (SELECT min(not_before) AS t FROM jobs WHERE state = 'pending' "
            "UNION ALL SELECT min(lease_until) FROM jobs WHERE state = 'running')"
        ).fetchone()[0]
        return None, due, version

    def _purge_sync(self, conn: sqlite3.Connection, now: float) -> None:
        self._last_purge = now
        with _immediate(conn):
            conn.execute(
                "DELETE FROM jobs WHERE state = 'done' AND deadline < ?",
                (now - self._done_retention_s,),
            )

    def _data_version_sync(self) -> int:
        return int(self._db().execute("PRAGMA data_version").fetchone()[0])

    def _update_claimed_sync(self, claimed: ClaimedJob, sql: str, *args: Any) -> None:
        conn = self._db()
        with _immediate(conn):
            cur = conn.execute(sql, (*args, claimed.job.id, _token(claimed)))
        if cur.rowcount != 1:
            raise LeaseLost(f"job {claimed.job.id}: claim is no longer current")

    def _write_sync(self, sql: str, *args: Any) -> int:
        conn = self._db()
        with _immediate(conn):
            return conn.execute(sql, args).rowcount

    def _read_sync(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return self._db().execute(sql, args).fetchall()

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- loop side -----------------------------------------------------------

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._closed:
            raise QueueClosed("queue is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise QueueUnavailable(f"sqlite queue {self._path.name}: {exc}") from exc
        except OSError as exc:
            raise QueueUnavailable(f"sqlite queue {self._path.name}: {exc.strerror}") from exc

    def _notify(self) -> None:
        """Something became runnable (or due times changed): wake this object's claimers."""
        self._generation += 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def _wait(self, timeout_s: float) -> bool:
        """Wait for an in-process notification; False if the timeout passed first."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return False
        finally:
            self._waiters.discard(waiter)
        if self._closed:
            raise QueueClosed("queue is closed")
        return True

    async def enqueue(self, job: Job) -> bool:
        added = await self._run(self._enqueue_sync, job)
        if added:
            self._notify()
        return added

    async def claim(self, consumer: str, lease_s: float, timeout_s: float) -> ClaimedJob | None:
        loop = asyncio.get_running_loop()
        end = loop.time() + max(timeout_s, 0.0)
        while True:
            generation = self._generation
            claimed, due, version = await self._run(self._claim_sync, consumer, lease_s)
            if claimed is not None:
                return claimed
            # Wait for: an in-process notification, a commit by another connection
            # (data_version moves), the next retry/lease becoming due, or the end.
            while generation == self._generation:
                remaining = end - loop.time()
                if remaining <= 0:
                    return None
                wait_s = min(remaining, self._poll_interval_s)
                due_in = None if due is None else due - time.time()
                if due_in is not None and due_in <= wait_s:
                    # Sleep until the due time itself; retry/lease times are wall clock.
                    if due_in > 0:
                        await self._wait(due_in)
                    break
                if await self._wait(wait_s):
                    break
                if await self._run(self._data_version_sync) != version:
                    break

    async def renew(self, claimed: ClaimedJob, lease_s: float) -> ClaimedJob:
        until = time.time() + lease_s
        await self._run(self._update_claimed_sync, claimed, _RENEW_SQL, until)
        return ClaimedJob(
            job=claimed.job, consumer=claimed.consumer, lease_until=until, token=claimed.token
        )

    async def ack(self, claimed: ClaimedJob) -> None:
        await self._run(self._update_claimed_sync, claimed, _ACK_SQL, time.time())

    async def retry(self, claimed: ClaimedJob, delay_s: float, error: str) -> None:
        not_before = time.time() + max(delay_s, 0.0)
        await self._run(self._update_claimed_sync, claimed, _RETRY_SQL, not_before, error)
        self._notify()

    async def dead(self, claimed: ClaimedJob, reason: str) -> None:
        await self._run(self._update_claimed_sync, claimed, _DEAD_SQL, reason, time.time())

    async def depth(self) -> int:
        rows = await self._run(self._read_sync, "SELECT count(*) FROM jobs WHERE state = 'pending'")
        return int(rows[0][0])

    async def list(self, state: JobState, limit: int = 100) -> list[JobInfo]:
        if state not in _STATES:
            raise ValueError(f"state must be one of {sorted(_STATES)}, not {state!r}")
        if limit < 0:
            raise ValueError("limit must not be negative")
        rows = await self._run(self._read_sync, _LIST_SQL, state, limit)
        return [
            JobInfo(
                id=r[0],
                handler=r[1],
                state=r[2],
                attempts=r[3],
                deadline=r[4],
                enqueued_at=r[5],
                not_before=r[6],
                last_error=r[7],
                consumer=r[8],
                lease_until=r[9],
                reason=r[10],
            )
            for r in rows
        ]

    async def requeue_dead(self, job_id: str) -> bool:
        changed = await self._run(
            self._write_sync,
            "UPDATE jobs SET state = 'pending', attempts = 0, not_before = 0, reason = NULL, "
            "finished_at = NULL WHERE id = ? AND state = 'dead'",
            job_id,
        )
        if changed:
            self._notify()
        return changed == 1

    async def drop(self, job_id: str) -> bool:
        # The row stays as a done marker so a redelivered interaction is still refused.
        changed = await self._run(
            self._write_sync,
            "UPDATE jobs SET state = 'done', interaction = X'', consumer = NULL, "
            "lease_until = NULL, reason = 'dropped', finished_at = ? "
            "WHERE id = ? AND state IN ('pending', 'running', 'dead')",
            time.time(),
            job_id,
        )
        return changed == 1

    async def ping(self) -> None:
        await self._run(self._read_sync, "SELECT 1")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._notify()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_sync)
        self._executor.shutdown(wait=True)
