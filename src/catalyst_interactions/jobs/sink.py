"""The edge's side of the queue: turn an acknowledged interaction into a durable job."""

from __future__ import annotations

from ..discord.payloads import Interaction
from .job import Job
from .queue import JobQueue


class QueueJobSink:
    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue

    async def submit(
        self, interaction: Interaction, body: bytes, handler_key: str, ack_type: int
    ) -> bool:
        job = Job.for_interaction(interaction.id, handler_key, body, ack_type=ack_type)
        return await self._queue.enqueue(job)
