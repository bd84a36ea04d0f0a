"""Per-user cooldowns and request rates: one algorithm, three stores.

Both are GCRA (the generic cell rate algorithm): a key holds one number, its *theoretical
arrival time* (TAT). A request at ``now`` with emission interval ``T`` and burst ``B`` is
admitted when ``TAT <= now + (B - 1)·T``; the new TAT is then ``max(TAT, now) + T``.
Otherwise the caller waits ``TAT - (B - 1)·T - now`` seconds. A cooldown is the case
``B = 1``, ``T = period``. A key whose TAT has passed holds no information and can be
forgotten, so every store is bounded by the keys used within the longest window
(``B·T``).

Stores:

- :class:`MemoryThrottleStore`: one process. At most ``max_entries`` keys (expired keys are
  swept first; when every key is live the oldest is evicted, which can only let a request
  through early, never refuse one wrongly).
- :class:`SqliteThrottleStore`: every process on one host (``serve --processes N`` without
  Redis): one small SQLite file in the data directory, WAL, one row per live key.
- :class:`RedisThrottleStore`: every edge on every host; each key expires with its TAT.

Each key also remembers the id of the interaction it last admitted: the same interaction
delivered again (handed over by the Worker after an inline run, a retried job) passes
without being counted again, so it is never refused by its own cooldown.

A store outage fails open (the request is admitted and a warning logged): a throttle is a
fairness measure, and refusing everybody because it is down would be worse.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("catalyst_interactions.throttle")

#: Default bound of the in-memory store. An entry (key string ~60 B + float + dict slot)
#: measures ~200 B, so the bound is ~4 MB (``tests/framework/test_throttle.py`` measures it).
DEFAULT_MAX_ENTRIES = 20_000


def gcra(tat: float | None, now: float, interval_s: float, burst: int) -> tuple[float, float]:
    """``(wait_s, new_tat)``: wait 0 means admitted and ``new_tat`` is to be stored; a
    positive wait means refused and the stored TAT stays as it was."""
    current = now if tat is None or tat < now else tat
    tolerance = (burst - 1) * interval_s
    if current - now > tolerance:
        return current - tolerance - now, current
    return 0.0, current + interval_s


class ThrottleStore(Protocol):
    async def admit(self, key: str, interval_s: float, burst: int, token: str = "") -> float:
        """0 when admitted (and counted), else the seconds to wait. A non-empty ``token``
        (the interaction id) equal to the one last admitted under ``key`` is admitted
        again without counting."""
        ...

    async def close(self) -> None: ...


class MemoryThrottleStore:
    """TATs in a dict, bounded by ``max_entries`` (oldest-updated evicted first)."""

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.time
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._clock = clock
        self._tat: dict[str, tuple[float, str]] = {}
        self._last_sweep = 0.0

    def __len__(self) -> int:
        return len(self._tat)

    async def admit(self, key: str, interval_s: float, burst: int, token: str = "") -> float:
        now = self._clock()
        tat, last = self._tat.get(key, (None, ""))
        if token and token == last and tat is not None and tat > now:
            return 0.0
        wait, new_tat = gcra(tat, now, interval_s, burst)
        if wait > 0:
            return wait
        # Re-inserted at the end: the dict's order is the order of last update.
        self._tat.pop(key, None)
        if len(self._tat) >= self.max_entries:
            self._make_room(now)
        self._tat[key] = (new_tat, token)
        return 0.0

    def _make_room(self, now: float) -> None:
        # A full scan at most once a second keeps a full store O(1) per request.
        if now - self._last_sweep >= 1.0:
            self._last_sweep = now
            expired = [k for k, (tat, _) in self._tat.items() if tat <= now]
            for k in expired:
                del self._tat[k]
        if len(self._tat) >= self.max_entries:
            # Every key is live: the least recently updated goes (it may be admitted early).
            del self._tat[next(iter(self._tat))]

    async def close(self) -> None:
        self._tat.clear()


_SQLITE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS throttle "
    "(key TEXT PRIMARY KEY, tat REAL NOT NULL, token TEXT NOT NULL DEFAULT '')"
)
_PURGE_EVERY_S = 30.0


class SqliteThrottleStore:
    """TATs in a SQLite file shared by every process of one host.

    One thread owns the connection, so the event loop never waits for the file lock. Each
    admission is one ``BEGIN IMMEDIATE`` transaction (read, decide, write), atomic across
    processes. Durability is not needed (``synchronous=OFF``): a lost row after a power cut
    only lets one request through early. Expired rows are purged every 30 s, so the file
    holds only the keys of the last window.
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="throttle")
        self._conn: sqlite3.Connection | None = None
        self._last_purge = 0.0

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            from ..fileperms import private_dir, private_sqlite

            private_dir(self.path.parent)
            conn = sqlite3.connect(
                self.path, timeout=2.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(_SQLITE_SCHEMA)
            private_sqlite(self.path)
            self._conn = conn
        return self._conn

    def _admit(self, key: str, interval_s: float, burst: int, token: str) -> float:
        conn = self._connect()
        now = self._clock()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT tat, token FROM throttle WHERE key = ?", (key,)).fetchone()
            if row is not None and token and row[1] == token and float(row[0]) > now:
                conn.execute("COMMIT")
                return 0.0
            wait, new_tat = gcra(None if row is None else float(row[0]), now, interval_s, burst)
            if wait == 0:
                conn.execute(
                    "INSERT INTO throttle (key, tat, token) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET tat = excluded.tat, token = excluded.token",
                    (key, new_tat, token),
                )
            if now - self._last_purge >= _PURGE_EVERY_S:
                self._last_purge = now
                conn.execute("DELETE FROM throttle WHERE tat <= ?", (now,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return wait

    def rows(self) -> int:
        """Rows in the file (for tests and metrics)."""
        conn = sqlite3.connect(self.path)
        try:
            return int(conn.execute("SELECT count(*) FROM throttle").fetchone()[0])
        finally:
            conn.close()

    async def admit(self, key: str, interval_s: float, burst: int, token: str = "") -> float:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor, self._admit, key, interval_s, burst, token
            )
        except sqlite3.Error as exc:
            log.warning("throttle store unavailable (%s); admitting", type(exc).__name__)
            return 0.0

    async def close(self) -> None:
        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        self._executor.shutdown(wait=False)


# KEYS[1]: the key, holding "tat|token"; ARGV: interval, burst, token. Returns the wait as a
# string ('0': admitted). The time is Redis's own, so edges on hosts with skewed clocks still
# share one limit.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = (tonumber(ARGV[2]) - 1) * interval
local tat, last = now, ''
local stored = redis.call('GET', KEYS[1])
if stored then
  local sep = string.find(stored, '|', 1, true)
  tat, last = tonumber(string.sub(stored, 1, sep - 1)), string.sub(stored, sep + 1)
end
if ARGV[3] ~= '' and last == ARGV[3] and tat > now then return '0' end
if tat < now then tat = now end
if tat - now > tolerance then return tostring(tat - tolerance - now) end
local new = tat + interval
redis.call('SET', KEYS[1], tostring(new) .. '|' .. ARGV[3], 'PX', math.ceil((new - now) * 1000))
return '0'
"""


class RedisThrottleStore:
    """TATs in Redis under ``prefix``, on Redis's clock; each key expires when its TAT
    passes. A client passed in stays the caller's (the process shares one);
    :meth:`from_url` makes one that :meth:`close` closes."""

    def __init__(
        self, client: Redis, prefix: str = "catalyst:throttle", *, owns_client: bool = False
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._owns_client = owns_client
        self._script = client.register_script(_GCRA_LUA)

    @classmethod
    def from_url(cls, url: str, prefix: str = "catalyst:throttle") -> RedisThrottleStore:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url), prefix, owns_client=True)

    async def admit(self, key: str, interval_s: float, burst: int, token: str = "") -> float:
        from redis.exceptions import RedisError

        try:
            raw = await self._script(
                keys=[f"{self._prefix}:{key}"], args=[interval_s, burst, token]
            )
        except (RedisError, OSError) as exc:
            log.warning("throttle store unavailable (%s); admitting", type(exc).__name__)
            return 0.0
        return float(raw)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()


__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "MemoryThrottleStore",
    "RedisThrottleStore",
    "SqliteThrottleStore",
    "ThrottleStore",
    "gcra",
]
