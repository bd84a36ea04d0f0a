"""The record of interactions already run or queued (replay memory), through real parts:
a real memory-mapped file shared by real processes, real Redis, the real edge on loopback.
"""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey
from redis.asyncio import Redis

from catalyst_interactions.app import REPLAY_TABLE
from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.edge.replay import (
    MAX_LOAD,
    MEASURED_PEAK_RATE,
    SLOT,
    Previously,
    RedisReplayGuard,
    SharedReplayTable,
    capacity_for,
    table_bytes,
)
from catalyst_interactions.settings import Settings
from support.edge import edge_runtime
from support.servers import free_port, serve_in_thread
from support.signing import Signer, command, new_id

REDIS = "redis://127.0.0.1:6379/0"


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_an_id_is_run_once_and_handed_over_once(tmp_path: Path) -> None:
    table = SharedReplayTable(tmp_path / "t", 1024)
    later = time.time() + 300
    a, b, c = new_id(), new_id(), new_id()
    assert run(table.first_seen(a, later)) is True
    assert run(table.first_seen(a, later)) is False
    # A hand-over of what ran inline learns so (and marks it queued) …
    assert run(table.hand_over(a, later)) is Previously.RAN_INLINE
    assert run(table.hand_over(a, later)) is Previously.QUEUED
    assert run(table.first_seen(a, later)) is False
    # … one never seen is new; after a hand-over, /interactions refuses it.
    assert run(table.hand_over(b, later)) is Previously.NOTHING
    assert run(table.first_seen(b, later)) is False
    assert run(table.first_seen(c, later)) is True


def test_ids_are_kept_until_their_timestamp_plus_window_not_from_arrival(tmp_path: Path) -> None:
    now = [1_000_000.0]
    table = SharedReplayTable(tmp_path / "t", 1024, clock=lambda: now[0])
    old, fresh = new_id(), new_id()
    # Both arrive now; one was signed 290 s ago (expires in 10 s), one just now (in 300 s).
    assert run(table.first_seen(old, now[0] - 290 + 300)) is True
    assert run(table.first_seen(fresh, now[0] + 300)) is True
    now[0] += 11
    assert run(table.first_seen(old, now[0] + 300)) is True  # forgotten: stale by then
    assert run(table.first_seen(fresh, now[0] + 300)) is False  # still remembered


def test_the_table_is_shared_by_processes_on_one_host(tmp_path: Path) -> None:
    path = tmp_path / "shared"
    table = SharedReplayTable(path, 4096)
    mine = [new_id() for _ in range(200)]
    later = time.time() + 300
    for interaction_id in mine:
        assert run(table.first_seen(interaction_id, later)) is True
    script = (
        "import asyncio, sys, time\n"
        "from pathlib import Path\n"
        "from catalyst_interactions.edge.replay import SharedReplayTable\n"
        "t = SharedReplayTable(Path(sys.argv[1]), 4096)\n"
        "ids = sys.argv[2].split(',')\n"
        "seen = [asyncio.run(t.first_seen(i, time.time() + 300)) for i in ids]\n"
        "print(sum(seen))\n"
    )
    theirs = [new_id() for _ in range(50)]
    out = subprocess.run(
        [sys.executable, "-c", script, str(path), ",".join(mine + theirs)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "50"  # only the ids this process never offered were new
    for interaction_id in theirs:
        assert run(table.first_seen(interaction_id, later)) is False


def test_concurrent_processes_never_both_win_an_id(tmp_path: Path) -> None:
    path = tmp_path / "race"
    SharedReplayTable(path, 1 << 14)
    ids = ",".join(new_id() for _ in range(2000))
    script = (
        "import asyncio, sys, time\n"
        "from pathlib import Path\n"
        "from catalyst_interactions.edge.replay import SharedReplayTable\n"
        "t = SharedReplayTable(Path(sys.argv[1]), 1 << 14)\n"
        "won = [i for i in sys.argv[2].split(',') "
        "if asyncio.run(t.first_seen(i, time.time() + 300))]\n"
        "print(len(won))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), ids], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    wins = [int(p.communicate(timeout=120)[0]) for p in procs]
    assert sum(wins) == 2000  # each id won by exactly one of the three processes


def test_the_bound_in_entries_and_bytes(tmp_path: Path) -> None:
    lifetime = 300 + 10  # the default window plus the allowed future skew
    slots = capacity_for(lifetime)
    # 8,000 ids/s for 310 s at most 60 % full: 4,133,334 slots, rounded up to 2^22 — the
    # bound docs/security.md states (2.5 M live ids, 64 MiB).
    assert slots == 4_194_304
    assert slots * MAX_LOAD >= MEASURED_PEAK_RATE * lifetime
    table = SharedReplayTable(tmp_path / "sized", slots)
    assert SLOT.size == 16
    assert os.path.getsize(table.path) == table_bytes(slots) == 24 + 64 * 1024 * 1024
    # Overfilled (far beyond its size): still the same bytes; the earliest expiring go first.
    small = SharedReplayTable(tmp_path / "small", 1024)
    later = time.time() + 300
    for i in range(3000):
        run(small.first_seen(new_id(), later + i))
    assert small.evicted > 0
    assert os.path.getsize(small.path) == table_bytes(1024)


def test_redis_record_expires_at_the_timestamp_plus_window() -> None:
    prefix = f"test:seen:{uuid.uuid4().hex}:"

    async def go() -> None:
        guard = RedisReplayGuard(Redis.from_url(REDIS), prefix=prefix)
        probe = Redis.from_url(REDIS)
        try:
            interaction_id = new_id()
            expires = time.time() + 120  # e.g. signed 180 s ago under a 300 s window
            assert await guard.first_seen(interaction_id, expires) is True
            assert await guard.first_seen(interaction_id, expires) is False
            ttl = await probe.ttl(prefix + interaction_id)
            assert 118 <= ttl <= 121
            assert await guard.hand_over(interaction_id, expires) is Previously.RAN_INLINE
            assert await guard.hand_over(interaction_id, expires) is Previously.QUEUED
            assert await guard.hand_over(new_id(), expires) is Previously.NOTHING
        finally:
            keys = [k async for k in probe.scan_iter(match=prefix + "*")]
            if keys:
                await probe.delete(*keys)
            await probe.aclose()
            await guard.aclose()

    asyncio.run(go())


# -- through the real edge ------------------------------------------------------------------
def edge_settings(signer: Signer, tmp_path: Path, **kw: object) -> Settings:
    return Settings(public_key_hex=signer.public_key_hex, data_dir=tmp_path, **kw)  # type: ignore[arg-type]


@pytest.mark.loopback
def test_a_replay_is_refused_until_the_timestamp_itself_is_stale(tmp_path: Path) -> None:
    signer = Signer(SigningKey.generate())
    runtime = edge_runtime(edge_settings(signer, tmp_path, timestamp_window_s=3.0))
    with serve_in_thread(runtime.app) as url, httpx.Client(base_url=url) as client:
        body, headers = signer.signed(command("help"), timestamp=int(time.time()) - 1)
        assert client.post("/interactions", content=body, headers=headers).status_code == 200
        assert client.post("/interactions", content=body, headers=headers).status_code == 409
        time.sleep(3.5)  # past timestamp + window: the record may forget the id now …
        late = client.post("/interactions", content=body, headers=headers)
        assert late.status_code == 401  # … because the verifier refuses it as stale
        assert (tmp_path / REPLAY_TABLE).exists()


@pytest.mark.loopback
def test_timestamps_too_far_in_the_future_are_refused(tmp_path: Path) -> None:
    signer = Signer(SigningKey.generate())
    runtime = edge_runtime(edge_settings(signer, tmp_path))  # default skew: 10 s
    with serve_in_thread(runtime.app) as url, httpx.Client(base_url=url) as client:
        ahead = int(time.time()) + 60
        body, headers = signer.signed(command("help"), timestamp=ahead)
        refused = client.post("/interactions", content=body, headers=headers)
        assert refused.status_code == 401
        assert refused.json() == {"error": "request timestamp outside the allowed window"}
        body, headers = signer.signed(command("help"), timestamp=int(time.time()) + 5)
        assert client.post("/interactions", content=body, headers=headers).status_code == 200


@pytest.mark.loopback
def test_edge_processes_on_one_port_share_the_record(tmp_path: Path) -> None:
    """`serve --processes 2` without Redis: two edge processes behind one port. Each
    interaction is posted twice on fresh connections, so the two deliveries land on either
    process; every second delivery is refused, whichever process answered the first."""
    signer = Signer(SigningKey.generate())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "CATALYST_"))}
    env |= {
        "DISCORD_PUBLIC_KEY": signer.public_key_hex,
        "DISCORD_APPLICATION_ID": "123",
        "CATALYST_DATA_DIR": str(tmp_path),
        "CATALYST_ADMIN_GUILD_IDS": "500",
        "CATALYST_LOG_LEVEL": "warning",
    }
    port = free_port()
    argv = [sys.executable, "-m", "catalyst_interactions", "serve", "--no-workers"]
    proc = subprocess.Popen(
        [*argv, "--processes", "2", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/interactions"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "edge did not start"
            time.sleep(0.1)
        time.sleep(1.0)  # let the second edge process come up too
        for _ in range(30):
            body, headers = signer.signed(command("help"))
            first = httpx.post(url, content=body, headers=headers)  # a new connection each
            assert first.status_code == 200, first.text
            again = httpx.post(url, content=body, headers=headers)
            assert again.status_code == 409, again.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class _CountingWords:
    """The table's slot words, counting the reads of a lookup."""

    def __init__(self, words: memoryview) -> None:
        self.words = words
        self.reads = 0

    def __getitem__(self, index: int) -> int:
        self.reads += 1
        return int(self.words[index])

    def __setitem__(self, index: int, value: int) -> None:
        self.words[index] = value


def test_a_live_id_behind_recently_expired_ones_is_still_refused(tmp_path: Path) -> None:
    now = [1_000_000.0]
    table = SharedReplayTable(tmp_path / "t", 1024, lifetime_s=310, clock=lambda: now[0])
    short_lived = [new_id() for _ in range(600)]  # signed 295 s ago: 5 s left each
    for interaction_id in short_lived:
        assert run(table.first_seen(interaction_id, now[0] + 5)) is True
    # 300 fresh ids go in while those still live: many land beyond them in their probe run.
    fresh = [new_id() for _ in range(300)]
    for interaction_id in fresh:
        assert run(table.first_seen(interaction_id, now[0] + 300)) is True
    now[0] += 60  # the first 600 expired 55 s ago: not long enough to be skipped
    for interaction_id in fresh:
        assert run(table.first_seen(interaction_id, now[0] + 300)) is False
    assert table.evicted == 0


def test_a_lookup_stops_at_slots_that_expired_longer_ago_than_an_entry_can_live(
    tmp_path: Path,
) -> None:
    now = [1_000_000.0]
    tables = {
        knows: SharedReplayTable(
            tmp_path / str(knows), 1024, lifetime_s=310 if knows else None, clock=lambda: now[0]
        )
        for knows in (True, False)
    }
    for table in tables.values():
        for _ in range(4 * 1024):  # every slot taken (and then some), by entries expiring in 5 s
            run(table.first_seen(new_id(), now[0] + 5))
        assert all(table._words[2 * slot] != 0 for slot in range(1024))
    now[0] += 3600  # an hour later all of them are long dead; the table is never emptied
    reads = {}
    for knows, table in tables.items():
        counting = _CountingWords(table._words)
        table._words = counting  # type: ignore[assignment]
        assert run(table.first_seen("4242", now[0] + 300)) is True
        assert run(table.first_seen("4242", now[0] + 300)) is False
        reads[knows] = counting.reads
    # Without the lifetime the lookup of a new id walks the whole probe window (64 slots,
    # 2 words each) past the dead entries; with it, the first dead slot ends the walk (and
    # the replay is found where the id went in).
    assert reads[False] >= 2 * 64
    assert reads[True] <= 2 * 2 * 2


def test_the_hot_path_answers_and_writes_exactly_as_the_general_lookup(tmp_path: Path) -> None:
    """One process alone (``shared=False``: home slot free, write there, else the walk)
    against a shared table (always the walk, under the lock), on the same sequence of
    ``first_seen_now`` and ``hand_over``: the same answers and, byte for byte, the same file.
    The sequence mixes fresh and repeated snowflakes, ids that are not snowflakes or do not
    fit 63 bits, hand-overs, and time passing so that slots expire and die; the small table
    makes home slots collide often."""
    import random

    now = [1_000_000.0]
    alone = SharedReplayTable(
        tmp_path / "alone", 1024, shared=False, lifetime_s=310, clock=lambda: now[0]
    )
    shared = SharedReplayTable(tmp_path / "shared", 1024, lifetime_s=310, clock=lambda: now[0])
    rng = random.Random(7)
    seen: list[str] = []
    walks = [0]
    probe = alone._probe

    def counted_probe(key: int, index: int, meta: int, now_ms: int) -> int:
        walks[0] += 1
        return probe(key, index, meta, now_ms)

    alone._probe = counted_probe  # type: ignore[method-assign]
    for step in range(6000):
        roll = rng.random()
        if seen and roll < 0.2:
            interaction_id = rng.choice(seen[-400:])  # a replay
        elif roll < 0.25:
            interaction_id = rng.choice(["abc-" + str(step), "9" * 19, "0", "٣٤٥"])
        else:  # a fresh snowflake: fixed by the seed, not by the clock or the test order
            interaction_id = make_snowflake(1_700_000_000_000 + rng.randrange(10**9), step)
        seen.append(interaction_id)
        expires_at = now[0] + rng.choice([5, 300])
        if rng.random() < 0.1:
            handed = run(alone.hand_over(interaction_id, expires_at))
            assert handed == run(shared.hand_over(interaction_id, expires_at)), step
        else:
            answer = alone.first_seen_now(interaction_id, expires_at)
            assert answer == shared.first_seen_now(interaction_id, expires_at), step
        if step % 500 == 499:
            now[0] += rng.choice([1, 60, 400])  # some slots expire; after 400 s they are dead
    assert alone.path.read_bytes() == shared.path.read_bytes()  # the same table, word for word
    assert alone.evicted == shared.evicted
    # Both paths were exercised: the home slot free, and taken (replays, collisions).
    assert walks[0] > 1000  # 4,251 walks and 1,749 home-slot writes with this seed
    assert 6000 - walks[0] > 200


def _slots_holding(table: SharedReplayTable, keys: set[int]) -> list[int]:
    return [slot for slot in range(table.slots) if table._words[2 * slot] in keys]


_NOW = 1_750_000_000.0  # ids carry their creation time: a time after Discord's epoch


def test_ids_created_together_are_written_to_a_few_pages(tmp_path: Path) -> None:
    """Ids are placed by the time their snowflake carries: those of one moment share one
    region of the file (a few pages), not the whole table."""
    now = [_NOW]
    # 4 regions of 65,536 slots (1 MiB, 256 pages), each 2.5 s of creation time.
    table = SharedReplayTable(
        tmp_path / "t", 1 << 18, shared=False, lifetime_s=10, clock=lambda: now[0]
    )
    start_ms = int(now[0] * 1000)
    together = [new_id(start_ms + i // 8) for i in range(8000)]  # 1 s of ids at 8/ms
    for interaction_id in together:
        assert table.first_seen_now(interaction_id, now[0] + 10) is True
    slots = _slots_holding(table, {int(i) for i in together})
    assert len(slots) == 8000
    pages = {(24 + 16 * slot) // 4096 for slot in slots}
    # At random over the table's 1,025 pages, 8,000 ids would touch ~1,000 of them.
    assert len(pages) <= 2 * 256 + 1
    assert len({slot >> 16 for slot in slots}) <= 2
    # Ids created five seconds later (two region widths) go to other regions.
    later = [new_id(start_ms + 5000 + i) for i in range(200)]
    for interaction_id in later:
        assert table.first_seen_now(interaction_id, now[0] + 10) is True
    later_regions = {slot >> 16 for slot in _slots_holding(table, {int(i) for i in later})}
    assert later_regions.isdisjoint({slot >> 16 for slot in slots})


def _feed(
    table: SharedReplayTable, now: list[float], rate: float, seconds: float, lifetime: float
) -> list[tuple[str, float]]:
    """Ids created now, at ``rate`` per second for ``seconds`` (a fake clock in 10 ms
    steps), each offered once; those still live at the end, with their expiries."""
    recent: list[tuple[str, float]] = []
    per_step = round(rate / 100)
    for step in range(round(seconds * 100)):
        now[0] += 0.01
        at_ms = int(now[0] * 1000)
        for increment in range(per_step):  # the same ids whatever ran before
            interaction_id = make_snowflake(at_ms, increment)
            assert table.first_seen_now(interaction_id, now[0] + lifetime) is True
            recent.append((interaction_id, now[0] + lifetime))
        if step % 100 == 0:
            recent = [(i, expiry) for i, expiry in recent if expiry > now[0]]
    # The table keeps expiries in whole milliseconds: ids expiring within the last one are
    # not counted live.
    return [(i, expiry) for i, expiry in recent if expiry > now[0] + 0.001]


def test_at_its_sized_rate_for_three_lifetimes_the_table_forgets_no_live_id(
    tmp_path: Path,
) -> None:
    """Fed ids created at the rate it is sized for (the whole table at MAX_LOAD), for three
    lifetimes, the time-placed table never overwrites a live entry, and every id it holds is
    refused when offered again until its expiry."""
    lifetime, slots = 10.0, 1 << 18
    rate = slots * MAX_LOAD / lifetime  # 15,729 ids/s
    now = [_NOW]
    table = SharedReplayTable(
        tmp_path / "t", slots, shared=False, lifetime_s=lifetime, clock=lambda: now[0]
    )
    live = _feed(table, now, rate, 3 * lifetime, lifetime)
    assert table.evicted == 0
    assert len(live) > 0.9 * rate * lifetime
    assert not any(table.first_seen_now(i, now[0] + lifetime) for i, _ in live)


def test_a_burst_of_1_4_times_the_sized_rate_for_two_region_widths_loses_nothing(
    tmp_path: Path,
) -> None:
    """The bound time placement adds (docs/security.md, "Replay"): the ids created within
    one region width share a region, so a burst is limited by the region, not the table.
    After a lifetime of traffic at the sized-for rate, 1.4 times it over two whole widths
    (5 s here) still fits; twice it overwrites live entries (placed at random over the
    whole table, the same burst would fit: the region is what bounds it)."""
    lifetime, slots = 10.0, 1 << 18
    rate = slots * MAX_LOAD / lifetime
    evicted = {}
    for factor in (1.4, 2.0):
        now = [_NOW]
        table = SharedReplayTable(
            tmp_path / str(factor),
            slots,
            shared=False,
            lifetime_s=lifetime,
            clock=lambda now=now: now[0],
        )
        _feed(table, now, rate, lifetime, lifetime)
        assert table.evicted == 0
        live = _feed(table, now, factor * rate, lifetime / 2, lifetime)
        evicted[factor] = table.evicted
        if factor == 1.4:
            assert not any(table.first_seen_now(i, now[0] + lifetime) for i, _ in live)
    assert evicted[1.4] == 0
    assert evicted[2.0] > 0


def test_a_table_laid_out_otherwise_starts_empty(tmp_path: Path) -> None:
    """The placement is part of the file's layout (its header): a file written with another
    lifetime (another region width) would hide its ids from lookups, so it starts empty."""
    path = tmp_path / "t"
    first = SharedReplayTable(path, 1 << 18, lifetime_s=310)
    interaction_id = new_id()
    assert first.first_seen_now(interaction_id, time.time() + 300) is True
    run(first.aclose())
    same = SharedReplayTable(path, 1 << 18, lifetime_s=310)
    assert same.first_seen_now(interaction_id, time.time() + 300) is False
    run(same.aclose())
    other = SharedReplayTable(path, 1 << 18, lifetime_s=600)
    assert not any(other._words)  # emptied, not merely looked up in another region
    _magic, slots, width_ms = struct.unpack("<8sqq", path.read_bytes()[:24])
    assert (slots, width_ms) == (1 << 18, 600_000 // 4)  # 4 regions of 65,536 slots
    assert other.first_seen_now(interaction_id, time.time() + 300) is True
