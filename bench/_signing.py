"""Pre-signed interaction pools for the edge benchmarks.

Signing costs about 25 µs per request, as much as verifying, so it is done before the
clock starts: a pool of distinct, signed request bodies is written to a file that the wrk
script and the open-loop generator read and replay in order. Every body carries its own
interaction id (our edge refuses a replayed id with 409) and the pool's timestamp
(the edge refuses one older than 5 minutes), so a pool is made per run, never cached.

File format, one request per line: ``<signature hex>\\t<timestamp>\\t<body>``. Bodies
are compact JSON without raw tabs or newlines.
"""

from __future__ import annotations

import enum
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import msgspec
import nacl.signing

from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.edge.replay import MEASURED_PEAK_RATE

# A pool's ids are created at the rate one edge process is sized for (8 per millisecond), as
# Discord's would be under that load: the edge places ids by their creation time
# (edge/replay.py), so ids packed tighter than real traffic would crowd one region of its
# table, and ids spread wider would flatter it.
_INCREMENTS_PER_MS = MEASURED_PEAK_RATE // 1000
_CHUNK = 10_000

_encoder = msgspec.json.Encoder()


class Workload(enum.Enum):
    """What a pool's requests ask for, and the callback type a correct server answers."""

    PING = "ping"
    HELP = "help"

    @property
    def expected_type(self) -> int:
        return 1 if self is Workload.PING else 4


@dataclass(frozen=True)
class PoolSpec:
    """Everything needed to build a pool; picklable so chunks can be signed in parallel."""

    workload: Workload
    signing_seed: bytes
    application_id: str
    timestamp: int
    base_ms: int
    size: int


def new_signing_key() -> nacl.signing.SigningKey:
    """A fresh Ed25519 key for one benchmark run."""
    return nacl.signing.SigningKey.generate()


def verify_key_hex(key: nacl.signing.SigningKey) -> str:
    """The public key in the hex form Discord's portal shows (DISCORD_PUBLIC_KEY)."""
    return bytes(key.verify_key).hex()


def interaction_id(base_ms: int, index: int) -> str:
    """The ``index``-th distinct snowflake of a pool whose first id is at ``base_ms``."""
    return make_snowflake(base_ms + index // _INCREMENTS_PER_MS, index % _INCREMENTS_PER_MS)


def ping_body(snowflake: str, application_id: str) -> bytes:
    return _encoder.encode(
        {
            "type": 1,
            "id": snowflake,
            "application_id": application_id,
            "token": "bench-token",
            "version": 1,
        }
    )


def command_body(
    snowflake: str, application_id: str, *, name: str = "help", token: str = "bench-token"
) -> bytes:
    """``/name`` in a guild, with the fields Discord sends for a chat-input command."""
    guild_id = "1100000000000000001"
    return _encoder.encode(
        {
            "type": 2,
            "id": snowflake,
            "application_id": application_id,
            "token": token,
            "version": 1,
            "data": {"id": "1200000000000000001", "name": name, "type": 1},
            "guild_id": guild_id,
            "channel_id": "1100000000000000002",
            "member": {
                "user": {
                    "id": "1100000000000000003",
                    "username": "bench",
                    "discriminator": "0",
                    "global_name": "Bench",
                },
                "roles": [],
                "permissions": "2147483648",
                "joined_at": "2024-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
            },
            "app_permissions": "2147534848",
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id},
            "context": 0,
        }
    )


def help_body(snowflake: str, application_id: str) -> bytes:
    """``/help`` in a guild."""
    return command_body(snowflake, application_id)


def _body(spec: PoolSpec, index: int) -> bytes:
    snowflake = interaction_id(spec.base_ms, index)
    if spec.workload is Workload.PING:
        return ping_body(snowflake, spec.application_id)
    return help_body(snowflake, spec.application_id)


def _sign_chunk(spec: PoolSpec, start: int, stop: int) -> bytes:
    key = nacl.signing.SigningKey(spec.signing_seed)
    prefix = str(spec.timestamp).encode()
    tab_ts = b"\t" + prefix + b"\t"
    lines = []
    for index in range(start, stop):
        body = _body(spec, index)
        signature = key.sign(prefix + body).signature.hex().encode()
        lines.append(signature + tab_ts + body + b"\n")
    return b"".join(lines)


def _chunks(size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, size, _CHUNK):
        yield start, min(start + _CHUNK, size)


def make_spec(
    workload: Workload,
    key: nacl.signing.SigningKey,
    application_id: str,
    size: int,
    not_after_ms: int | None = None,
) -> PoolSpec:
    """A pool stamped now whose ids end at ``not_after_ms`` (default: now).

    Pass the previous pool's ``base_ms - 1`` to keep the ids of all pools distinct.
    """
    now_ms = int(time.time() * 1000)
    end_ms = now_ms if not_after_ms is None else min(now_ms, not_after_ms)
    span_ms = size // _INCREMENTS_PER_MS + 1
    return PoolSpec(
        workload=workload,
        signing_seed=bytes(key),
        application_id=application_id,
        timestamp=int(time.time()),
        base_ms=end_ms - span_ms,
        size=size,
    )


def write_pool(spec: PoolSpec, path: Path, processes: int | None = None) -> None:
    """Sign ``spec.size`` requests and write them to ``path`` (parallel over processes)."""
    workers = processes or min(os.cpu_count() or 1, 4)
    bounds: Sequence[tuple[int, int]] = list(_chunks(spec.size))
    with path.open("wb") as out:
        if workers <= 1:
            for start, stop in bounds:
                out.write(_sign_chunk(spec, start, stop))
            return
        # spawn, not fork: a forked worker would inherit the caller's signal handlers
        # and pending signals, and could unwind into the caller's code on SIGTERM.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for data in pool.map(
                _sign_chunk,
                [spec] * len(bounds),
                [b[0] for b in bounds],
                [b[1] for b in bounds],
            ):
                out.write(data)


def read_pool(path: Path) -> list[tuple[str, str, bytes]]:
    """The pool's requests as ``(signature hex, timestamp, body)``."""
    requests = []
    with path.open("rb") as src:
        for line in src:
            signature, timestamp, body = line.rstrip(b"\n").split(b"\t", 2)
            requests.append((signature.decode(), timestamp.decode(), body))
    return requests
