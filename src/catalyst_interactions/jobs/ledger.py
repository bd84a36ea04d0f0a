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
from typing import Protocol

from ..fileperms import private_sqlite


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
    def __init__(self, url: str, *, prefix: str = "catalyst:ledger:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._prefix = prefix

    async def first(self, key: str, ttl_s: float) -> bool:
        return bool(await self._redis.set(self._prefix + key, b"1", nx=True, ex=max(1, int(ttl_s))))

    async def forget(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def close(self) -> None:
        await self._redis.aclose()
