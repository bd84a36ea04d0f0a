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
- :class:`SharedThrottleStore`: every process on one host (``serve --processes N`` without
  Redis): a fixed table in a memory-mapped file in the data directory, under a file lock.
- :class:`RedisThrottleStore`: every edge on every host; each key expires with its TAT.

Each key also remembers the id of the interaction it last admitted: the same interaction
delivered again (handed over by the Worker after an inline run, a retried job) passes
without being counted again, so it is never refused by its own cooldown.

A store outage fails open (the request is admitted and a warning logged): a throttle is a
fairness measure, and refusing everybody because it is down would be worse.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..mapped_file import MappedFile, table_key

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


SHARED_SLOTS = 1 << 17
"""Slots of the host's shared table (24 bytes each: 3 MiB on disk, pages in memory as used):
six times :data:`DEFAULT_MAX_ENTRIES`, so probe runs stay short at the memory store's bound."""
_SHARED_HEADER = struct.Struct("<8sq")  # magic, slot count
_SHARED_MAGIC = b"CITHROT1"
_SHARED_PROBES = 16
_WORDS_PER_SLOT = 3  # key hash (0 = never used), TAT in µs, token (the last admitted id)


class SharedThrottleStore:
    """TATs in a table in a memory-mapped file that every process of one host maps
    (``serve --processes N`` without Redis; see ``mapped_file.py``).

    Open addressing: a key's home slot is its hash; a lookup walks at most
    :data:`_SHARED_PROBES` slots to the key or to a never-used slot. Each admission reads,
    decides and writes under the file's ``flock``, so all processes share one limit; the
    clock is read under the lock too, so the processes' decisions happen in one order.

    Bound: :data:`SHARED_SLOTS` slots, fixed when the file is made. A slot whose TAT has
    passed holds no information and is reused; when every slot of a walk is live, the one
    that frees up first is overwritten (counted in ``evicted``), which can only let that
    member through early, as the memory store's eviction does. Costs ~3 µs an admission
    where a SQLite transaction on a thread cost ~100 µs (docs/decisions.md D38).
    """

    def __init__(
        self, path: Path, slots: int = SHARED_SLOTS, clock: Callable[[], float] = time.time
    ) -> None:
        if slots < 1024 or slots & (slots - 1):
            raise ValueError("slots must be a power of two of at least 1024")
        self.path = path
        self.slots = slots
        self._clock = clock
        size = _SHARED_HEADER.size + slots * _WORDS_PER_SLOT * 8
        self._file = MappedFile(
            path, _SHARED_HEADER.pack(_SHARED_MAGIC, slots), size, preallocate=True
        )
        self._words = self._file.words
        self.evicted = 0

    async def admit(self, key: str, interval_s: float, burst: int, token: str = "") -> float:
        try:
            return self._admit(key, interval_s, burst, token)
        except OSError as exc:  # the lock's system calls
            log.warning("throttle store unavailable (%s); admitting", type(exc).__name__)
            return 0.0

    def _admit(self, key: str, interval_s: float, burst: int, token: str) -> float:
        """Read, decide and write one key's slot under the file's lock."""
        key_word = table_key(key)
        token_word = table_key(token) if token else 0
        words = self._words
        mask = self.slots - 1
        self._file.lock()
        try:
            now = self._clock()
            now_us = int(now * 1_000_000)
            index = key_word & mask
            found = reusable = oldest = -1
            oldest_tat = 0
            for _ in range(_SHARED_PROBES):
                at = index * _WORDS_PER_SLOT
                slot_key = words[at]
                if slot_key == key_word:
                    found = index
                    break
                if slot_key == 0:  # never used: the key is not further on
                    if reusable < 0:
                        reusable = index
                    break
                tat_us = words[at + 1]
                if tat_us <= now_us:
                    if reusable < 0:
                        reusable = index
                elif oldest < 0 or tat_us < oldest_tat:
                    oldest, oldest_tat = index, tat_us
                index = (index + 1) & mask
            tat: float | None = None
            if found >= 0:
                at = found * _WORDS_PER_SLOT
                stored_us = words[at + 1]
                if token_word and words[at + 2] == token_word and stored_us > now_us:
                    return 0.0  # this interaction again: admitted, not counted
                tat = stored_us / 1_000_000
            wait, new_tat = gcra(tat, now, interval_s, burst)
            if wait > 0:
                return wait
            if found < 0:
                found = reusable
                if found < 0:  # every slot of the walk is live: the earliest to free goes
                    found = oldest
                    self.evicted += 1
            at = found * _WORDS_PER_SLOT
            words[at + 1] = round(new_tat * 1_000_000)
            words[at + 2] = token_word
            words[at] = key_word
            return 0.0
        finally:
            self._file.unlock()

    def live(self) -> int:
        """Slots holding a limit that has not freed up yet (for tests and operators)."""
        now_us = int(self._clock() * 1_000_000)
        tats = self._words[1::_WORDS_PER_SLOT]
        return sum(1 for tat in tats if tat > now_us)

    async def close(self) -> None:
        self._file.close()


# KEYS[1]: the key, holding "tat|token"; ARGV: interval, burst, token. Returns the wait as a
# string ('0': admitted). The time is Redis's own, so edges on hosts with skewed clocks still
# share one limit. The TAT is stored to the microsecond (Lua's tostring keeps 14 digits, a
# tenth of a millisecond of a Unix time, and rounding up made a wait exceed its period).
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
local value = string.format('%.6f', new) .. '|' .. ARGV[3]
redis.call('SET', KEYS[1], value, 'PX', math.ceil((new - now) * 1000))
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
    "SharedThrottleStore",
    "ThrottleStore",
    "gcra",
]
