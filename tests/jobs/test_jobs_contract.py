"""The JobQueue contract, run against every backend (see the make_queue fixture)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import msgspec
import pytest

from catalyst_interactions.jobs import (
    TOKEN_EXPIRED,
    Job,
    JobQueue,
    LeaseLost,
    QueueClosed,
)

MakeQueue = Callable[..., JobQueue]
MakeJob = Callable[..., Job]


async def until_waiting(queue: JobQueue) -> None:
    """Returns once a claim of `queue` is blocked waiting for work."""
    async with asyncio.timeout(5):
        while queue.waiting == 0:
            await asyncio.sleep(0.001)


async def test_enqueue_claim_ack(queue: JobQueue, make_job: MakeJob) -> None:
    job = make_job("chart", ack_type=6)
    assert await queue.enqueue(job) is True
    assert await queue.depth() == 1

    claimed = await queue.claim("worker-1", lease_s=30, timeout_s=1)
    assert claimed is not None
    assert claimed.job == job  # every field, including the raw body, round-trips
    assert claimed.consumer == "worker-1"
    assert await queue.depth() == 0
    [running] = await queue.list("running", 10)
    assert (running.id, running.consumer, running.handler) == (job.id, "worker-1", "chart")

    await queue.ack(claimed)
    assert await queue.list("running", 10) == []
    assert await queue.claim("worker-1", lease_s=30, timeout_s=0) is None
    with pytest.raises(LeaseLost):
        await queue.ack(claimed)


async def test_jobs_come_out_in_enqueue_order(queue: JobQueue, make_job: MakeJob) -> None:
    jobs = [make_job() for _ in range(5)]
    for job in jobs:
        assert await queue.enqueue(job)
    claimed_ids = []
    for _ in jobs:
        claimed = await queue.claim("w", 30, 1)
        assert claimed is not None
        claimed_ids.append(claimed.job.id)
    assert claimed_ids == [job.id for job in jobs]


async def test_one_job_per_interaction_id(queue: JobQueue, make_job: MakeJob) -> None:
    job = make_job("chart")
    redelivered = msgspec.structs.replace(job, handler="other")
    assert await queue.enqueue(job) is True
    assert await queue.enqueue(job) is False
    assert await queue.enqueue(redelivered) is False
    assert await queue.depth() == 1

    claimed = await queue.claim("w", 30, 1)
    assert claimed is not None
    assert claimed.job.handler == "chart"
    assert await queue.enqueue(job) is False  # while running
    await queue.ack(claimed)
    assert await queue.enqueue(job) is False  # after completion
    assert await queue.depth() == 0
    assert await queue.claim("w", 30, 0) is None


async def test_retry_waits_for_its_delay(queue: JobQueue, make_job: MakeJob) -> None:
    job = make_job()
    await queue.enqueue(job)
    first = await queue.claim("w", 30, 1)
    assert first is not None
    assert first.job.attempts == 0

    retried_at = time.time()
    await queue.retry(first, delay_s=0.4, error="HTTP 503")
    assert await queue.depth() == 1
    assert await queue.claim("w", 30, 0) is None  # not before its time
    [pending] = await queue.list("pending", 10)
    assert pending.attempts == 1
    assert pending.last_error == "HTTP 503"
    assert retried_at + 0.4 <= pending.not_before <= time.time() + 0.4

    second = await queue.claim("w", 30, timeout_s=5)
    assert second is not None
    assert time.time() >= retried_at + 0.4
    assert (second.job.id, second.job.attempts, second.job.last_error) == (job.id, 1, "HTTP 503")
    with pytest.raises(LeaseLost):
        await queue.ack(first)  # the earlier claim is finished for good
    await queue.ack(second)


async def test_expired_lease_goes_to_another_consumer(
    make_queue: MakeQueue, make_job: MakeJob
) -> None:
    crashed, healthy = make_queue(), make_queue()
    job = make_job()
    await crashed.enqueue(job)
    lost = await crashed.claim("crashed", lease_s=0.5, timeout_s=1)
    assert lost is not None
    claimed_at = time.time()
    assert await healthy.claim("healthy", lease_s=30, timeout_s=0) is None  # lease still held

    taken = await healthy.claim("healthy", lease_s=30, timeout_s=5)
    assert taken is not None
    assert time.time() >= claimed_at + 0.5 - 0.05
    assert (taken.job.id, taken.consumer) == (job.id, "healthy")
    assert taken.job.attempts == 1  # the abandoned attempt counts
    assert taken.job.last_error == "lease expired"

    # The crashed consumer's late calls are refused; the new claim stands.
    with pytest.raises(LeaseLost):
        await crashed.renew(lost, 30)
    with pytest.raises(LeaseLost):
        await crashed.retry(lost, 0, "late")
    with pytest.raises(LeaseLost):
        await crashed.dead(lost, "late")
    with pytest.raises(LeaseLost):
        await crashed.ack(lost)
    [running] = await healthy.list("running", 10)
    assert running.consumer == "healthy"
    await healthy.ack(taken)


async def test_renew_keeps_the_job(make_queue: MakeQueue, make_job: MakeJob) -> None:
    owner, other = make_queue(), make_queue()
    await owner.enqueue(make_job())
    claimed = await owner.claim("owner", lease_s=0.3, timeout_s=1)
    assert claimed is not None
    renewed = await owner.renew(claimed, lease_s=30)
    assert renewed.lease_until >= time.time() + 29
    # Without the renewal the lease would have run out during this wait.
    assert await other.claim("other", lease_s=30, timeout_s=0.6) is None
    await owner.ack(renewed)


async def test_dead_letters_list_requeue_and_drop(queue: JobQueue, make_job: MakeJob) -> None:
    job = make_job("backtest")
    await queue.enqueue(job)
    claimed = await queue.claim("w", 30, 1)
    assert claimed is not None
    await queue.retry(claimed, 0, "HTTP 500")
    claimed = await queue.claim("w", 30, 1)
    assert claimed is not None
    await queue.dead(claimed, TOKEN_EXPIRED)

    assert await queue.depth() == 0
    assert await queue.claim("w", 30, 0) is None
    [dead] = await queue.list("dead", 10)
    assert (dead.id, dead.handler, dead.state) == (job.id, "backtest", "dead")
    assert (dead.reason, dead.attempts, dead.last_error) == (TOKEN_EXPIRED, 1, "HTTP 500")
    assert await queue.enqueue(job) is False  # a dead job still holds its id

    assert await queue.requeue_dead(job.id) is True
    assert await queue.requeue_dead(job.id) is False
    assert await queue.list("dead", 10) == []
    assert await queue.depth() == 1
    again = await queue.claim("w", 30, 1)
    assert again is not None
    assert (again.job.id, again.job.attempts, again.job.interaction) == (job.id, 0, job.interaction)
    await queue.dead(again, "permanent: 50001 Missing Access")

    assert await queue.drop(job.id) is True
    assert await queue.list("dead", 10) == []
    assert await queue.drop(job.id) is False
    assert await queue.requeue_dead(job.id) is False
    assert await queue.enqueue(job) is False  # dropping does not let it run again


async def test_drop_pending_and_running(queue: JobQueue, make_job: MakeJob) -> None:
    waiting, running = make_job(), make_job()
    await queue.enqueue(running)
    await queue.enqueue(waiting)
    claimed = await queue.claim("w", 30, 1)
    assert claimed is not None
    assert claimed.job.id == running.id

    assert await queue.drop(waiting.id) is True
    assert await queue.depth() == 0
    assert await queue.drop(running.id) is True
    with pytest.raises(LeaseLost):
        await queue.ack(claimed)
    assert await queue.claim("w", 30, 0) is None
    assert await queue.drop("1234") is False


async def test_depth_counts_pending_and_delayed(queue: JobQueue, make_job: MakeJob) -> None:
    assert await queue.depth() == 0
    for _ in range(3):
        await queue.enqueue(make_job())
    assert await queue.depth() == 3
    claimed = await queue.claim("w", 30, 1)
    assert claimed is not None
    assert await queue.depth() == 2
    await queue.retry(claimed, delay_s=60, error="HTTP 429")
    assert await queue.depth() == 3
    assert len(await queue.list("pending", 2)) == 2
    assert await queue.list("pending", 0) == []


async def test_expired_jobs_are_still_handed_out(queue: JobQueue, make_job: MakeJob) -> None:
    stale = make_job(age_s=16 * 60)  # the token died a minute ago
    assert stale.expired()
    assert await queue.enqueue(stale)
    claimed = await queue.claim("w", 30, 1)
    assert claimed is not None
    assert claimed.job.id == stale.id
    await queue.dead(claimed, TOKEN_EXPIRED)
    assert [info.reason for info in await queue.list("dead")] == [TOKEN_EXPIRED]


async def test_waiting_claim_picks_up_within_milliseconds(
    queue: JobQueue, make_job: MakeJob
) -> None:
    # The fixture's fallback poll is 30 s: only the wake-up can make this fast.
    for _ in range(3):
        claim = asyncio.create_task(queue.claim("w", 30, timeout_s=10))
        await until_waiting(queue)
        job = make_job()
        await queue.enqueue(job)
        enqueued_at = time.perf_counter()
        claimed = await claim
        picked_up_s = time.perf_counter() - enqueued_at
        assert claimed is not None
        assert claimed.job.id == job.id
        assert picked_up_s < 0.05
        await queue.ack(claimed)


async def test_claim_gives_up_after_its_timeout(queue: JobQueue) -> None:
    started = time.perf_counter()
    assert await queue.claim("w", 30, timeout_s=0.2) is None
    assert 0.2 <= time.perf_counter() - started < 2


async def test_close_ends_a_waiting_claim(queue: JobQueue) -> None:
    claim = asyncio.create_task(queue.claim("w", 30, timeout_s=10))
    await until_waiting(queue)
    await queue.close()
    with pytest.raises(QueueClosed):
        await asyncio.wait_for(claim, 5)
    with pytest.raises(QueueClosed):
        await queue.depth()


async def test_ping_and_list_arguments(queue: JobQueue) -> None:
    await queue.ping()
    with pytest.raises(ValueError, match="state"):
        await queue.list("done", 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit"):
        await queue.list("pending", -1)


async def test_claim_many_takes_up_to_its_limit_in_order(
    queue: JobQueue, make_job: MakeJob
) -> None:
    jobs = [make_job() for _ in range(5)]
    for job in jobs:
        assert await queue.enqueue(job)
    first = await queue.claim_many("w", 30, timeout_s=1, limit=3)
    assert [c.job.id for c in first] == [job.id for job in jobs[:3]]
    assert {c.consumer for c in first} == {"w"}
    assert await queue.depth() == 2
    # Fewer runnable than the limit: what there is, at once (no wait for the rest).
    started = time.perf_counter()
    rest = await queue.claim_many("w", 30, timeout_s=5, limit=10)
    assert time.perf_counter() - started < 1
    assert [c.job.id for c in rest] == [job.id for job in jobs[3:]]
    for claimed in first + rest:  # every one is a real claim of its own
        await queue.ack(claimed)
    assert await queue.list("running", 10) == []
    with pytest.raises(ValueError, match="limit"):
        await queue.claim_many("w", 30, timeout_s=0, limit=0)


async def test_claim_many_waits_for_the_first_job_only(queue: JobQueue, make_job: MakeJob) -> None:
    started = time.perf_counter()
    assert await queue.claim_many("w", 30, timeout_s=0.2, limit=4) == []
    assert 0.2 <= time.perf_counter() - started < 2
    claim = asyncio.create_task(queue.claim_many("w", 30, timeout_s=10, limit=4))
    await until_waiting(queue)
    job = make_job()
    await queue.enqueue(job)
    got = await asyncio.wait_for(claim, 5)
    assert [c.job.id for c in got] == [job.id]
    await queue.ack(got[0])


async def test_claim_many_also_takes_expired_leases(
    make_queue: MakeQueue, make_job: MakeJob
) -> None:
    crashed, healthy = make_queue(), make_queue()
    old, new = make_job(), make_job()
    assert await crashed.enqueue(old)
    [lost] = await crashed.claim_many("crashed", lease_s=0.3, timeout_s=1, limit=1)
    assert await crashed.enqueue(new)
    await asyncio.sleep(0.5)  # the first lease runs out
    got = await healthy.claim_many("healthy", lease_s=30, timeout_s=1, limit=5)
    assert sorted(c.job.id for c in got) == sorted([old.id, new.id])
    [again] = [c for c in got if c.job.id == old.id]
    assert again.job.attempts == lost.job.attempts + 1
    with pytest.raises(LeaseLost):
        await crashed.ack(lost)
