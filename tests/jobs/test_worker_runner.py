"""The worker loop itself: bounded concurrency, graceful stop, and the token's deadline."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from catalyst_interactions.discord.messages import Message
from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.framework.context import CommandContext
from catalyst_interactions.framework.dispatch import Dispatcher
from catalyst_interactions.framework.modes import Mode
from catalyst_interactions.framework.registry import Registry
from catalyst_interactions.jobs import DeadReason, Job, QueueUnavailable, SqliteJobQueue
from catalyst_interactions.jobs.worker import Worker
from catalyst_interactions.metrics import Metrics

SECRET_TOKEN = "aW50ZXJhY3Rpb246MTIzOnNlY3JldC10b2tlbg"


class RecordingDeliverer:
    """Stands in for Discord REST: records what the worker would send."""

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self.failures: list[str] = []

    async def deliver(self, job: Job, interaction: Any, delivery: Any) -> None:
        self.delivered.append(delivery.message.content)

    async def tell_failure(self, job: Job, interaction: Any, text: str) -> None:
        self.failures.append(text)

    def live_message(self, job: Job, interaction: Any, **kw: Any) -> Any:
        from catalyst_interactions.framework.context import INLINE

        class Closable:
            progress, edit, followup = INLINE.progress, INLINE.edit, INLINE.followup

            async def close(self) -> None:
                return None

        return Closable()


class Blocker:
    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()


def registry(blocker: Blocker) -> Registry:
    reg = Registry()

    @reg.command("block", "Waits until released", mode=Mode.DEFERRED)
    async def block(ctx: CommandContext) -> Message:
        blocker.running += 1
        blocker.peak = max(blocker.peak, blocker.running)
        blocker.started.set()
        try:
            await blocker.release.wait()
        finally:
            blocker.running -= 1
        return Message(content="released")

    return reg


def job(created_ms: int, n: int = 0) -> Job:
    interaction_id = make_snowflake(created_ms, n)
    body = json.dumps(
        {
            "id": interaction_id,
            "application_id": "1",
            "type": 2,
            "token": SECRET_TOKEN,
            "data": {"id": "9", "name": "block", "type": 1},
            "member": {"user": {"id": "5", "username": "u"}},
        }
    ).encode()
    return Job.for_interaction(interaction_id, "command:block", body, ack_type=5)


async def run_worker(tmp_path: Path, blocker: Blocker, **kw: Any):  # type: ignore[no-untyped-def]
    queue = SqliteJobQueue(tmp_path / "queue.db")
    deliverer = RecordingDeliverer()
    worker = Worker(queue, Dispatcher(registry(blocker)), deliverer, metrics=Metrics(), **kw)  # type: ignore[arg-type]
    worker.start()
    return queue, deliverer, worker


async def test_concurrency_is_bounded(tmp_path: Path) -> None:
    blocker = Blocker()
    queue, deliverer, worker = await run_worker(tmp_path, blocker, concurrency=2)
    now = int(time.time() * 1000)
    for n in range(5):
        assert await queue.enqueue(job(now, n))
    await asyncio.wait_for(blocker.started.wait(), 5)
    await asyncio.sleep(0.3)  # time for more claims, if the bound did not hold
    assert blocker.running == 2
    blocker.release.set()
    for _ in range(200):
        if len(deliverer.delivered) == 5:
            break
        await asyncio.sleep(0.02)
    assert deliverer.delivered == ["released"] * 5
    assert blocker.peak == 2
    await worker.stop()
    await queue.close()


async def test_graceful_stop_releases_a_job_still_running(tmp_path: Path) -> None:
    blocker = Blocker()
    queue, deliverer, worker = await run_worker(tmp_path, blocker)
    assert await queue.enqueue(job(int(time.time() * 1000)))
    await asyncio.wait_for(blocker.started.wait(), 5)
    await worker.stop(grace_s=0.1)
    pending = await queue.list("pending", 10)
    assert [(p.last_error, p.attempts) for p in pending] == [("released at shutdown", 1)]
    assert deliverer.delivered == []
    await queue.close()


async def test_work_that_cannot_finish_before_the_token_dies_tells_the_user(
    tmp_path: Path,
) -> None:
    blocker = Blocker()
    queue, deliverer, worker = await run_worker(tmp_path, blocker)
    # Created 14 min 40 s ago: 20 s of token life left, less than the margin kept for telling
    # the user, so the handler is not even started.
    created = int((time.time() - 14 * 60 - 40) * 1000)
    assert await queue.enqueue(job(created))
    for _ in range(200):
        if await queue.list("dead", 5):
            break
        await asyncio.sleep(0.02)
    dead = await queue.list("dead", 5)
    assert [d.reason for d in dead] == ["timed out"]
    assert deliverer.failures == [
        "Sorry, this is taking too long. Please try again in a few minutes."
    ]
    assert not blocker.started.is_set()
    await worker.stop()
    await queue.close()


class FailingDeliverer(RecordingDeliverer):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.attempts = 0

    async def deliver(self, job: Job, interaction: Any, delivery: Any) -> None:
        self.attempts += 1
        raise self.error


def dead_count(metrics: Metrics, code: str) -> float | None:
    return metrics.registry.get_sample_value(
        "catalyst_jobs_dead_lettered_total", {"reason": str(code)}
    )


async def wait_dead(queue: SqliteJobQueue) -> list[Any]:
    for _ in range(300):
        dead = await queue.list("dead", 5)
        if dead:
            return dead
        await asyncio.sleep(0.02)
    raise AssertionError("no dead job")


async def test_answer_refused_by_discord_is_dead_and_the_user_is_told(tmp_path: Path) -> None:
    from catalyst_interactions.discord.rest import HTTPError

    blocker = Blocker()
    blocker.release.set()
    queue = SqliteJobQueue(tmp_path / "queue.db")
    deliverer = FailingDeliverer(HTTPError(400, 50035, "Invalid Form Body", "PATCH @original"))
    metrics = Metrics()
    worker = Worker(queue, Dispatcher(registry(blocker)), deliverer, metrics=metrics)  # type: ignore[arg-type]
    worker.start()
    assert await queue.enqueue(job(int(time.time() * 1000)))
    dead = await wait_dead(queue)
    assert dead[0].reason is not None and dead[0].reason.startswith("delivery failed: HTTPError(")
    assert dead_count(metrics, "delivery_failed") == 1
    assert deliverer.attempts == 1  # a permanent refusal is not retried
    assert deliverer.failures == [
        f"Sorry, the answer could not be shown. Reference: `{dead[0].id}`."
    ]
    await worker.stop()
    await queue.close()


async def test_unexpected_error_in_delivery_is_retried_then_dead_never_stuck(
    tmp_path: Path,
) -> None:
    from catalyst_interactions.jobs.worker import RetryPolicy

    blocker = Blocker()
    blocker.release.set()
    queue = SqliteJobQueue(tmp_path / "queue.db")
    deliverer = FailingDeliverer(ValueError("ledger broke: after retries"))
    policy = RetryPolicy(max_attempts=3, base_s=0.01, cap_s=0.02)
    metrics = Metrics()
    worker = Worker(
        queue,
        Dispatcher(registry(blocker)),
        deliverer,
        metrics=metrics,  # type: ignore[arg-type]
        policy=policy,
        lease_s=30,
    )
    worker.start()
    assert await queue.enqueue(job(int(time.time() * 1000)))
    dead = await wait_dead(queue)
    assert dead[0].reason == "worker error: ValueError"
    # The label is the reason code itself, whatever the text around it.
    assert dead_count(metrics, "worker_error") == 1
    assert sum(dead_count(metrics, code) for code in DeadReason) == 1
    assert deliverer.attempts == 3  # retried inside the policy, not replayed by lease expiry
    assert await queue.list("running", 5) == []
    assert len(deliverer.failures) == 1
    await worker.stop()
    await queue.close()


def test_dead_letter_codes_are_the_metric_labels_and_the_reason_words() -> None:
    metrics = Metrics()
    assert all(dead_count(metrics, code) == 0 for code in DeadReason)  # present from 0
    assert DeadReason.TOKEN_EXPIRED.text() == "token expired"
    assert DeadReason.HANDLER_FAILED.text("KeyError after 5 attempts") == (
        "handler failed: KeyError after 5 attempts"
    )


class FlakyQueue(SqliteJobQueue):
    """A real SQLite queue whose chosen calls fail as an unreachable backend's would."""

    failing: frozenset[str] = frozenset()

    async def retry(self, claimed: Any, delay_s: float, error: str) -> None:
        if "retry" in self.failing:
            raise QueueUnavailable("sqlite queue queue.db: database is locked")
        await super().retry(claimed, delay_s, error)

    async def depth(self) -> int:
        if "depth" in self.failing:
            raise QueueUnavailable("sqlite queue queue.db: database is locked")
        return await super().depth()


async def test_a_job_the_queue_cannot_take_back_at_stop_is_logged_not_swallowed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = Blocker()
    queue = FlakyQueue(tmp_path / "queue.db")
    worker = Worker(queue, Dispatcher(registry(blocker)), RecordingDeliverer(), metrics=Metrics())  # type: ignore[arg-type]
    worker.start()
    queued = job(int(time.time() * 1000))
    assert await queue.enqueue(queued)
    await asyncio.wait_for(blocker.started.wait(), 5)
    queue.failing = frozenset({"retry"})
    with caplog.at_level(logging.WARNING, "catalyst_interactions.worker"):
        await worker.stop(grace_s=0.1)
    [record] = [r for r in caplog.records if "could not release" in r.getMessage()]
    assert record.interaction_id == queued.id  # type: ignore[attr-defined]
    assert record.error == "QueueUnavailable: sqlite queue queue.db: database is locked"  # type: ignore[attr-defined]
    assert SECRET_TOKEN not in caplog.text
    # Still claimed: its lease hands it out again later.
    assert [r.id for r in await queue.list("running", 5)] == [queued.id]
    await queue.close()


async def test_gauges_that_cannot_be_read_are_logged_when_it_starts_and_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue = FlakyQueue(tmp_path / "queue.db")
    queue.failing = frozenset({"depth"})
    ticks = itertools.count(step=3.0)  # every loop turn is past the 2 s between reads
    worker = Worker(
        queue,
        Dispatcher(registry(Blocker())),
        RecordingDeliverer(),  # type: ignore[arg-type]
        metrics=Metrics(),
        clock=lambda: next(ticks),
    )
    with caplog.at_level(logging.INFO, "catalyst_interactions.worker"):
        worker.start()
        await asyncio.sleep(1.2)  # several claim timeouts, so several failed reads
        queue.failing = frozenset()
        await asyncio.sleep(0.8)
        await worker.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("queue gauges not updated: the queue did not answer") == 1
    assert messages.count("queue gauges updated again") == 1
    await queue.close()
