"""Durable jobs: deferred interactions enqueued by the edge and run by workers.

`open_queue` picks the backend from a URL:

- ``sqlite:///queue.db`` (relative: inside `data_dir`), ``sqlite:////abs/queue.db``,
  or an empty URL / ``sqlite://`` for ``<data_dir>/queue.db`` — the embedded default;
- ``redis://host:6379/0`` (also ``rediss://``, ``unix://``), with an optional
  ``prefix=`` query parameter for the key prefix (default ``catalyst:jobs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from catalyst_interactions.jobs.job import ClaimedJob, DeadReason, Job, JobInfo, JobState
from catalyst_interactions.jobs.queue import (
    TOKEN_EXPIRED,
    InvalidQueueUrl,
    JobQueue,
    LeaseLost,
    OwnerQuotaExceeded,
    QueueClosed,
    QueueError,
    QueueUnavailable,
)
from catalyst_interactions.jobs.sqlite_queue import SqliteJobQueue

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "TOKEN_EXPIRED",
    "ClaimedJob",
    "DeadReason",
    "InvalidQueueUrl",
    "Job",
    "JobInfo",
    "JobQueue",
    "JobState",
    "LeaseLost",
    "OwnerQuotaExceeded",
    "QueueClosed",
    "QueueError",
    "QueueUnavailable",
    "SqliteJobQueue",
    "open_queue",
]

DEFAULT_SQLITE_FILE = "queue.db"
_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


def open_queue(
    url: str, *, data_dir: Path, max_per_owner: int = 0, shared: tuple[str, Redis] | None = None
) -> JobQueue:
    """The queue named by `url`; nothing connects until first use. ``max_per_owner``: most
    jobs one owner (user) may have pending or running; 0 for no cap. ``shared``: the
    process's Redis client and its URL; a Redis queue on that same URL (the ``prefix=``
    aside) uses that client, which stays the caller's to close, instead of a new one."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in ("", "sqlite"):
        if parts.netloc or (scheme == "" and parts.path):
            raise InvalidQueueUrl("sqlite queue URL must look like sqlite:///queue.db")
        # SQLAlchemy's convention: sqlite:///rel.db is relative, sqlite:////abs.db absolute.
        name = parts.path[1:] if parts.path.startswith("/") else parts.path
        return SqliteJobQueue(data_dir / (name or DEFAULT_SQLITE_FILE), max_per_owner=max_per_owner)
    if scheme in _REDIS_SCHEMES:
        # Imported here so the SQLite default never pays for importing redis.
        from catalyst_interactions.jobs.redis_queue import DEFAULT_PREFIX, RedisJobQueue

        query = parse_qsl(parts.query, keep_blank_values=True)
        prefixes = [value for key, value in query if key == "prefix"]
        rest = [(key, value) for key, value in query if key != "prefix"]
        if prefixes and not prefixes[-1]:
            raise InvalidQueueUrl("redis queue URL: prefix must not be empty")
        client_url = urlunsplit(parts._replace(query=urlencode(rest)))
        prefix = prefixes[-1] if prefixes else None
        if shared is not None and same_redis(client_url, shared[0]):
            return RedisJobQueue(
                shared[1],
                prefix=prefix or DEFAULT_PREFIX,
                max_per_owner=max_per_owner,
                owns_client=False,
            )
        try:
            return RedisJobQueue.from_url(
                client_url,
                prefix=prefix,
                max_per_owner=max_per_owner,
            )
        except ValueError:
            # The URL may carry a password: say what is wrong without echoing it.
            raise InvalidQueueUrl("redis queue URL is malformed") from None
    raise InvalidQueueUrl(f"unknown queue URL scheme {scheme!r}: use sqlite:/// or redis://")


def same_redis(first: str, second: str) -> bool:
    """Whether two Redis URLs name the same server and database (a trailing slash or an
    empty query aside), so one client can serve both."""

    def key(url: str) -> tuple[str, str, str, str]:
        parts = urlsplit(url.strip())
        path = parts.path.rstrip("/") or "/0"
        return (parts.scheme.lower(), parts.netloc, path, parts.query)

    return key(first) == key(second)
