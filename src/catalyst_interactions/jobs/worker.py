"""Workers: claim jobs, run the deferred handler, deliver the result, and account for it.

Every job ends in exactly one of: delivered (ack), retried (backoff with jitter, inside the
token's 15-minute life) or dead (a reason, and the user told while the token still works).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..discord.payloads import Interaction, PayloadError, decode_interaction
from ..discord.rest import DiscordError, InvalidToken, UnknownInteraction
from ..framework.dispatch import Delivery, Dispatcher
from ..metrics import Metrics
from .delivery import Deliverer
from .job import ClaimedJob, DeadReason, Job
from .live import RestLiveMessage
from .queue import JobQueue, LeaseLost, QueueError

log = logging.getLogger("catalyst_interactions.worker")

# Leave this much of the token's life to tell the user when the work cannot finish.
NOTICE_MARGIN_S = 45.0
_CLAIM_TIMEOUT_S = 0.25  # also bounds how long a stop waits for a claim in flight


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 30.0
    handler_timeout_s: float = 300.0

    def delay(self, attempts: int) -> float:
        """Exponential backoff with full jitter (spreads retries of many jobs apart)."""
        return random.uniform(0, min(self.cap_s, self.base_s * 2 ** max(attempts, 0)))


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        dispatcher: Dispatcher[Any],
        deliverer: Deliverer,
        *,
        metrics: Metrics,
        concurrency: int = 8,
        lease_s: float = 30.0,
        policy: RetryPolicy | None = None,
        consumer: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
        self._dispatcher = dispatcher
        self._deliverer = deliverer
        self._metrics = metrics
        self._slots = asyncio.Semaphore(concurrency)
        self._lease_s = lease_s
        self._policy = policy or RetryPolicy()
        self.consumer = consumer or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._clock = clock
        self._stopping = asyncio.Event()
        self._inflight: dict[asyncio.Task[None], ClaimedJob] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._gauges_failing = False  # logged once when the gauges' reads start failing

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._loop_task = asyncio.create_task(self.run(), name="catalyst-worker")

    async def run(self) -> None:
        log.info("worker started", extra={"consumer": self.consumer})
        depth_updated = 0.0
        while not self._stopping.is_set():
            await self._slots.acquire()
            free = 1
            # Every other free slot too (this never waits): one claim fills them all, so the
            # pickup rate does not hang on one queue round trip per job.
            while not self._slots.locked():
                await self._slots.acquire()
                free += 1
            try:
                batch = await self._queue.claim_many(
                    self.consumer, self._lease_s, timeout_s=_CLAIM_TIMEOUT_S, limit=free
                )
            except QueueError:
                self._free_slots(free)
                if self._stopping.is_set():
                    break
                log.exception("claim failed; retrying in 1 s")
                await asyncio.sleep(1.0)
                continue
            self._free_slots(free - len(batch))
            for claimed in batch:
                if self._stopping.is_set():
                    # Claimed while stopping: hand it straight back rather than hold it for
                    # a lease.
                    self._slots.release()
                    await self._release(claimed)
                    continue
                task = asyncio.create_task(self._process(claimed))
                self._inflight[task] = claimed
                task.add_done_callback(self._finished)
            if self._clock() - depth_updated > 2.0:
                depth_updated = self._clock()
                await self._observe_queue()

    async def _observe_queue(self) -> None:
        """Depth and head-of-queue age for the gauges (two cheap reads every 2 s). A queue
        that cannot answer leaves the gauges as they were; that is logged when it starts and
        when it ends, not every 2 s."""
        try:
            depth = await self._queue.depth()
            head = await self._queue.list("pending", 1)
        except QueueError as exc:
            if not self._gauges_failing:
                self._gauges_failing = True
                log.warning(
                    "queue gauges not updated: the queue did not answer",
                    extra={"consumer": self.consumer, "error": _describe(exc)},
                )
            return
        if self._gauges_failing:
            self._gauges_failing = False
            log.info("queue gauges updated again", extra={"consumer": self.consumer})
        self._metrics.queue_pending.set(depth)
        age = self._clock() - head[0].enqueued_at if head else 0.0
        self._metrics.queue_oldest_age.set(max(0.0, age))

    async def _release(self, claimed: ClaimedJob) -> None:
        """Hand a claimed job back to pending at once, so another worker picks it up without
        waiting for the lease to run out. If the queue cannot take it back, the lease still
        expires and the job is claimed again then: slower, not lost."""
        try:
            await self._queue.retry(claimed, 0.0, "released at shutdown")
        except QueueError as exc:
            log.warning(
                "could not release the job at shutdown; it is claimed again when its lease ends",
                extra={
                    "interaction_id": claimed.job.id,
                    "handler": claimed.job.handler,
                    "consumer": self.consumer,
                    "error": _describe(exc),
                },
            )

    def _free_slots(self, slots: int) -> None:
        for _ in range(slots):
            self._slots.release()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        self._slots.release()

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop claiming; let running jobs finish for ``grace_s``, then release the rest."""
        self._stopping.set()
        if self._loop_task is not None:
            # Let a claim in flight finish (it waits at most its short timeout) so its job is
            # handed back, not left leased; cancel only a loop that is stuck beyond that.
            done, _ = await asyncio.wait({self._loop_task}, timeout=_CLAIM_TIMEOUT_S + 0.5)
            if not done:
                self._loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._loop_task
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=grace_s)
        for task, claimed in list(self._inflight.items()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self._release(claimed)
        log.info("worker stopped", extra={"consumer": self.consumer})

    # -- one job --------------------------------------------------------------------------
    async def _process(self, claimed: ClaimedJob) -> None:
        job = claimed.job
        started = self._clock()
        if job.attempts == 0:
            self._metrics.job_wait.observe(max(0.0, started - job.enqueued_at))
        extra = {"interaction_id": job.id, "handler": job.handler, "attempt": job.attempts + 1}
        if job.expired(started):
            await self._dead(claimed, DeadReason.TOKEN_EXPIRED, extra)
            return
        try:
            interaction = decode_interaction(job.interaction)
        except PayloadError:
            await self._dead(claimed, DeadReason.MALFORMED_INTERACTION, extra)
            return
        renewer = asyncio.create_task(self._renew(claimed))
        try:
            await self._run(claimed, interaction, started, extra)
        except LeaseLost:
            log.warning("lease lost; another worker owns the job now", extra=extra)
        except Exception as exc:  # anything else (ledger, queue, a bug) ends here
            # Never leave the job "running" for the lease to replay it until the token dies:
            # account for it now, as a retry or a dead letter with the user told.
            log.exception("job failed outside the handler", extra=extra)
            await self._give_up_or_retry(
                claimed, interaction, DeadReason.WORKER_ERROR, type(exc).__name__, extra
            )
        finally:
            renewer.cancel()

    async def _run(
        self,
        claimed: ClaimedJob,
        interaction: Interaction,
        started: float,
        extra: dict[str, object],
    ) -> None:
        job = claimed.job
        budget = min(self._policy.handler_timeout_s, job.deadline - started - NOTICE_MARGIN_S)
        try:
            if budget <= 0:
                raise TimeoutError
            live = self._deliverer.live_message(
                job, interaction, stop_at=job.deadline - NOTICE_MARGIN_S, extra=extra
            )
            delivery = await asyncio.wait_for(self._handle(interaction, live), budget)
        except TimeoutError:
            await self._tell(
                job,
                interaction,
                "Sorry, this is taking too long. Please try again in a few minutes.",
                extra,
            )
            await self._dead(claimed, DeadReason.TIMED_OUT, extra)
            return
        except Exception as exc:  # a handler bug: retried, then dead-lettered with its type
            error = type(exc).__name__
            log.exception("handler failed", extra=extra)
            if not await self._retry(claimed, DeadReason.HANDLER_FAILED.text(error), extra):
                await self._tell(
                    job,
                    interaction,
                    f"Sorry, something went wrong on our side. Reference: `{job.id}`.",
                    extra,
                )
                await self._dead(
                    claimed,
                    DeadReason.HANDLER_FAILED,
                    extra,
                    f"{error} after {job.attempts + 1} attempts",
                )
            return
        try:
            await self._deliverer.deliver(job, interaction, delivery)
        except (InvalidToken, UnknownInteraction):
            await self._dead(claimed, DeadReason.TOKEN_EXPIRED, extra)
            return
        except DiscordError as exc:
            if exc.permanent or not await self._retry(
                claimed, DeadReason.DELIVERY_FAILED.text(repr(exc)), extra
            ):
                # Discord refused the answer (too large, invalid ...): the user still gets one.
                await self._tell(
                    job,
                    interaction,
                    f"Sorry, the answer could not be shown. Reference: `{job.id}`.",
                    extra,
                )
                await self._dead(claimed, DeadReason.DELIVERY_FAILED, extra, repr(exc))
            return
        await self._queue.ack(claimed)
        self._metrics.jobs_delivered.inc()
        self._metrics.job_run.observe(self._clock() - started)
        log.info("job delivered", extra=extra | {"ms": round((self._clock() - started) * 1000, 1)})

    async def _handle(self, interaction: Interaction, live: RestLiveMessage) -> Delivery:
        try:
            return await self._dispatcher.run_deferred(interaction, live)
        finally:
            # Before the answer is delivered: no progress edit may land after it.
            await live.close()

    async def _give_up_or_retry(
        self,
        claimed: ClaimedJob,
        interaction: Interaction,
        code: DeadReason,
        detail: str,
        extra: dict[str, object],
    ) -> None:
        try:
            if await self._retry(claimed, code.text(detail), extra):
                return
            await self._tell(
                claimed.job,
                interaction,
                f"Sorry, something went wrong on our side. Reference: `{claimed.job.id}`.",
                extra,
            )
            await self._dead(claimed, code, extra, detail)
        except QueueError as exc:
            # The job stays claimed: when its lease ends it is claimed again (and retried or
            # dead-lettered then), so this is delayed, not lost.
            log.warning(
                "could not retry or dead-letter the job; its lease will hand it out again",
                extra=extra | {"reason": code.text(detail), "error": _describe(exc)},
            )

    async def _retry(self, claimed: ClaimedJob, reason: str, extra: dict[str, object]) -> bool:
        """Schedule another attempt if one fits before the token's end; False otherwise."""
        job = claimed.job
        delay = self._policy.delay(job.attempts)
        if job.attempts + 1 >= self._policy.max_attempts or (
            self._clock() + delay > job.deadline - NOTICE_MARGIN_S
        ):
            return False
        await self._queue.retry(claimed, delay, reason)
        self._metrics.jobs_retried.inc()
        log.warning("job retried", extra=extra | {"reason": reason, "delay_s": round(delay, 2)})
        return True

    async def _dead(
        self, claimed: ClaimedJob, code: DeadReason, extra: dict[str, object], detail: str = ""
    ) -> None:
        reason = code.text(detail)
        await self._queue.dead(claimed, reason)
        self._metrics.jobs_dead.labels(code.value).inc()
        log.error("job dead-lettered", extra=extra | {"reason": reason})

    async def _tell(
        self, job: Job, interaction: Interaction, text: str, extra: dict[str, object]
    ) -> None:
        if job.expired(self._clock()):
            return
        try:
            await self._deliverer.tell_failure(job, interaction, text)
        except DiscordError as exc:
            log.warning("could not tell the user", extra=extra | {"error": repr(exc)})

    async def _renew(self, claimed: ClaimedJob) -> None:
        delay = self._lease_s / 3
        while True:
            await asyncio.sleep(delay)
            try:
                claimed = await self._queue.renew(claimed, self._lease_s)
                delay = self._lease_s / 3
            except LeaseLost:
                return  # someone else owns it now; _run finds out at ack
            except QueueError:
                # A blip (SQLite busy, Redis reconnecting): try again sooner, while the lease
                # still holds, rather than let it lapse and the job run twice.
                log.warning(
                    "lease renewal failed; retrying", extra={"interaction_id": claimed.job.id}
                )
                delay = max(0.05, self._lease_s / 10)


def _describe(error: QueueError) -> str:
    """A queue error for a log line: its class and message. Queue messages name the backend
    and what failed, never a URL with its password (see redis_queue and sqlite_queue)."""
    return f"{type(error).__name__}: {error}"
