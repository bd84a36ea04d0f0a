"""Job construction and the open_queue factory."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.jobs import InvalidQueueUrl, Job, SqliteJobQueue, open_queue
from catalyst_interactions.jobs.redis_queue import RedisJobQueue

CREATED_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def test_deadline_is_fifteen_minutes_after_the_interaction() -> None:
    job = Job.for_interaction(
        make_snowflake(CREATED_MS), "chart", b"{}", ack_type=5, now=1_767_225_601.0
    )
    assert job.deadline == 1_767_225_600.0 + 15 * 60
    assert (job.attempts, job.not_before, job.last_error) == (0, 0.0, None)
    assert job.enqueued_at == 1_767_225_601.0
    assert not job.expired(now=1_767_226_499.0)
    assert job.expired(now=1_767_226_500.0)


def test_job_round_trips_through_msgpack() -> None:
    job = Job.for_interaction(make_snowflake(CREATED_MS), "chart", b'{"a":1}', ack_type=6)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(job), type=Job) == job


@pytest.mark.parametrize(
    ("interaction_id", "ack_type", "message"),
    [("123", 4, "ack_type"), ("123", 7, "ack_type"), ("abc", 5, "snowflake")],
)
def test_bad_jobs_are_refused(interaction_id: str, ack_type: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Job.for_interaction(interaction_id, "chart", b"{}", ack_type=ack_type)


def test_repr_hides_the_interaction_body() -> None:
    body = b'{"token":"s3cret"}'
    job = Job.for_interaction(make_snowflake(CREATED_MS), "chart", body, ack_type=5)
    assert "s3cret" not in repr(job)
    assert "s3cret" not in str(job)


@pytest.mark.parametrize(
    ("url", "relative"),
    [
        ("", "queue.db"),
        ("sqlite://", "queue.db"),
        ("sqlite:///jobs.db", "jobs.db"),
        ("sqlite:///sub/jobs.db", "sub/jobs.db"),
    ],
)
def test_sqlite_urls_resolve_inside_the_data_dir(url: str, relative: str, tmp_path: Path) -> None:
    queue = open_queue(url, data_dir=tmp_path)
    assert isinstance(queue, SqliteJobQueue)
    assert queue.path == tmp_path / relative


def test_absolute_sqlite_url(tmp_path: Path) -> None:
    queue = open_queue(f"sqlite:///{tmp_path}/abs.db", data_dir=Path("/elsewhere"))
    assert isinstance(queue, SqliteJobQueue)
    assert queue.path == tmp_path / "abs.db"


def test_redis_urls_take_a_prefix(tmp_path: Path) -> None:
    queue = open_queue("redis://127.0.0.1:6379/0?prefix=bot:a", data_dir=tmp_path)
    assert isinstance(queue, RedisJobQueue)
    assert queue.prefix == "bot:a"
    default = open_queue("redis://127.0.0.1:6379/0", data_dir=tmp_path)
    assert isinstance(default, RedisJobQueue)
    assert default.prefix == "catalyst:jobs"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://localhost/db",
        "sqlite://host/queue.db",
        "queue.db",
        "redis://127.0.0.1:6379/0?prefix=",
        "redis://:hunter2@127.0.0.1:notaport/0",
    ],
)
def test_bad_urls_are_refused_without_echoing_secrets(url: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidQueueUrl) as caught:
        open_queue(url, data_dir=tmp_path)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("queue_url", "shared_url", "shares"),
    [
        ("redis://10.0.0.5:6379/1?prefix=bot:a", "redis://10.0.0.5:6379/1", True),
        ("redis://10.0.0.5:6379?prefix=bot:a", "redis://10.0.0.5:6379/0", True),  # db 0 either way
        ("redis://10.0.0.5:6379/0", "redis://10.0.0.5:6379/1", False),  # another database
        ("redis://10.0.0.6:6379/1", "redis://10.0.0.5:6379/1", False),  # another server
        ("rediss://10.0.0.5:6379/1", "redis://10.0.0.5:6379/1", False),  # TLS or not
    ],
)
async def test_a_redis_queue_on_the_process_redis_uses_its_client(
    queue_url: str, shared_url: str, shares: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(shared_url)  # nothing connects: clients are built lazily
    closed: list[Redis] = []
    real_aclose = Redis.aclose

    async def recording_aclose(self: Redis, *args: object, **kwargs: object) -> None:
        closed.append(self)
        await real_aclose(self)

    monkeypatch.setattr(Redis, "aclose", recording_aclose)
    queue = open_queue(queue_url, data_dir=tmp_path, shared=(shared_url, client))
    assert isinstance(queue, RedisJobQueue)
    await queue.close()
    monkeypatch.undo()
    # A queue on the process's Redis leaves the shared client to its owner; a queue on
    # another Redis made a client of its own and closed it.
    assert (closed == []) is shares
    assert client not in closed
    await client.aclose()
