"""The unit of deferred work: one acknowledged Discord interaction."""

from __future__ import annotations

import enum
import time
from typing import Literal

import msgspec

from catalyst_interactions.discord.snowflake import token_expires_at_s

JobState = Literal["pending", "running", "dead"]


class DeadReason(enum.StrEnum):
    """Why a worker gave a job up. The value is the ``reason`` label of
    ``catalyst_jobs_dead_lettered_total``; :meth:`text` is the reason the dead letter keeps
    for operators (``jobs list --state dead``), with any detail after a colon."""

    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (a reason code, not a secret)
    TIMED_OUT = "timed_out"
    HANDLER_FAILED = "handler_failed"
    DELIVERY_FAILED = "delivery_failed"
    MALFORMED_INTERACTION = "malformed_interaction"
    WORKER_ERROR = "worker_error"

    def text(self, detail: str = "") -> str:
        """``"handler failed: ValueError after 5 attempts"``; just the words without detail."""
        words = self.value.replace("_", " ")
        return f"{words}: {detail}" if detail else words


#: The acknowledgements after which an interaction is finished by a job.
DEFERRED_ACK_TYPES = frozenset({5, 6})


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """A deferred interaction waiting to be run by a worker.

    `id` is the Discord interaction id: a queue holds at most one job per id,
    however often Discord (or a retrying edge) delivers the interaction.
    `attempts` counts earlier attempts that did not finish: explicit retries
    and leases that expired under a crashed or stuck consumer.
    """

    id: str
    handler: str
    interaction: bytes
    deadline: float
    enqueued_at: float
    ack_type: int
    attempts: int = 0
    not_before: float = 0.0
    last_error: str | None = None
    owner: str = ""
    """Who the job works for (the user id), for the per-owner cap; empty: uncapped."""

    def __repr__(self) -> str:
        # The raw interaction holds the interaction token: never let it reach a log.
        return (
            f"Job(id={self.id!r}, handler={self.handler!r}, attempts={self.attempts}, "
            f"ack_type={self.ack_type}, deadline={self.deadline:.3f})"
        )

    __str__ = __repr__

    @classmethod
    def for_interaction(
        cls,
        interaction_id: str,
        handler: str,
        interaction: bytes,
        *,
        ack_type: int,
        now: float | None = None,
        owner: str = "",
    ) -> Job:
        """The job for an interaction the edge has just acknowledged with `ack_type`."""
        if ack_type not in DEFERRED_ACK_TYPES:
            raise ValueError(f"ack_type must be 5 or 6, not {ack_type!r}")
        if not interaction_id.isdigit():
            raise ValueError("interaction_id must be a snowflake (decimal digits)")
        return cls(
            id=interaction_id,
            handler=handler,
            interaction=interaction,
            deadline=token_expires_at_s(interaction_id),
            enqueued_at=time.time() if now is None else now,
            ack_type=ack_type,
            owner=owner,
        )

    def expired(self, now: float | None = None) -> bool:
        """True once the interaction token can no longer edit or follow up."""
        return (time.time() if now is None else now) >= self.deadline


class ClaimedJob(msgspec.Struct, frozen=True, kw_only=True):
    """A job handed to one consumer until `lease_until`.

    `token` fences the claim: once the lease has expired and someone else has
    claimed the job, this claim's renew/ack/retry/dead raise `LeaseLost`.
    """

    job: Job
    consumer: str
    lease_until: float
    token: str


class JobInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What an operator sees of a job (no interaction body: it holds a token)."""

    id: str
    handler: str
    state: JobState
    attempts: int
    deadline: float
    enqueued_at: float
    not_before: float
    last_error: str | None
    consumer: str | None = None
    lease_until: float | None = None
    reason: str | None = None
