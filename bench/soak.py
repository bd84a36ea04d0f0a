"""Soak: the scale-out configuration under the fault suite's mix, at a steady rate, for long.

The same parts as tests/e2e/test_scale_out_faults.py, without the faults: two edge processes
(``serve --no-workers --processes 2``), two worker processes (``worker --processes 2``),
Redis and PostgreSQL of the soak's own, moto as S3, and the local Discord (the emulator) as
Discord, sending PING, ``/help``, ``/chart``, timeframe clicks and ``/admin set`` at
``--rate`` per second for ``--minutes``.

Every ``--every`` seconds it samples: the initial answer's latency (p50/p95/p99, as the local
Discord measured it), the deferred answers' delivery (request sent → the edit or follow-up
reached Discord), the queue's depth, each process's RSS (edges, workers, render processes,
supervisors) and the errors (initial answers that failed, PINGs that did not PONG). At the end
it draws PNG charts (matplotlib) and a JSON file into ``--out`` and prints a summary with the
drift of memory and latency between the first and the last quarter of the run.

    .venv/bin/python bench/soak.py [--minutes 30] [--rate 4] [--out docs/perf]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from nacl.signing import SigningKey

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from catalyst_interactions.bot import build_registry  # noqa: E402
from catalyst_interactions.emulator import Emulator  # noqa: E402
from support.own_services import MotoS3, OwnPostgres, OwnRedis, free_port  # noqa: E402
from support.scale_out import (  # noqa: E402
    LOADING,
    CountingDiscord,
    Fleet,
    Mix,
    cmdline,
    descendants,
    ready,
    seed,
    wait_until,
)
from support.servers import serve_in_thread  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def roles(fleet: Fleet) -> dict[str, list[int]]:
    """Processes by role: supervisors, edges, workers, render processes."""
    out: dict[str, list[int]] = {"supervisors": [], "edges": [], "workers": [], "renderers": []}
    for proc, kind in ((fleet.edges, "edges"), (fleet.workers, "workers")):
        if proc is None:
            continue
        out["supervisors"].append(proc.pid)
        for child in fleet.direct_children(proc):
            out[kind].append(child)
            if kind == "workers":
                out["renderers"] += [
                    p
                    for p in descendants(child)
                    if p != child and "resource_tracker" not in cmdline(p)
                ]
    return out


class Sampler:
    def __init__(self, mix: Mix, discord: CountingDiscord, fleet: Fleet, queue_url: str) -> None:
        self.mix = mix
        self.discord = discord
        self.fleet = fleet
        self.queue_url = queue_url
        self.rows: list[dict[str, Any]] = []
        self._seen = 0
        self._start = time.time()

    async def depth(self) -> int:
        from catalyst_interactions.jobs import open_queue

        queue = open_queue(self.queue_url, data_dir=Path(tempfile.gettempdir()))
        try:
            return int(await queue.depth())
        finally:
            await queue.close()

    def sample(self) -> dict[str, Any]:
        sent = self.mix.sent[self._seen :]
        self._seen += len(sent)
        answered = [s for s in sent if s.kind != "ping" and s.result.get("ok")]
        ack = [float(s.result.get("elapsed_ms", 0.0)) for s in answered]
        pings = [(s.done - s.at) * 1000 for s in sent if s.kind == "ping" and s.result.get("ok")]
        errors = sum(1 for s in sent if not s.result.get("ok"))
        by_role = roles(self.fleet)
        row = {
            "t_s": round(time.time() - self._start, 1),
            "sent": len(sent),
            "errors": errors,
            "ack_p50_ms": percentile(ack, 50),
            "ack_p95_ms": percentile(ack, 95),
            "ack_p99_ms": percentile(ack, 99),
            "ping_p99_ms": percentile(pings, 99),
            "queue_depth": asyncio.run(self.depth()),
            "rss_mib": {
                role: [round(rss_mib(pid), 1) for pid in pids] for role, pids in by_role.items()
            },
        }
        self.rows.append(row)
        return row

    def deliveries(self) -> list[tuple[float, float]]:
        """(seconds into the run, delivery ms) of every deferred answer that arrived."""
        out = []
        store = self.mix.emulator.store
        for s in self.mix.sent:
            if s.kind == "ping" or s.result.get("response_type") not in (5, 6):
                continue
            record = store.interactions.get(str(s.result["interaction_id"]))
            if record is None:
                continue
            at = self.discord.answered_at.get(record.token)
            if at is not None:
                out.append((s.at - self._start, (at - s.at) * 1000))
        return out


def draw(
    rows: list[dict[str, Any]], deliveries: list[tuple[float, float]], out: Path
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [r["t_s"] / 60 for r in rows]
    paths = []

    fig, ax = plt.subplots(figsize=(9, 4))
    for key, label in (("ack_p50_ms", "p50"), ("ack_p95_ms", "p95"), ("ack_p99_ms", "p99")):
        ax.plot(minutes, [r[key] for r in rows], label=f"initial answer {label}")
    ax.plot(minutes, [r["ping_p99_ms"] for r in rows], label="PING p99", linestyle=":")
    ax.set_xlabel("minutes")
    ax.set_ylabel("ms (as the local Discord measured)")
    ax.set_title("Initial answer latency per sample window")
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(out / "soak-latency.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    window = max(r["t_s"] for r in rows) / max(1, len(rows))
    buckets: dict[int, list[float]] = {}
    for t, ms in deliveries:
        buckets.setdefault(int(t // window), []).append(ms)
    keys = sorted(buckets)
    for q in (50, 95, 99):
        ax.plot(
            [(k + 1) * window / 60 for k in keys],
            [percentile(buckets[k], q) for k in keys],
            label=f"delivery p{q}",
        )
    ax.set_xlabel("minutes")
    ax.set_ylabel("ms, request sent → edit at Discord")
    ax.set_title("Deferred answers (charts, clicks): delivery latency")
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(out / "soak-delivery.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    for role in ("supervisors", "edges", "workers", "renderers"):
        width = max((len(r["rss_mib"].get(role, [])) for r in rows), default=0)
        for i in range(width):
            ax.plot(
                minutes,
                [
                    r["rss_mib"][role][i] if i < len(r["rss_mib"][role]) else float("nan")
                    for r in rows
                ],
                label=f"{role[:-1]} {i}",
            )
    ax.set_xlabel("minutes")
    ax.set_ylabel("RSS, MiB")
    ax.set_title("Memory per process")
    ax.legend(ncol=3, fontsize=8)
    ax.grid(alpha=0.3)
    paths.append(out / "soak-memory.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(minutes, [r["queue_depth"] for r in rows], label="queue depth (pending)")
    ax.bar(minutes, [r["errors"] for r in rows], width=0.1, color="red", label="errors")
    ax.set_xlabel("minutes")
    ax.set_title("Queue depth and errors per sample window")
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(out / "soak-queue-errors.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    plt.close(fig)
    return paths


def drift(rows: list[dict[str, Any]], deliveries: list[tuple[float, float]]) -> dict[str, Any]:
    """First quarter against last quarter (the first minute left out as warm-up)."""
    body = [r for r in rows if r["t_s"] >= 60] or rows
    quarter = max(1, len(body) // 4)
    first, last = body[:quarter], body[-quarter:]

    def mean(rs: list[dict[str, Any]], key: str) -> float:
        values = [r[key] for r in rs if r[key] == r[key]]
        return statistics.fmean(values) if values else float("nan")

    def rss(rs: list[dict[str, Any]], role: str) -> float:
        return statistics.fmean(sum(r["rss_mib"][role]) for r in rs)

    end = max(t for t, _ in deliveries) if deliveries else 0.0
    early = [ms for t, ms in deliveries if 60 <= t < 60 + (end - 60) / 4]
    late = [ms for t, ms in deliveries if t >= end - (end - 60) / 4]
    return {
        "ack_p95_ms": [mean(first, "ack_p95_ms"), mean(last, "ack_p95_ms")],
        "ack_p99_ms": [mean(first, "ack_p99_ms"), mean(last, "ack_p99_ms")],
        "delivery_p95_ms": [percentile(early, 95), percentile(late, 95)],
        "rss_mib": {
            role: [rss(first, role), rss(last, role)]
            for role in ("supervisors", "edges", "workers", "renderers")
        },
        "queue_depth_max": max(r["queue_depth"] for r in rows),
        "errors": sum(r["errors"] for r in rows),
        "sent": sum(r["sent"] for r in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=4.0)
    parser.add_argument("--every", type=float, default=15.0, help="sample interval, seconds")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "perf")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    work.chmod(0o755)
    redis, postgres, s3 = OwnRedis(work / "redis"), OwnPostgres(work / "pg"), MotoS3()
    postgres.init()
    postgres.start()
    redis.start()
    s3.start()
    emulator = Emulator()
    key_file = work / "keys" / "signing-key"  # its directory becomes 0700
    emulator.export_signing_key(key_file)
    key = SigningKey(bytes.fromhex(key_file.read_text().strip()))
    discord = CountingDiscord(emulator)
    world = emulator.world
    fleet: Fleet | None = None
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    try:
        with serve_in_thread(discord) as discord_url:
            emulator.public_base = discord_url
            seed(postgres.url)
            httpx.put(
                f"{emulator.api_base}/applications/{world.application_id}/commands",
                json=build_registry().commands_json(),
                headers={"Authorization": f"Bot {emulator.bot_token.reveal()}"},
                timeout=30,
            ).raise_for_status()
            port = free_port()
            (work / "logs").mkdir()
            env = os.environ | {
                "DISCORD_PUBLIC_KEY": emulator.public_key_hex,
                "DISCORD_APPLICATION_ID": world.application_id,
                "DISCORD_BOT_TOKEN": emulator.bot_token.reveal(),
                "DISCORD_API_BASE": emulator.api_base,
                "CATALYST_DATA_DIR": str(work / "data"),
                "CATALYST_REDIS_URL": redis.url,
                "CATALYST_QUEUE_URL": redis.url,
                "CATALYST_DATABASE_URL": postgres.url,
                "CATALYST_CHART_STORE_URL": f"s3://{s3.bucket}/soak",
                "CATALYST_S3_ENDPOINT_URL": s3.endpoint,
                "CATALYST_S3_ACCESS_KEY": "testing",
                "CATALYST_S3_SECRET_KEY": "testing",
                "CATALYST_STATE_SECRET": "soak-state-secret-of-enough-length-0123456789",
                "CATALYST_ADMIN_USER_IDS": str(world.personas["admin"].user["id"]),
                "CATALYST_COOLDOWNS": "chart=0,chart-buttons=0,compare-buttons=0",
                # The load generator is one member: the fair-use limits (docs/security.md) are
                # for people, not for a benchmark, so they are off here.
                "CATALYST_USER_RATE": "off",
                "CATALYST_JOBS_PER_USER": "0",
                "CATALYST_LOG_FORMAT": "text",
                "CATALYST_LOG_LEVEL": "warning",
            }
            fleet = Fleet(env, port, work / "logs")
            fleet.start()
            wait_until(lambda: ready(port), 90, "the edges to be ready")
            edge_url = f"http://127.0.0.1:{port}/interactions"
            emulator.store.application["interactions_endpoint_url"] = edge_url
            mix = Mix(discord_url, edge_url, key, world.application_id, emulator, args.rate)
            duration = args.minutes * 60
            load = threading.Thread(target=mix.run, args=(duration,), daemon=True)
            sampler = Sampler(mix, discord, fleet, redis.url)
            load.start()
            next_at = time.monotonic() + args.every
            while load.is_alive():
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at += args.every
                row = sampler.sample()
                print(json.dumps(row), flush=True)
            load.join()
            time.sleep(10)  # the last deferred answers
            sampler.sample()
            deliveries = sampler.deliveries()
            thinking = sum(
                1
                for s in mix.sent
                if s.kind != "ping"
                and s.result.get("response_type") == 5
                and (
                    emulator.store.messages.get(
                        emulator.store.interactions[str(s.result["interaction_id"])].original_id
                        or ""
                    )
                    or {"flags": LOADING}
                )["flags"]
                & LOADING
            )
    finally:
        if fleet is not None:
            fleet.stop()
        s3.stop()
        redis.stop()
        postgres.stop("immediate")
        shutil.rmtree(work, ignore_errors=True)
    summary = drift(sampler.rows, deliveries) | {
        "rate": args.rate,
        "minutes": args.minutes,
        "still_thinking": thinking,
        # A second, different final answer (or follow-up) for one token; a repeated identical
        # chart edit leaves the message as it was and is counted apart.
        "doubled": sum(1 for k in discord.final_kinds.values() if len(set(k)) > 1)
        + sum(1 for n in discord.followups.values() if n > 1),
        "repeated_identical_edits": sum(
            1 for k in discord.final_kinds.values() if len(k) > 1 and len(set(k)) == 1
        ),
        "load_before": load_before,
        "load_after": Path("/proc/loadavg").read_text().split()[:3],
    }
    (args.out / "soak.json").write_text(
        json.dumps({"summary": summary, "rows": sampler.rows}, indent=1)
    )
    for path in draw(sampler.rows, deliveries, args.out):
        print(f"wrote {path}")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
