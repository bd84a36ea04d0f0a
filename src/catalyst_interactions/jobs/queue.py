"""The job queue contract shared by every backend, and its errors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol, get_args

import msgspec

from catalyst_interactions.jobs.job import ClaimedJob, DeadReason, Job, JobInfo, JobState

#: Reason recorded by workers for jobs whose interaction token died first.
TOKEN_EXPIRED = DeadReason.TOKEN_EXPIRED.text()


class QueueError(Exception):
    """Base of every error raised by a job queue."""


class QueueUnavailable(QueueError):
    """The backend cannot be reached or refused the operation (busy, I/O, network)."""


class QueueClosed(QueueError):
    """The queue object was closed."""


class LeaseLost(QueueError):
    """The claim is no longer the job's current claim (lease expired and reclaimed,
    job dropped, or already finished)."""


class OwnerQuotaExceeded(QueueError):
    """The job's owner already has the most jobs allowed waiting or running at once."""

    def __init__(self, owner_cap: int) -> None:
        super().__init__(f"owner has {owner_cap} jobs waiting or running")
        self.owner_cap = owner_cap


class InvalidQueueUrl(QueueError, ValueError):
    """The queue URL is malformed or names an unknown backend."""


#: The states `JobQueue.list` accepts.
LISTABLE_STATES: frozenset[str] = frozenset(get_args(JobState))


def lease_lost(claimed: ClaimedJob) -> LeaseLost:
    """The error every backend raises when `claimed` is no longer the job's current claim."""
    return LeaseLost(f"job {claimed.job.id}: claim is no longer current")


def renewed(claimed: ClaimedJob, lease_until: float) -> ClaimedJob:
    """`claimed` with its lease moved to `lease_until` (what `renew` returns)."""
    return msgspec.structs.replace(claimed, lease_until=lease_until)


def check_list_request(state: str, limit: int) -> None:
    """Refuse a `JobQueue.list` call with an unknown state or a negative limit."""
    if state not in LISTABLE_STATES:
        raise ValueError(f"state must be one of {sorted(LISTABLE_STATES)}, not {state!r}")
    if limit < 0:
        raise ValueError("limit must not be negative")


class JobQueue(Protocol):
    """A durable, at-least-once queue of deferred interactions.

    Jobs move pending -> running (claimed under a lease) -> done | pending (retry)
    | dead. A running job whose lease runs out is handed to the next claimer with
    `attempts + 1`. Jobs past their deadline are still handed out: the worker
    decides to dead-letter them with reason `TOKEN_EXPIRED`.
    """

    async def enqueue(self, job: Job) -> bool:
        """Store `job` durably; False if its id was already enqueued, done or dead.

        With a per-owner cap (`max_per_owner` of the backend) a new job whose `owner`
        already has that many jobs pending or running raises `OwnerQuotaExceeded`: one
        member cannot fill the queue ahead of everyone else.

        Once this returns True the job survives a crash of this process, so the
        edge may send its 5/6 acknowledgement. Dedupe lasts at least until the
        interaction token has expired, even after the job completed.
        """
        ...

    async def claim(self, consumer: str, lease_s: float, timeout_s: float) -> ClaimedJob | None:
        """The next runnable job leased to `consumer`, waiting up to `timeout_s`.

        Returns within milliseconds of an enqueue; None when the timeout passes.
        """
        ...

    async def claim_many(
        self, consumer: str, lease_s: float, timeout_s: float, limit: int
    ) -> list[ClaimedJob]:
        """Up to `limit` runnable jobs leased to `consumer`, in the order `claim` hands them
        out; waits up to `timeout_s` only for the first one (empty list: none came).

        A worker with several free slots takes them in one round trip: on SQLite one write
        transaction instead of one per job, which is what bounds a worker's pickup rate
        while the edges hold the write lock for their enqueues.
        """
        ...

    async def renew(self, claimed: ClaimedJob, lease_s: float) -> ClaimedJob:
        """Extend the lease to now + `lease_s`; raises `LeaseLost` if it was taken."""
        ...

    async def ack(self, claimed: ClaimedJob) -> None:
        """Mark the job done (its id stays deduplicated); raises `LeaseLost`."""
        ...

    async def retry(self, claimed: ClaimedJob, delay_s: float, error: str) -> None:
        """Put the job back with attempts + 1, runnable after `delay_s`; raises `LeaseLost`."""
        ...

    async def dead(self, claimed: ClaimedJob, reason: str) -> None:
        """Move the job to the dead letters with `reason`; raises `LeaseLost`."""
        ...

    async def depth(self) -> int:
        """Number of pending jobs, including retries waiting for their delay."""
        ...

    async def list(self, state: JobState, limit: int = 100) -> list[JobInfo]:
        """Up to `limit` jobs in `state`, oldest first."""
        ...

    async def requeue_dead(self, job_id: str) -> bool:
        """Make a dead job pending again with attempts reset; False if it is not dead."""
        ...

    async def drop(self, job_id: str) -> bool:
        """Delete a pending, running or dead job (its id stays deduplicated).

        False if there is no such live job.
        """
        ...

    async def ping(self) -> None:
        """Raise `QueueUnavailable` if the backend cannot be reached."""
        ...

    async def close(self) -> None:
        """Release connections and threads; waiting claims raise `QueueClosed`."""
        ...

    @property
    def waiting(self) -> int:
        """Claims of this object currently blocked waiting for a job (idle consumers)."""
        ...


class ClaimsInBatches(ABC):
    """What the backends share of claiming: `claim` is the first of `claim_many` with a
    limit of one, so each backend has a single claim path."""

    async def claim(self, consumer: str, lease_s: float, timeout_s: float) -> ClaimedJob | None:
        claimed = await self.claim_many(consumer, lease_s, timeout_s, 1)
        return claimed[0] if claimed else None

    async def claim_many(
        self, consumer: str, lease_s: float, timeout_s: float, limit: int
    ) -> list[ClaimedJob]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        return await self._claim_many(consumer, lease_s, timeout_s, limit)

    @abstractmethod
    async def _claim_many(
        self, consumer: str, lease_s: float, timeout_s: float, limit: int
    ) -> list[ClaimedJob]:
        """`claim_many` with `limit` already checked to be at least 1."""
