"""The scale-out configuration, for real, under a steady mixed load and faults.

Two edge processes (``serve --no-workers --processes 2``, one port) and two worker processes
(``worker --processes 2``), queue and shared state on a Redis of the suite's own (append-only
file), the store on a PostgreSQL cluster of its own, chart images in moto's S3, and the
local Discord (the emulator) as Discord: it builds, signs and sends every interaction and
receives every callback, edit and follow-up.

While the mix runs (PING, ``/help``, ``/chart``, timeframe clicks on charts, ``/admin set``)
the suite SIGKILLs a worker process and an edge process, then restarts Redis and
PostgreSQL. Afterwards:

* nothing is lost: every interaction Discord saw acknowledged ends with its answer (a deferred
  one's "thinking" message is edited, or the user gets a follow-up), and every other one is
  an immediate "did not respond" that Discord itself shows the user;
* nothing is doubled: no token's original message is edited twice and no follow-up is sent
  twice; every ``/admin set`` is in the parameter history at most once;
* every answer came before its token expired (15 minutes);
* no process is left behind: the render processes of the SIGKILLed worker exit on their own,
  and after the stop no process of the run remains.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nacl.signing import SigningKey

from catalyst_interactions.bot import build_registry
from catalyst_interactions.emulator import Emulator
from support.own_services import MotoS3, OwnPostgres, OwnRedis, free_port
from support.scale_out import (
    CountingDiscord,
    Fleet,
    Mix,
    alive,
    cmdline,
    descendants,
    ready,
    seed,
    wait_until,
)
from support.servers import serve_in_thread

pytestmark = [pytest.mark.fault, pytest.mark.loopback]

RATE = 6.0
"""Interactions per second of the steady mix (a 2-core machine shared with other suites)."""
LOAD_S = 70.0
TOKEN_LIFETIME_S = 15 * 60


# -- the suite ---------------------------------------------------------------------------------
@pytest.fixture
def workdir() -> Iterator[Path]:
    # Under /tmp (not pytest's private tmp): the postgres user must reach its data directory.
    path = Path(tempfile.mkdtemp(prefix="scale-out-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


@pytest.mark.timeout(420)
def test_scale_out_survives_kills_and_restarts(workdir: Path) -> None:
    redis = OwnRedis(workdir / "redis")
    postgres = OwnPostgres(workdir / "pg")
    s3 = MotoS3()
    postgres.init()
    postgres.start()
    redis.start()
    s3.start()
    # In a directory of its own: the key file makes its directory private (0700), and the
    # postgres user must still reach the cluster beside it.
    key_file = workdir / "keys" / "signing-key"
    emulator = Emulator()
    emulator.export_signing_key(key_file)
    key = SigningKey(bytes.fromhex(key_file.read_text().strip()))
    discord = CountingDiscord(emulator)
    world = emulator.world
    admin_id = str(world.personas["admin"].user["id"])
    fleet: Fleet | None = None
    try:
        with serve_in_thread(discord) as discord_url:
            emulator.public_base = discord_url
            seed(postgres.url)
            register = httpx.put(
                f"{emulator.api_base}/applications/{world.application_id}/commands",
                json=build_registry().commands_json(),
                headers={"Authorization": f"Bot {emulator.bot_token.reveal()}"},
                timeout=30,
            )
            assert register.status_code == 200, register.text
            port = free_port()
            (workdir / "logs").mkdir()
            env = os.environ | {
                "DISCORD_PUBLIC_KEY": emulator.public_key_hex,
                "DISCORD_APPLICATION_ID": world.application_id,
                "DISCORD_BOT_TOKEN": emulator.bot_token.reveal(),
                "DISCORD_API_BASE": emulator.api_base,
                "CATALYST_DATA_DIR": str(workdir / "data"),
                "CATALYST_REDIS_URL": redis.url,
                "CATALYST_QUEUE_URL": redis.url,
                "CATALYST_DATABASE_URL": postgres.url,
                "CATALYST_CHART_STORE_URL": f"s3://{s3.bucket}/e2e",
                "CATALYST_S3_ENDPOINT_URL": s3.endpoint,
                "CATALYST_S3_ACCESS_KEY": "testing",
                "CATALYST_S3_SECRET_KEY": "testing",
                "CATALYST_STATE_SECRET": "e2e-state-secret-of-enough-length-0123456789",
                "CATALYST_ADMIN_USER_IDS": admin_id,
                "CATALYST_COOLDOWNS": "chart=0",
                "CATALYST_JOB_LEASE_S": "3",
                "CATALYST_JOB_RETRY_BASE_S": "0.2",
                "CATALYST_LOG_FORMAT": "text",
                "CATALYST_LOG_LEVEL": "warning",
            }
            fleet = Fleet(env, port, workdir / "logs")
            fleet.start()
            edge_url = f"http://127.0.0.1:{port}/interactions"
            wait_until(lambda: ready(port), 90, "the edges to be ready")
            wait_until(lambda: len(fleet.direct_children(fleet.workers)) == 2, 60, "two workers")
            emulator.store.application["interactions_endpoint_url"] = edge_url

            mix = Mix(discord_url, edge_url, key, world.application_id, emulator, RATE)
            load = threading.Thread(target=mix.run, args=(LOAD_S,), daemon=True)
            load.start()
            _faults(fleet, redis, postgres)
            load.join(LOAD_S + 60)
            assert not load.is_alive(), "the load did not finish"
            # Drain: every acknowledged deferred interaction must end with its answer.
            wait_until(
                lambda: not _pending(mix, emulator, discord),
                120,
                "every deferred answer to arrive",
            )
            for proc in (fleet.edges, fleet.workers):
                fleet.children(proc)
            _check(mix, emulator, discord, postgres.url)
            assert s3.objects() > 0, "no chart image reached the S3 store"
    except BaseException:
        if fleet is not None:
            print(fleet.log_tail())
        raise
    finally:
        if fleet is not None:
            fleet.stop()
        s3.stop()
        redis.stop()
        postgres.stop("immediate")
    assert fleet is not None
    left = sorted(pid for pid in fleet.seen if alive(pid))
    assert left == [], f"processes left behind: {[cmdline(p)[:120] for p in left]}"


def _faults(fleet: Fleet, redis: OwnRedis, postgres: OwnPostgres) -> None:
    """SIGKILL a worker and an edge, then restart Redis and PostgreSQL, spread over the load."""
    time.sleep(12)
    workers = fleet.direct_children(fleet.workers)
    victim = workers[0]
    renderers = [p for p in descendants(victim) if p != victim]
    fleet.seen.update(renderers)
    os.kill(victim, signal.SIGKILL)
    # Its render processes exit on their own (their parent died, nobody stopped them).
    wait_until(lambda: not any(alive(p) for p in renderers), 10, "orphaned render processes")
    wait_until(lambda: len(fleet.direct_children(fleet.workers)) == 2, 60, "a new worker")
    time.sleep(8)
    edges = fleet.direct_children(fleet.edges)
    fleet.children(fleet.edges)
    os.kill(edges[0], signal.SIGKILL)
    wait_until(lambda: len(fleet.direct_children(fleet.edges)) == 2, 60, "a new edge")
    time.sleep(8)
    redis.restart()
    time.sleep(10)
    postgres.restart()
    for proc in (fleet.edges, fleet.workers):
        fleet.children(proc)


def _pending(mix: Mix, emulator: Emulator, discord: CountingDiscord) -> list[str]:
    """Acknowledged deferred interactions whose answer (or notice) has not arrived yet."""
    waiting = []
    for sent in list(mix.sent):
        result = sent.result
        if sent.kind == "ping" or not result.get("ok") or result.get("response_type") not in (5, 6):
            continue
        record = emulator.store.interactions[str(result["interaction_id"])]
        if record.token not in discord.answered_at:
            waiting.append(record.id)
    return waiting


def _check(mix: Mix, emulator: Emulator, discord: CountingDiscord, db_url: str) -> None:
    kinds = Counter(s.kind for s in mix.sent)
    assert kinds["chart"] >= 40 and kinds["help"] >= 20 and kinds["admin"] >= 5, kinds
    first = emulator.store.interactions[mix.charts[0]] if mix.charts else None
    sample = emulator.store.messages.get(first.original_id or "") if first else None
    charts = [s.result for s in mix.sent if s.kind == "chart"][:2]
    assert kinds["click"] >= 5, (kinds, len(mix.charts), sample and _brief(sample), charts)
    assert sum(mix.pings.values()) >= 20, mix.pings
    not_responded = [s for s in mix.sent if s.kind != "ping" and not s.result.get("ok")]
    # An edge killed mid-request, or a store restarting, can fail the initial answer: Discord
    # then shows "did not respond" at once, which tells the user. Only a few may do so.
    assert len(not_responded) <= max(3, len(mix.sent) // 20), [s.result for s in not_responded[:5]]
    for s in not_responded:
        assert s.result.get("error") == "The application did not respond", s.result
    assert mix.pings["pong"] >= sum(mix.pings.values()) - 3, mix.pings
    # No message twice: every follow-up (a new message) is posted at most once per token.
    doubled_followups = {t: n for t, n in discord.followups.items() if n > 1}
    assert doubled_followups == {}
    # The answer edits the original message. A job whose lease ran out while Redis restarted
    # can run again on another worker and edit it again: allowed only with the very same chart
    # (an idempotent edit leaves the message as it was), never a notice and a chart.
    repeated = {t: k for t, k in discord.final_kinds.items() if len(k) > 1}
    for token, kinds in repeated.items():
        assert len(set(kinds)) == 1 and kinds[0].startswith("upload:"), (token[-8:], kinds)
    print(f"answers edited more than once (same chart): {len(repeated)}")
    for sent in mix.sent:
        result = sent.result
        if sent.kind == "ping" or not result.get("ok"):
            continue
        record = emulator.store.interactions[str(result["interaction_id"])]
        if result.get("response_type") in (5, 6):
            # The chart (or the notice that it could not be made) arrived, in time.
            at = discord.answered_at.get(record.token)
            assert at is not None, f"{sent.kind} {record.id}: no answer"
            assert at < record.created_at + TOKEN_LIFETIME_S
            kinds = set(discord.final_kinds.get(record.token, [])) | (
                {"followup"} if discord.followups[record.token] else set()
            )
            assert len(kinds) == 1, (sent, kinds)
    # Each /admin set applied at most once (its reason is unique), and exactly once when the
    # admin was told it was set.
    history = _history(db_url)
    for sent in mix.sent:
        if sent.kind == "admin" and sent.reason is not None:
            assert history[sent.reason] <= 1, sent.reason


def _brief(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "content": str(message.get("content"))[:200],
        "flags": message.get("flags"),
        "components": json.dumps(message.get("components"))[:400],
        "attachments": len(message.get("attachments") or []),
    }


def _history(url: str) -> Counter[str]:
    from catalyst_interactions.store import Store, database_url

    async def read() -> Counter[str]:
        store = Store(database_url(url, Path(".")))
        try:
            changes = await store.parameters.history("min_score", limit=10_000)
            return Counter(str(c.reason) for c in changes)
        finally:
            await store.close()

    return asyncio.run(read())
