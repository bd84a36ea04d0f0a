"""Records side effects that must happen at most once, such as a followup message.

Discord has no idempotency key for new messages: a retried job that re-posts a followup
would post it twice. The ledger is written *before* the post, so a crash between the two
loses that one notice rather than duplicating it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..fileperms import private_sqlite

if TYPE_CHECKING:
    from redis.asyncio import Redis


class DeliveryLedger(Protocol):
    async def first(self, key: str, ttl_s: float) -> bool:
        """True the first time ``key`` is offered (within ``ttl_s``), False afterwards."""
        ...

    async def forget(self, key: str) -> None:
        """Undo :meth:`first` when the side effect provably did not happen."""
        ...

    async def close(self) -> None: ...


class SqliteLedger:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = asyncio.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            private_sqlite(self._path)
            conn = sqlite3.connect(self._path, check_same_thread=False, timeout=5)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS delivered (key TEXT PRIMARY KEY, expires REAL NOT NULL)"
            )
            self._conn = conn
        return self._conn

    def _first(self, key: str, ttl_s: float) -> bool:
        conn = self._connect()
        now = time.time()
        with conn:
            conn.execute("DELETE FROM delivered WHERE expires < ?", (now,))
            cur = conn.execute("INSERT OR IGNORE INTO delivered VALUES (?, ?)", (key, now + ttl_s))
            return cur.rowcount == 1

    async def first(self, key: str, ttl_s: float) -> bool:
        async with self._lock:
            return await asyncio.to_thread(self._first, key, ttl_s)

    def _forget(self, key: str) -> None:
        conn = self._connect()
        with conn:
            conn.execute("DELETE FROM delivered WHERE key = ?", (key,))

    async def forget(self, key: str) -> None:
        async with self._lock:
            await asyncio.to_thread(self._forget, key)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class RedisLedger:
    """Delivered keys in Redis. A client passed in stays the caller's (the process shares
    one); :meth:`from_url` makes one that :meth:`close` closes."""

    def __init__(
        self, client: Redis, *, prefix: str = "catalyst:ledger:", owns_client: bool = False
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._owns_client = owns_client

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "catalyst:ledger:") -> RedisLedger:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url), prefix=prefix, owns_client=True)

    async def first(self, key: str, ttl_s: float) -> bool:
        return bool(await self._redis.set(self._prefix + key, b"1", nx=True, ex=max(1, int(ttl_s))))

    async def forget(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def close(self) -> None:
        if self._owns_client:
            await self._redis.aclose()
