"""The embedded job queue: one SQLite file in WAL mode, safe across processes.

Every SQLite call of a queue object runs on one dedicated thread that owns the
connection (`_SqliteThread`), so the event loop never blocks on disk. That thread
commits all the writes waiting for it in one transaction (group commit): under
load one fsync covers many enqueues. Writes use BEGIN IMMEDIATE, so the write lock
is taken up front; while another process holds it the thread retries every fraction of a
millisecond (not SQLite's own 1, 2, 5, 10 ... ms sleeps) until busy_timeout.

Durability: a batch holding an enqueue (or an operator's requeue/drop) commits with
`synchronous=FULL`, so the job is on disk when enqueue returns and the edge may
acknowledge. Claims, renewals, acks, retries and dead-letters commit with NORMAL:
they survive a process crash, and losing one to a power cut only re-runs a job,
which at-least-once delivery already allows.

Pickup: a claimer of this object is woken in-process the moment this object
commits a runnable job. Commits by other connections (other processes) are seen
by polling `PRAGMA data_version` every `poll_interval_s`: it reads a counter in
shared memory and takes no lock; only a change leads to a claim attempt.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar

from catalyst_interactions.fileperms import private_sqlite
from catalyst_interactions.jobs.job import ClaimedJob, Job, JobInfo, JobState
from catalyst_interactions.jobs.queue import (
    ClaimsInBatches,
    LeaseLost,
    OwnerQuotaExceeded,
    QueueClosed,
    QueueUnavailable,
    check_list_request,
    lease_lost,
    renewed,
)

_T = TypeVar("_T")
_P = ParamSpec("_P")

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
    finished_at REAL,
    owner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, seq);
CREATE INDEX IF NOT EXISTS jobs_by_lease ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS jobs_done ON jobs (deadline) WHERE state = 'done';
"""
# Files made before the per-owner cap get the column; the index needs it.
_OWNER_INDEX = """
CREATE INDEX IF NOT EXISTS jobs_live_by_owner ON jobs (owner)
WHERE state IN ('pending', 'running')
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
_ENQUEUE_SQL = """
INSERT INTO jobs (id, handler, interaction, deadline, enqueued_at, ack_type, attempts,
    not_before, last_error, owner, state)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')
ON CONFLICT (id) DO NOTHING
"""
_OWNER_LIVE_SQL = "SELECT count(*) FROM jobs WHERE owner = ? AND state IN ('pending', 'running')"
_NEXT_DUE_SQL = """
SELECT min(t) FROM (
    SELECT min(not_before) AS t FROM jobs WHERE state = 'pending'
    UNION ALL SELECT min(lease_until) FROM jobs WHERE state = 'running'
)
"""
_REQUEUE_SQL = """
UPDATE jobs SET state = 'pending', attempts = 0, not_before = 0, reason = NULL,
    finished_at = NULL
WHERE id = ? AND state = 'dead'
"""
# A dropped job stays as a done row so a redelivered interaction is still refused.
_DROP_SQL = """
UPDATE jobs SET state = 'done', interaction = X'', consumer = NULL, lease_until = NULL,
    reason = 'dropped', finished_at = ?
WHERE id = ? AND state IN ('pending', 'running', 'dead')
"""
_PURGE_SQL = "DELETE FROM jobs WHERE state = 'done' AND deadline < ?"
_PURGE_EVERY_S = 60.0


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


_READ, _WRITE, _DURABLE = 0, 1, 2
_MAX_BATCH = 128
_LOCK_RETRY_S = (0.00005, 0.0001, 0.0002, 0.0005, 0.001)
"""Pauses between tries for the write lock: short first (it is usually held for ~0.1 ms)."""
_Outcome = tuple["_Op", Any, BaseException | None]


class _Op(NamedTuple):
    fn: Callable[[sqlite3.Connection], Any]
    mode: int
    future: asyncio.Future[Any]


def _unavailable(exc: BaseException, path: Path) -> QueueUnavailable:
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    error = QueueUnavailable(f"sqlite queue {path.name}: {detail}")
    error.__cause__ = exc
    return error


class _SqliteThread:
    """The one thread that owns a queue object's connection.

    It takes every operation waiting in its inbox, runs the reads, then runs all
    the writes in one transaction: under load a single fsync covers many enqueues
    (group commit), and nothing is ever waiting on a lock held by its own process.
    The commit is FULL (on disk) when the batch holds a durable operation, NORMAL
    otherwise.
    """

    def __init__(self, path: Path, busy_timeout_s: float) -> None:
        self._path = path
        self._busy_timeout_s = busy_timeout_s
        self._inbox: SimpleQueue[_Op | None] = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._full_sync = True

    def submit(self, mode: int, fn: Callable[[sqlite3.Connection], Any]) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        if self._thread is None:
            # Daemon: a queue left open must not keep the interpreter alive; WAL
            # makes an interrupted transaction harmless.
            self._thread = threading.Thread(target=self._serve, name="sqlite-queue", daemon=True)
            self._thread.start()
        self._inbox.put(_Op(fn, mode, future))
        return future

    async def stop(self) -> None:
        if self._thread is None:
            return
        self._inbox.put(None)
        await asyncio.to_thread(self._thread.join)

    def _serve(self) -> None:
        try:
            stopping = False
            while not stopping:
                first = self._inbox.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < _MAX_BATCH:
                    try:
                        op = self._inbox.get_nowait()
                    except Empty:
                        break
                    if op is None:
                        stopping = True
                        break
                    batch.append(op)
                self._deliver(self._execute(batch))
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            private_sqlite(self._path)
            conn = sqlite3.connect(self._path, timeout=self._busy_timeout_s, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                self._full_sync = True
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                columns = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
                if "owner" not in columns:
                    conn.execute("ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
                conn.execute(_OWNER_INDEX)
                conn.execute("COMMIT")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        """Take the write lock, retrying every fraction of a millisecond while another
        process holds it, until the busy timeout.

        SQLite's own busy handler sleeps 1, 2, 5, 10, 15 ... ms between tries. The edges and
        the workers of one host share this file, and a write transaction holds the lock for
        about 0.1 ms (plus the fsync of an enqueue): with those sleeps a worker that found
        the lock taken waited 1 ms at best, and under a steady stream of enqueues its claims
        starved for tens to hundreds of ms (docs/performance.md, "Process layouts").
        """
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            deadline = time.monotonic() + self._busy_timeout_s
            tries = 0
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    busy = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
                    if not busy or time.monotonic() >= deadline:
                        raise
                time.sleep(_LOCK_RETRY_S[min(tries, len(_LOCK_RETRY_S) - 1)])
                tries += 1
        finally:
            conn.execute(f"PRAGMA busy_timeout = {round(self._busy_timeout_s * 1000)}")

    def _attempt(self, op: _Op, conn: sqlite3.Connection) -> _Outcome:
        try:
            return op, op.fn(conn), None
        except (sqlite3.Error, OSError) as exc:
            return op, None, _unavailable(exc, self._path)
        except Exception as exc:  # noqa: BLE001 (handed to the awaiting caller)
            return op, None, exc

    def _execute(self, batch: list[_Op]) -> list[_Outcome]:
        try:
            conn = self._connect()
        except (sqlite3.Error, OSError) as exc:
            error = _unavailable(exc, self._path)
            return [(op, None, error) for op in batch]
        outcomes = [self._attempt(op, conn) for op in batch if op.mode == _READ]
        writes = [op for op in batch if op.mode != _READ]
        if not writes:
            return outcomes
        full_sync = any(op.mode == _DURABLE for op in writes)
        try:
            if full_sync != self._full_sync:
                conn.execute(
                    "PRAGMA synchronous=FULL" if full_sync else "PRAGMA synchronous=NORMAL"
                )
                self._full_sync = full_sync
            self._begin_immediate(conn)
            results = []
            for op in writes:
                results.append(self._attempt(op, conn))
                # Some errors (disk full, I/O) roll the transaction back by themselves; the
                # next operation would then run in autocommit and persist alone while the
                # whole batch is reported failed. Stop here instead.
                if not conn.in_transaction:
                    raise sqlite3.OperationalError("transaction rolled back by an error")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            error = _unavailable(exc, self._path)
            results = [(op, None, error) for op in writes]
        return outcomes + results

    @staticmethod
    def _deliver(outcomes: list[_Outcome]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].future.get_loop(), []).append(outcome)
        for loop, settled in by_loop.items():
            with suppress(RuntimeError):  # the loop is already closed: nobody waits
                loop.call_soon_threadsafe(_settle, settled)


def _settle(outcomes: list[_Outcome]) -> None:
    for op, result, error in outcomes:
        if op.future.done():  # the caller was cancelled
            continue
        if error is None:
            op.future.set_result(result)
        else:
            op.future.set_exception(error)


# -- operations, run on the queue's thread -----------------------------------


def _enqueue_op(conn: sqlite3.Connection, job: Job, max_per_owner: int) -> bool:
    # Inside the batch's BEGIN IMMEDIATE transaction: the count and the insert are atomic
    # across processes.
    if max_per_owner and job.owner:
        known = conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job.id,)).fetchone()
        if known is not None:
            return False
        live = int(conn.execute(_OWNER_LIVE_SQL, (job.owner,)).fetchone()[0])
        if live >= max_per_owner:
            raise OwnerQuotaExceeded(max_per_owner)
    cur = conn.execute(
        _ENQUEUE_SQL,
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
            job.owner,
        ),
    )
    return cur.rowcount == 1


def _candidates(conn: sqlite3.Connection, now: float, limit: int) -> list[int]:
    """Up to ``limit`` claimable rows: pending ones in enqueue order, then expired leases."""
    seqs = [
        int(row[0])
        for row in conn.execute(
            "SELECT seq FROM jobs WHERE state = 'pending' AND not_before <= ? ORDER BY seq LIMIT ?",
            (now, limit),
        )
    ]
    if len(seqs) < limit:
        seqs += [
            int(row[0])
            for row in conn.execute(
                "SELECT seq FROM jobs WHERE state = 'running' AND lease_until <= ? "
                "ORDER BY lease_until LIMIT ?",
                (now, limit - len(seqs)),
            )
        ]
    return seqs


def _claim_op(
    conn: sqlite3.Connection, consumer: str, lease_s: float, limit: int
) -> tuple[list[ClaimedJob], float | None, int]:
    """(up to ``limit`` claimed jobs, or none with when the next one is due; data_version)."""
    # Read first, so any commit by another connection after this point moves it.
    version = int(conn.execute("PRAGMA data_version").fetchone()[0])
    now = time.time()
    seqs = _candidates(conn, now, limit)
    if not seqs:
        # Nothing written: this transaction's commit does not touch the disk.
        return [], conn.execute(_NEXT_DUE_SQL).fetchone()[0], version
    claimed = [
        _claimed_from_row(conn.execute(_CLAIM_SQL, (consumer, now + lease_s, seq)).fetchone())
        for seq in seqs
    ]
    return claimed, None, version


def _data_version_op(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def _finish_op(conn: sqlite3.Connection, sql: str, claimed: ClaimedJob, *args: Any) -> None:
    cur = conn.execute(sql, (*args, claimed.job.id, _token(claimed)))
    if cur.rowcount != 1:
        raise lease_lost(claimed)


def _change_op(conn: sqlite3.Connection, sql: str, *args: Any) -> int:
    return conn.execute(sql, args).rowcount


def _fetch_op(conn: sqlite3.Connection, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return conn.execute(sql, args).fetchall()


# -- the queue ----------------------------------------------------------------


class SqliteJobQueue(ClaimsInBatches):
    """`JobQueue` on a SQLite file; several objects and processes may share the file."""

    def __init__(
        self,
        path: Path,
        *,
        poll_interval_s: float = 0.05,
        busy_timeout_s: float = 5.0,
        done_retention_s: float = 900.0,
        max_per_owner: int = 0,
    ) -> None:
        self._path = path
        self._max_per_owner = max_per_owner
        self._poll_interval_s = poll_interval_s
        # Done rows are dedupe markers: kept this long past the token's death.
        self._done_retention_s = done_retention_s
        self._thread = _SqliteThread(path, busy_timeout_s)
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

    async def _call(
        self,
        mode: int,
        fn: Callable[Concatenate[sqlite3.Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        if self._closed:
            raise QueueClosed("queue is closed")
        result: _T = await self._thread.submit(mode, lambda conn: fn(conn, *args, **kwargs))
        return result

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
        added = await self._call(_DURABLE, _enqueue_op, job, self._max_per_owner)
        if added:
            self._notify()
        return added

    async def _claim_many(
        self, consumer: str, lease_s: float, timeout_s: float, limit: int
    ) -> list[ClaimedJob]:
        loop = asyncio.get_running_loop()
        end = loop.time() + max(timeout_s, 0.0)
        while True:
            generation = self._generation
            claimed, due, version = await self._call(_WRITE, _claim_op, consumer, lease_s, limit)
            if claimed:
                return claimed
            if time.time() - self._last_purge >= _PURGE_EVERY_S:
                self._last_purge = time.time()
                await self._call(
                    _WRITE, _change_op, _PURGE_SQL, self._last_purge - self._done_retention_s
                )
            # Wait for: an in-process notification, a commit by another connection
            # (data_version moves), the next retry/lease becoming due, or the end.
            while generation == self._generation:
                remaining = end - loop.time()
                if remaining <= 0:
                    return []
                wait_s = min(remaining, self._poll_interval_s)
                due_in = None if due is None else due - time.time()
                if due_in is not None and due_in <= wait_s:
                    if due_in > 0:
                        await self._wait(due_in)
                    break
                if await self._wait(wait_s):
                    break
                if await self._call(_READ, _data_version_op) != version:
                    break

    async def renew(self, claimed: ClaimedJob, lease_s: float) -> ClaimedJob:
        until = time.time() + lease_s
        await self._call(_WRITE, _finish_op, _RENEW_SQL, claimed, until)
        return renewed(claimed, until)

    async def ack(self, claimed: ClaimedJob) -> None:
        await self._call(_WRITE, _finish_op, _ACK_SQL, claimed, time.time())

    async def retry(self, claimed: ClaimedJob, delay_s: float, error: str) -> None:
        not_before = time.time() + max(delay_s, 0.0)
        await self._call(_WRITE, _finish_op, _RETRY_SQL, claimed, not_before, error)
        self._notify()

    async def dead(self, claimed: ClaimedJob, reason: str) -> None:
        await self._call(_WRITE, _finish_op, _DEAD_SQL, claimed, reason, time.time())

    async def depth(self) -> int:
        rows = await self._call(
            _READ, _fetch_op, "SELECT count(*) FROM jobs WHERE state = 'pending'"
        )
        return int(rows[0][0])

    async def list(self, state: JobState, limit: int = 100) -> list[JobInfo]:
        check_list_request(state, limit)
        rows = await self._call(_READ, _fetch_op, _LIST_SQL, state, limit)
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
        changed = await self._call(_DURABLE, _change_op, _REQUEUE_SQL, job_id)
        if changed:
            self._notify()
        return changed == 1

    async def drop(self, job_id: str) -> bool:
        changed = await self._call(_DURABLE, _change_op, _DROP_SQL, time.time(), job_id)
        return changed == 1

    async def ping(self) -> None:
        await self._call(_READ, _fetch_op, "SELECT 1")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._notify()
        await self._thread.stop()
