"""The server under test in the deferred benchmark: edge + durable queue + in-process worker.

Built by ``build_runtime`` with a one-command registry and served by uvicorn exactly as
``catalyst_interactions.runner.run_server`` does (uvloop, httptools, heap frozen after
start). The command ``/defer`` is deferred: the edge answers type 5 once the job is durably
enqueued, and the worker runs a handler that only notes when it started and returns
``Message(content="done <interaction id>")``, which the worker PATCHes to ``DISCORD_API_BASE``.

Measurement stays off the acknowledgement path: the handler appends to a list, and a
wrapper around the queue's ``claim`` (the worker's side) notes each job's ``enqueued_at``.
Both are written to ``--records`` as JSON when the server shuts down (SIGTERM):
``{"starts": {id: t}, "claims": {id: [enqueued_at, claimed_at]}}``, wall-clock seconds.

Configuration comes from the environment like ``serve``: ``DISCORD_PUBLIC_KEY``,
``DISCORD_APPLICATION_ID``, ``DISCORD_API_BASE``, ``CATALYST_DATA_DIR``,
``CATALYST_QUEUE_URL``, ``CATALYST_WORKER_CONCURRENCY``, ``CATALYST_LOG_LEVEL``.

    taskset -c 0 python bench/_deferred_server.py --port P --records /tmp/records.json

``--no-workers`` serves the edge and the queue alone (``serve --no-workers``): jobs are
enqueued and acknowledged but never run, which isolates the acknowledgement path.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import uvicorn

from catalyst_interactions.app import Runtime, build_runtime
from catalyst_interactions.discord.messages import Message
from catalyst_interactions.framework.context import CommandContext
from catalyst_interactions.framework.modes import Mode
from catalyst_interactions.framework.registry import Registry
from catalyst_interactions.jobs import ClaimedJob
from catalyst_interactions.logs import configure_logging
from catalyst_interactions.settings import ConfigError, Settings

COMMAND = "defer"
GRACEFUL_SHUTDOWN_S = 10


class Records:
    """What the worker side saw, kept in memory until shutdown."""

    def __init__(self) -> None:
        self.starts: list[tuple[str, float]] = []
        self.claims: list[tuple[str, float, float]] = []

    def dump(self, path: Path) -> None:
        data = {
            "starts": {job_id: at for job_id, at in self.starts},
            "claims": {job_id: [enq, at] for job_id, enq, at in self.claims},
        }
        tmp = path.with_suffix(".part")
        tmp.write_bytes(msgspec.json.encode(data))
        tmp.replace(path)  # the reader never sees half a file


def build_registry(records: Records) -> Registry:
    registry = Registry()

    @registry.command(
        COMMAND, "Benchmark: a deferred command that returns at once", mode=Mode.DEFERRED
    )
    async def defer(ctx: CommandContext) -> Message:
        interaction_id = ctx.interaction.id
        records.starts.append((interaction_id, time.time()))
        return Message(content=f"done {interaction_id}")

    return registry


def record_claims(runtime: Runtime, records: Records) -> None:
    """Note ``(id, enqueued_at, claimed at)`` for every claim the in-process worker makes.

    The queue does not tell the handler when its job was enqueued, and the worker holds
    the very queue object in ``runtime.queue``: wrapping its ``claim_many`` on the instance
    measures on the worker's side only, never on the edge's enqueue path.
    """
    queue: Any = runtime.queue
    claim_many = queue.claim_many

    # The worker claims in batches (every free slot in one round trip): note each job of it.
    async def claim_and_note(
        consumer: str, lease_s: float, timeout_s: float, limit: int
    ) -> list[ClaimedJob]:
        claimed: list[ClaimedJob] = await claim_many(consumer, lease_s, timeout_s, limit)
        now = time.time()
        records.claims.extend((c.job.id, c.job.enqueued_at, now) for c in claimed)
        return claimed

    queue.claim_many = claim_and_note


def build(settings: Settings, records: Records, records_path: Path, *, workers: bool) -> Runtime:
    runtime = build_runtime(settings, workers=workers, registry=build_registry(records))
    record_claims(runtime, records)

    async def freeze_heap() -> None:
        # As runner.run_server: objects built at start leave the GC's young generations.
        gc.collect()
        gc.freeze()

    async def dump() -> None:
        records.dump(records_path)

    runtime.app.startup_hooks.append(freeze_heap)
    # Shutdown hooks run in reverse: inserted first, this one runs after the worker stopped.
    runtime.app.shutdown_hooks.insert(0, dump)
    return runtime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--records", type=Path, required=True, help="JSON written at shutdown")
    parser.add_argument(
        "--no-workers", dest="workers", action="store_false", help="edge + queue only"
    )
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(env_file=None)
        secrets = [s.reveal() for s in (settings.bot_token, settings.state_secret) if s]
        configure_logging(settings.log_level, settings.log_format, secrets)
        runtime = build(settings, Records(), args.records, workers=args.workers)
    except ConfigError as exc:
        print(f"_deferred_server: {exc}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        runtime.app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
