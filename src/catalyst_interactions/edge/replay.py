"""The record of interactions already run or queued, shared by every edge of a deployment.

``POST /interactions`` and ``POST /handover`` consult this one record:

* ``/interactions`` claims an id before running it (:meth:`ReplayGuard.first_seen`); a second
  delivery of the id — a replay, or a hand-over that came first — is refused with 409.
* ``/handover`` marks an id queued (:meth:`ReplayGuard.hand_over`) and learns what happened
  before: nothing, an inline run whose answer never reached the Worker (the job is then
  enqueued so the user gets an answer; the handler's effects are already committed and it
  answers with the first outcome, see ``store.effects``), or an earlier hand-over (409).

An id is remembered until its request timestamp plus the verifier's window, not from when it
arrived: by then the timestamp check refuses the request anyway, so forgetting it reopens
nothing. Only requests with a valid Discord signature reach the record, so only Discord's
own traffic can fill it.

Backends:

* :class:`SharedReplayTable` — a fixed-size table in a memory-mapped file in the data
  directory, shared by every edge process on one host (``serve --processes N``: each
  lookup-and-insert then holds an ``flock``; one edge process alone skips the lock), bounded
  in entries and bytes by construction; it survives a restart. Ids are placed by their
  creation time (a snowflake carries it), so the ids of one moment share a few pages.
* :class:`RedisReplayGuard` — shared by every replica on every host.
"""

from __future__ import annotations

import enum
import math
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..discord.snowflake import DISCORD_EPOCH_MS
from ..mapped_file import MappedFile, table_key


class Previously(enum.Enum):
    """What the record knew of an id when a hand-over arrived."""

    NOTHING = "nothing"
    RAN_INLINE = "inline"
    QUEUED = "queued"


class ReplayGuard(Protocol):
    async def first_seen(self, interaction_id: str, expires_at: float) -> bool:
        """True the first time an id is offered (it is now recorded as run), False after."""
        ...

    async def hand_over(self, interaction_id: str, expires_at: float) -> Previously:
        """Record the id as queued; what was recorded before."""
        ...

    async def aclose(self) -> None: ...


# -- sizing ----------------------------------------------------------------------------------
MEASURED_PEAK_RATE = 8_000
"""Signed non-PING interactions per second one edge process can take at most (measured: the
inline /help peak is ~7,500 req/s, docs/performance.md); the record is sized for it."""
MAX_LOAD = 0.6
"""Live entries per slot at which the table is full; probing stays short below it."""
SLOT = struct.Struct("<qq")  # key (0 = empty), expiry in ms << 2 | state
# (read and written as native 64-bit words: little-endian here, and the file never leaves
# its host)
_HEADER = struct.Struct("<8sqq")  # magic, slot count, region width in ms
_MAGIC = b"CIREPLY2"  # 2: ids placed by time (regions); a version-1 file starts empty
_REGION_SLOTS = 1 << 16
"""Slots of one region (1 MiB, 256 pages): the ids created within one region width (lifetime
÷ regions: 4.8 s for one edge process at the default window, 4.8 s ÷ N with ``--processes N``)
share it, at most :data:`MAX_LOAD` full at the sized-for rate. Large enough that 1.4 times
that rate over whole widths still fits (tested); at twice it, linear probing runs past
:data:`_PROBES` and the earliest-expiring entries are overwritten (tested)."""
_DEFAULT_LIFETIME_S = 310.0
"""The default window plus future skew: the placement's cycle when no lifetime is given."""
_PROBES = 64
_INLINE, _QUEUED = 1, 2
_MASK64 = (1 << 64) - 1
_FIB = 0x9E3779B97F4A7C15
_NEVER = 1 << 62  # no lifetime given: an expired slot is never known to be dead


def capacity_for(lifetime_s: float, peak_rate: float = MEASURED_PEAK_RATE) -> int:
    """Slots (a power of two) that hold ``peak_rate`` ids for ``lifetime_s`` seconds each
    at no more than :data:`MAX_LOAD`."""
    needed = max(1024, math.ceil(peak_rate * lifetime_s / MAX_LOAD))
    return 1 << (needed - 1).bit_length()


def table_bytes(slots: int) -> int:
    return _HEADER.size + slots * SLOT.size


class SharedReplayTable:
    """Open addressing over a memory-mapped file; every process on the host maps the same
    file and takes an exclusive ``flock`` for each (microsecond) lookup-and-insert.

    Bound: ``slots`` × 16 bytes, fixed at creation. An expired slot is reused in place; if
    the probe window holds only live entries (more than the sized-for rate, sustained), the
    one that expires first is overwritten — the only way an id is forgotten early.

    Placement: the table is a ring of regions of :data:`_REGION_SLOTS` slots, one region per
    ``lifetime / regions`` of creation time (4.8 s for one process's default table); an id's
    home slot is a hash of the id within the region of the time its snowflake carries. The ids
    that arrive together are then written to one 1 MiB region, not all over 64 MiB. That
    matters because the table is a file: the first write to a page after the kernel wrote
    it back to disk (every ~30 s) is a page fault. Placed at random, 0.3 to 0.9 of all
    requests paid one under load (~10 µs each, and a cold cache after it); placed by time,
    0.01 (docs/performance.md, "Session 5"). A region comes round again one lifetime later,
    when what it held has expired. Ids that are not snowflakes (hashed keys) land anywhere.
    The region width is part of the file's layout (its header): a table opened with another
    window, skew or size starts empty, so every process sharing the file must be started
    with the same settings (``serve --processes N`` starts them so).
    Lookups are linear probing from the home slot across region borders: placement spreads
    load and locality, it never decides whether an id is found.
    """

    def __init__(
        self,
        path: Path,
        slots: int,
        *,
        shared: bool = True,
        lifetime_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``shared=False``: this process is the file's only user (one edge process per
        data directory), so the per-request lock (two system calls) is skipped.

        ``lifetime_s``: the longest an entry can live, from its insertion to its expiry (the
        verifier's window plus the future skew it allows). A slot that expired longer ago
        than that cannot lie between a live id and its home slot (every slot an id probes
        past was live when the id went in), so a lookup stops there as at an empty slot.
        Without it, a lookup walks past every expired slot, and once the table has been
        filled (it is never emptied: entries expire in place) every lookup of a new id
        walks the whole probe window."""
        if slots < 1024 or slots & (slots - 1):
            raise ValueError("slots must be a power of two of at least 1024")
        self.path = path
        self.slots = slots
        self._clock = clock
        self._shared = shared
        # One second more: expiries are whole-second request timestamps plus the window.
        self._dead_after_ms = _NEVER if lifetime_s is None else int(lifetime_s * 1000) + 1000
        region_bits = min(_REGION_SLOTS, slots).bit_length() - 1
        regions = slots >> region_bits
        cycle_ms = int((lifetime_s or _DEFAULT_LIFETIME_S) * 1000)
        # A whole cycle of regions spans at least a lifetime: a region is reused only once
        # its ids have expired, and at the sized-for rate it is at most MAX_LOAD full.
        self._region_ms = max(1, -(-cycle_ms // regions))
        self._region_mask = regions - 1
        self._region_bits = region_bits
        self._hash_shift = 64 - region_bits
        layout = _HEADER.pack(_MAGIC, slots, self._region_ms)
        # Another layout (an older file, other settings) starts empty: see mapped_file.py.
        self._file = MappedFile(path, layout, table_bytes(slots))
        # The slots as 64-bit words (key, expiry << 2 | state, key, ...): indexing them is
        # cheaper than unpacking a struct per probe.
        self._words = self._file.words
        self.evicted = 0
        """Live entries overwritten early in this process (the sized-for rate was exceeded)."""

    async def first_seen(self, interaction_id: str, expires_at: float) -> bool:
        return self.first_seen_now(interaction_id, expires_at)

    def first_seen_now(self, interaction_id: str, expires_at: float) -> bool:
        """:meth:`first_seen` without a coroutine: the table answers without I/O (see
        :func:`immediate_first_seen`)."""
        return self._offer(interaction_id, expires_at, _INLINE) == 0

    async def hand_over(self, interaction_id: str, expires_at: float) -> Previously:
        before = self._offer(interaction_id, expires_at, _QUEUED)
        return (Previously.NOTHING, Previously.RAN_INLINE, Previously.QUEUED)[before]

    def _offer(self, interaction_id: str, expires_at: float, state: int) -> int:
        """Record ``state`` for the id; the state it had before (0: none). Only a queued
        state overwrites (inline -> queued); everything else keeps the first record."""
        key = table_key(interaction_id)  # a snowflake is its own key
        # The region of the id's creation time (a snowflake's top bits), then a hash of the
        # whole id within it (see the class docstring).
        region = ((key >> 22) + DISCORD_EPOCH_MS) // self._region_ms & self._region_mask
        index = region << self._region_bits | ((key * _FIB) & _MASK64) >> self._hash_shift
        meta = int(expires_at * 1000) << 2 | state
        now_ms = int(self._clock() * 1000)
        if not self._shared:
            # The usual case, for one process alone: the id's home slot is free (empty, or
            # dead: no live id lies beyond it), so the id goes there and nothing else is read.
            words = self._words
            if words[2 * index] == 0 or words[2 * index + 1] >> 2 <= now_ms - self._dead_after_ms:
                words[2 * index + 1] = meta
                words[2 * index] = key
                return 0
            return self._probe(key, index, meta, now_ms)
        self._file.lock()
        try:
            return self._probe(key, index, meta, now_ms)
        finally:
            self._file.unlock()

    def _probe(self, key: int, index: int, meta: int, now_ms: int) -> int:
        """:meth:`_offer`'s walk from the home slot ``index`` (under the lock when shared)."""
        words = self._words
        mask = self.slots - 1
        dead_ms = now_ms - self._dead_after_ms
        free = -1
        oldest, oldest_at = -1, 0
        for _ in range(_PROBES):
            slot_key = words[2 * index]
            slot_meta = words[2 * index + 1]
            expiry = slot_meta >> 2
            if slot_key == 0 or expiry <= dead_ms:  # no live id lies beyond: stop here
                if free < 0:
                    free = index
                break
            if expiry <= now_ms:  # expired: reusable, but keep looking for the key
                if free < 0:
                    free = index
            elif slot_key == key:
                before: int = slot_meta & 3
                if meta & 3 == _QUEUED and before == _INLINE:
                    words[2 * index + 1] = meta
                return before
            elif oldest < 0 or expiry < oldest_at:
                oldest, oldest_at = index, expiry
            index = (index + 1) & mask
        if free < 0:
            free = oldest
            self.evicted += 1
        words[2 * free + 1] = meta
        words[2 * free] = key
        return 0

    async def aclose(self) -> None:
        self._file.close()


def immediate_first_seen(guard: ReplayGuard) -> Callable[[str, float], bool] | None:
    """``guard.first_seen`` as a plain call, for a backend that answers without I/O (the
    host's table), so the edge's hot path need not make a coroutine per request; None for
    one that must wait (Redis)."""
    return guard.first_seen_now if isinstance(guard, SharedReplayTable) else None


class RedisReplayGuard:
    """Shared by every edge replica on every host: one key per id, expiring at the id's
    request timestamp plus the window (``EXAT``). A client passed in stays the caller's
    (the process shares one) unless ``owns_client``."""

    def __init__(
        self, redis: object, *, prefix: str = "catalyst:seen:", owns_client: bool = False
    ) -> None:
        from redis.asyncio import Redis

        if not isinstance(redis, Redis):
            raise TypeError("RedisReplayGuard needs a redis.asyncio.Redis client")
        self._redis: Redis = redis
        self._prefix = prefix
        self._owns_client = owns_client

    async def first_seen(self, interaction_id: str, expires_at: float) -> bool:
        created = await self._redis.set(
            self._prefix + interaction_id, b"i", nx=True, exat=math.ceil(expires_at)
        )
        return bool(created)

    async def hand_over(self, interaction_id: str, expires_at: float) -> Previously:
        # SET … GET: mark queued and learn the previous state in one atomic step.
        before = await self._redis.set(
            self._prefix + interaction_id, b"q", exat=math.ceil(expires_at), get=True
        )
        if before is None:
            return Previously.NOTHING
        return Previously.QUEUED if before == b"q" else Previously.RAN_INLINE

    async def aclose(self) -> None:
        if self._owns_client:
            await self._redis.aclose()
