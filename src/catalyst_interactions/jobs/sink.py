"""The edge's side of the queue: turn an acknowledged interaction into a durable job."""

from __future__ import annotations

from ..discord.payloads import Interaction
from ..framework.errors import CheckFailure
from .job import Job
from .queue import JobQueue, OwnerQuotaExceeded


def busy_message(cap: int) -> str:
    return (
        f"Slow down: you already have {cap} request{'' if cap == 1 else 's'} in progress. "
        "Wait for one to finish, then try again."
    )


class QueueJobSink:
    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue

    async def submit(
        self, interaction: Interaction, body: bytes, handler_key: str, ack_type: int
    ) -> bool:
        """True when stored, False for a duplicate; :class:`CheckFailure` (a message for the
        user) when the user already has as many jobs as the queue allows."""
        author = interaction.author
        job = Job.for_interaction(
            interaction.id,
            handler_key,
            body,
            ack_type=ack_type,
            owner=author.id if author is not None else "",
        )
        try:
            return await self._queue.enqueue(job)
        except OwnerQuotaExceeded as exc:
            raise CheckFailure(busy_message(exc.owner_cap)) from None
