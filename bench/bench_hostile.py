"""Fuzz the real server with 100,000+ hostile requests; count what must never happen.

    .venv/bin/python bench/bench_hostile.py --cases 100000     # ~6 min on 2 shared cores

``catalyst-interactions serve`` (edge and workers in their own processes, SQLite, demo
market data, the hand-over route) runs against a fake Discord on loopback. Client threads
send the seeded cases of bench/_hostile.py (mutations of a real signed interaction for every
command, autocompleted option, component and modal; deep nesting; invalid UTF-8; huge
strings and numbers; odd headers, methods, paths and chunked bodies) and check each answer.
Every message the workers send to the fake Discord is checked against Discord's limits too.

Reported, each with the goal of zero: 5xx answers, replies over Discord's limits (inline
and delivered), other bad answers (no answer, long or traceback-bearing errors), answers
slower than ``--slow-ms``; and the RSS growth of the server and its children from the end
of the warm-up (the first 10 % of the cases) to the end. Exit status 1 when any is non-zero.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path

import nacl.signing

from _hostile import Mutator, RawClient, Tally, check, seeds
from _rss import MIB, Sampler, breakdown, load_average
from _servers import HOST, ServerSpec, ours_executable, running
from catalyst_interactions.bot import build_registry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fakes.fake_discord import FakeDiscord
from support.discord_rules import channel_message_problems, webhook_message_problems

HANDOVER_SECRET = "bench-hand-over-secret-0123456789abcdef"
BOT_TOKEN = "bench-bot-token"


def server_spec(public_key: str, fake: FakeDiscord, processes: int = 1) -> ServerSpec:
    executable = ours_executable() or "catalyst-interactions"
    return ServerSpec(
        "ours",
        (executable, "serve", "--host", HOST, "--port", "{port}", "--processes", str(processes)),
        {
            "DISCORD_PUBLIC_KEY": public_key,
            "DISCORD_APPLICATION_ID": fake.application_id,
            "DISCORD_API_BASE": fake.base_url,
            "DISCORD_BOT_TOKEN": BOT_TOKEN,
            "CATALYST_MARKET_PROVIDER": "demo",
            "CATALYST_ADMIN_USER_IDS": "4242",
            "CATALYST_HANDOVER_SECRET": HANDOVER_SECRET,
            "CATALYST_LOG_LEVEL": "warning",
            "CATALYST_DATABASE_URL": "",
            "CATALYST_QUEUE_URL": "",
            "CATALYST_REDIS_URL": "",
        },
        needs_data_dir=True,
    )


def run_clients(port: int, mutators: list[Mutator], cases: int, slow_s: float) -> Tally:
    """``cases`` cases split over one thread per mutator; their tallies merged."""
    tallies = [Tally() for _ in mutators]
    share = cases // len(mutators)

    def work(i: int) -> None:
        client = RawClient(HOST, port)
        try:
            for _ in range(share):
                case = mutators[i].case()
                check(case, client.send(case), tallies[i], slow_s=slow_s)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(mutators))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total


def delivered_problems(fake: FakeDiscord) -> tuple[int, list[str]]:
    problems = []
    checked = 0
    for request in fake.requests:
        if request.method not in ("POST", "PATCH") or not request.body:
            continue
        if request.path.startswith("/applications"):
            continue
        parts = {p.name: p for p in request.parts}
        body = json.loads(parts["payload_json"].data) if parts else request.json
        checked += 1
        found = (
            channel_message_problems(body)
            if request.path.startswith("/channels/")
            else webhook_message_problems(body, edit=request.method == "PATCH")
        )
        if found:
            problems.append(f"{request.method} {request.route}: {found[:3]}")
    return checked, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--slow-ms", type=float, default=1000.0)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="edge processes (2+: the replay record and the throttle in the host's shared tables)",
    )
    args = parser.parse_args()

    key = nacl.signing.SigningKey(bytes([args.seed % 256]) * 32)
    public_key = key.verify_key.encode().hex()
    slow_s = args.slow_ms / 1000
    print(f"load average before: {load_average()}")
    with (
        FakeDiscord(bot_token=BOT_TOKEN) as fake,
        running(server_spec(public_key, fake, args.processes), core=None, startup_timeout_s=60) as (
            server,
            _,
        ),
    ):
        corpus = seeds(
            build_registry(),
            application_id=fake.application_id,
            user_id="4242",
            admin=True,
            report_id="nightly-1",
        )
        mutators = [
            Mutator(
                corpus,
                key,
                random.Random(args.seed * 1000 + i),
                handover_secret=HANDOVER_SECRET.encode(),
            )
            for i in range(args.threads)
        ]
        warm_up = max(args.cases // 10, len(mutators))
        started = time.monotonic()
        with Sampler(server.process.pid, interval_s=1.0) as sampler:
            tally = run_clients(server.port, mutators, warm_up, slow_s)
            rss_warm = sampler.sample()
            parts_warm = {pid: rss for pid, rss, _ in breakdown(server.process.pid)}
            tally.merge(run_clients(server.port, mutators, args.cases - warm_up, slow_s))
            elapsed = time.monotonic() - started
            # Let the workers finish what the cases queued, then measure once more.
            quiet_until = time.monotonic() + 120
            seen = -1
            while time.monotonic() < quiet_until and len(fake.requests) != seen:
                seen = len(fake.requests)
                time.sleep(3.0)
            rss_end = sampler.sample()
            parts = [
                f"  pid {pid}: {parts_warm.get(pid, 0) / MIB:6.1f} -> {rss / MIB:6.1f} MiB  {cmd}"
                for pid, rss, cmd in breakdown(server.process.pid)
            ]
            peak = max(rss for _, rss, _ in sampler.samples)
        checked, delivered = delivered_problems(fake)
        log = server.log_tail(10**9)

    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.by_status.items()))
    growth = (rss_end - rss_warm) / MIB
    print(
        f"cases: {tally.cases} in {elapsed:.0f} s ({tally.cases / elapsed:.0f}/s), seed {args.seed}"
    )
    print(f"answers by status: {statuses}")
    print(f"5xx answers: {len(tally.server_errors)}")
    print(
        f"replies over Discord's limits: {len(tally.over_limit)} inline, "
        f"{len(delivered)} of {checked} delivered messages"
    )
    print(f"other bad answers: {len(tally.bad_errors)}")
    print(
        f"answers slower than {args.slow_ms:.0f} ms: {len(tally.slow)} "
        f"(slowest {tally.slowest_s * 1000:.0f} ms)"
    )
    print(
        f"RSS, server and children: {rss_warm / MIB:.1f} MiB after warm-up, "
        f"{rss_end / MIB:.1f} MiB at the end ({growth:+.1f} MiB), peak {peak / MIB:.1f} MiB"
    )
    print("\n".join(parts))
    print(
        f"connections closed while an oversized or non-HTTP request was sent: {tally.closed_early}"
    )
    print(f"load average after: {load_average()}")
    problems = tally.problems() + delivered
    for line in problems[:20]:
        print("  problem:", line[:400])
    tracebacks = log.count("Traceback")
    print(f"tracebacks in the server log: {tracebacks}")
    if tracebacks:
        print(log[log.index("Traceback") - 300 :][:3000])
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
