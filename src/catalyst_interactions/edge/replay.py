"""Replay protection: an interaction id is accepted at most once within the timestamp window.

A signed request captured in transit stays valid for the whole window; remembering ids for
that long makes a second delivery harmless (409, nothing runs).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Protocol


class ReplayGuard(Protocol):
    async def first_seen(self, interaction_id: str) -> bool:
        """True the first time an id is offered within the window, False afterwards."""
        ...


class MemoryReplayGuard:
    """One process's memory of recent ids; enough for a single edge process."""

    def __init__(
        self,
        window_s: float,
        *,
        max_entries: int = 2_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window_s = window_s
        self._max_entries = max_entries
        self._clock = clock
        self._seen: set[str] = set()
        self._order: deque[tuple[float, str]] = deque()

    async def first_seen(self, interaction_id: str) -> bool:
        now = self._clock()
        order = self._order
        # Forget ids older than the window (they would now fail the timestamp check anyway).
        while order and (order[0][0] <= now - self._window_s or len(order) >= self._max_entries):
            self._seen.discard(order.popleft()[1])
        if interaction_id in self._seen:
            return False
        self._seen.add(interaction_id)
        order.append((now, interaction_id))
        return True


class RedisReplayGuard:
    """Shared by every edge replica: ``SET id NX EX window``."""

    def __init__(self, redis: object, window_s: float, *, prefix: str = "catalyst:seen:") -> None:
        from redis.asyncio import Redis

        if not isinstance(redis, Redis):
            raise TypeError("RedisReplayGuard needs a redis.asyncio.Redis client")
        self._redis: Redis = redis
        self._ttl = max(1, int(window_s))
        self._prefix = prefix

    async def first_seen(self, interaction_id: str) -> bool:
        created = await self._redis.set(self._prefix + interaction_id, b"1", nx=True, ex=self._ttl)
        return bool(created)

    async def aclose(self) -> None:
        await self._redis.aclose()
