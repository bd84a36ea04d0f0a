"""Composition root: builds the edge, queue, workers and their resources from Settings.

Nothing here runs at import time; ``build_runtime`` is called by the CLI (and by tests) with
explicit settings, so every resource can be swapped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from . import __version__
from .bot import build_registry
from .discord.verify import SignatureVerifier
from .edge.asgi import EdgeApp, Hook, ReadinessCheck
from .edge.endpoint import InteractionEndpoint, JobSink
from .edge.ops import OpsApp, OpsListener, Readiness
from .edge.replay import (
    MEASURED_PEAK_RATE,
    RedisReplayGuard,
    ReplayGuard,
    SharedReplayTable,
    capacity_for,
)
from .fileperms import private_dir
from .framework.context import AccessPolicy
from .framework.dispatch import Dispatcher
from .framework.registry import Registry
from .metrics import Metrics, PrometheusRestMetrics
from .preflight import ready_probes, require_installed
from .settings import ConfigError, Settings

log = logging.getLogger("catalyst_interactions.app")

REPLAY_TABLE = "replay.table"
"""The replay record's file in the data directory (every edge process maps it)."""


@dataclass(slots=True)
class Runtime:
    """What one process runs: the ASGI app plus handles tests and the CLI may need."""

    app: EdgeApp
    settings: Settings
    registry: Registry
    dispatcher: Dispatcher
    metrics: Metrics
    extras: dict[str, Any] = field(default_factory=dict)


def access_policy(settings: Settings) -> AccessPolicy:
    return AccessPolicy(settings.admin_user_ids, settings.admin_role_ids, settings.admin_guild_ids)


def check_admin_scope(settings: Settings, registry: Registry) -> None:
    """Refuse to serve admin commands that nobody could use safely (one clear line)."""
    if registry.home_only_commands():
        problem = settings.admin_scope_problem()
        if problem is not None:
            raise ConfigError(problem)


def _replay_guard(settings: Settings) -> ReplayGuard:
    """The record of interactions already run or queued: Redis when configured (every
    replica on every host), else a table in the data directory shared by every edge process
    on this host (``serve --processes N``). Entries live until their request timestamp plus
    the window."""
    if settings.redis_url:
        from redis.asyncio import Redis

        return RedisReplayGuard(Redis.from_url(settings.redis_url))
    lifetime = settings.timestamp_window_s + settings.timestamp_future_skew_s
    edges = max(1, settings.edge_processes)
    return SharedReplayTable(
        settings.data_dir / REPLAY_TABLE,
        capacity_for(lifetime, MEASURED_PEAK_RATE * edges),  # sized for the host's edges
        shared=edges > 1,
        lifetime_s=lifetime,
    )


def build_edge(
    settings: Settings,
    *,
    registry: Registry | None = None,
    state: Any = None,
    jobs: JobSink | None = None,
    readiness: dict[str, ReadinessCheck] | None = None,
    on_startup: list[Hook] | None = None,
    on_shutdown: list[Hook] | None = None,
    metrics: Metrics | None = None,
    metrics_address: tuple[str, int] | None = None,
) -> Runtime:
    """The edge alone; raises ConfigError when the public key is missing or bad. With
    ``metrics_address`` (host, port), ``/metrics`` and ``/ready`` move off the public port to
    a listener of their own there."""
    verifier = SignatureVerifier(
        settings.public_key(),
        window_s=settings.timestamp_window_s,
        future_skew_s=settings.timestamp_future_skew_s,
    )
    registry = registry or build_registry()
    metrics = metrics or Metrics()
    access = access_policy(settings)
    dispatcher = Dispatcher(
        registry, state=state, access=access, auto_budget_s=settings.auto_budget_s
    )
    recorder = None
    if settings.record_path is not None:
        from .ops.recorder import InteractionRecorder

        recorder = InteractionRecorder(settings.record_path)
        on_shutdown = [*(on_shutdown or []), recorder.aclose]
    replay = _replay_guard(settings)
    endpoint = InteractionEndpoint(
        verifier=verifier,
        dispatcher=dispatcher,
        replay=replay,
        metrics=metrics,
        jobs=jobs,
        recorder=recorder,
    )
    routes = {}
    if settings.handover_secret is not None and jobs is not None:
        from .edge.handover import HandoverEndpoint, handover_route
        from .settings import MIN_HANDOVER_SECRET_CHARS

        if len(settings.handover_secret.reveal()) < MIN_HANDOVER_SECRET_CHARS:
            # Also for Settings built in code: a short shared secret can be guessed offline.
            raise ConfigError(
                f"CATALYST_HANDOVER_SECRET must be at least {MIN_HANDOVER_SECRET_CHARS} "
                "characters; make one with: openssl rand -hex 32"
            )
        handover = HandoverEndpoint(
            secret=settings.handover_secret.reveal().encode(),
            verifier=verifier,
            dispatcher=dispatcher,
            jobs=jobs,
            metrics=metrics,
            replay=replay,
        )
        routes[("POST", "/handover")] = handover_route(handover, settings.max_body_bytes)
    ready = Readiness(readiness or {})
    app = EdgeApp(
        endpoint,
        extra_routes=routes,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        readiness=ready,
        ops_routes=metrics_address is None,
        on_startup=on_startup or [],
        on_shutdown=on_shutdown or [],
        info={
            "version": __version__,
            "application id": settings.application_id or "not set",
            "commands": str(sum(1 for _ in registry.commands())),
        },
    )
    app.shutdown_hooks.append(replay.aclose)
    runtime = Runtime(app, settings, registry, dispatcher, metrics)
    if metrics_address is not None:
        listener = OpsListener(OpsApp(metrics, ready), *metrics_address)
        # Up first and down last: /ready keeps answering (503) while the rest stops.
        app.startup_hooks.insert(0, listener.start)
        app.shutdown_hooks.insert(0, listener.stop)
        runtime.extras["metrics_listener"] = listener
    return runtime


def warm_up(services: Any) -> Hook:
    """Open and migrate the database in the background: /health answers at once, /ready
    once the database is usable, and the first command does not pay for it."""
    import asyncio

    async def start() -> None:
        async def warm() -> None:
            try:
                await services.store.get()
            except Exception:  # /ready reports it; handlers retry on use
                log.exception("database warm-up failed")

        # Kept on the services object so the task is not garbage-collected mid-flight.
        services.extras["warm_up"] = asyncio.get_running_loop().create_task(warm())

    return start


def build_runtime(
    settings: Settings,
    *,
    workers: bool = True,
    registry: Registry | None = None,
    state: Any = None,
    rest_transport: Any = None,
    metrics_address: tuple[str, int] | None = None,
) -> Runtime:
    """Edge + durable queue + (optionally) in-process workers delivering through Discord REST."""
    from .jobs import open_queue
    from .jobs.sink import QueueJobSink

    if workers and not settings.application_id:
        raise ConfigError(
            "DISCORD_APPLICATION_ID is not set: workers need it to edit messages "
            "(Developer Portal, General Information)"
        )
    require_installed(settings, workers=workers)
    real_bot = registry is None and state is None
    registry = registry or build_registry()
    check_admin_scope(settings, registry)  # before anything is opened
    private_dir(settings.data_dir)
    queue = open_queue(
        settings.queue_url or "", data_dir=settings.data_dir, max_per_owner=settings.jobs_per_user
    )
    metrics = Metrics()
    shutdown: list[Hook] = [queue.close]
    services = None
    if real_bot:
        # The Catalyst bot itself (tests pass their own registry and state).
        from .bot.services import build_services

        services = state = build_services(settings)
        shutdown.append(services.close)
    # The same probes as `catalyst-interactions check`, for what this process depends on.
    readiness: dict[str, ReadinessCheck] = dict(
        ready_probes(
            settings,
            queue=queue,
            store=services.store if services is not None else None,
            charts=workers and services is not None,
        )
    )
    runtime = build_edge(
        settings,
        registry=registry,
        state=state,
        jobs=QueueJobSink(queue),
        readiness=readiness,
        on_shutdown=shutdown,
        metrics=metrics,
        metrics_address=metrics_address,
    )
    runtime.extras["queue"] = queue
    if services is not None:
        runtime.extras["services"] = services
        if workers:
            # With in-process workers the process is the whole backend: open the database
            # now. An edge alone opens it on first use and stays small and quick to start.
            runtime.app.startup_hooks.append(warm_up(services))
    if workers:
        backend = build_backend(settings, queue, runtime.dispatcher, metrics, rest_transport)
        runtime.app.startup_hooks.extend(backend.startup)
        runtime.app.shutdown_hooks.extend(backend.shutdown)
        runtime.extras |= {"worker": backend.worker, "rest": backend.rest}
    return runtime


@dataclass(slots=True)
class Backend:
    """Workers delivering through Discord REST, with what starts and stops them."""

    worker: Any
    rest: Any
    startup: list[Hook]
    shutdown: list[Hook]
    """Run in reverse order, like every shutdown hook: the worker stops first."""
    metrics: Metrics | None = None
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    """What ``/ready`` of a worker process checks (on its ``--metrics-port``)."""


def build_backend(
    settings: Settings,
    queue: Any,
    dispatcher: Dispatcher,
    metrics: Metrics,
    rest_transport: Any = None,
) -> Backend:
    # The REST client (aiohttp) and the worker are imported only where they run.
    from .discord.rest import DiscordRest
    from .jobs.delivery import Deliverer
    from .jobs.ledger import DeliveryLedger, RedisLedger, SqliteLedger
    from .jobs.worker import RetryPolicy, Worker

    ratelimits = None
    ledger: DeliveryLedger
    if settings.redis_url:
        from .discord.rest.redis_ratelimit import RedisRateLimitStore

        ratelimits = RedisRateLimitStore.from_url(settings.redis_url, prefix="catalyst:ratelimit")
        ledger = RedisLedger(settings.redis_url)
    else:
        ledger = SqliteLedger(settings.data_dir / "ledger.db")
    rest = DiscordRest(
        base_url=settings.api_base,
        application_id=settings.application_id or "0",
        bot_token=settings.bot_token,
        transport=rest_transport,
        ratelimits=ratelimits,
        metrics=PrometheusRestMetrics(metrics),
    )
    policy = RetryPolicy(max_attempts=settings.job_max_attempts, base_s=settings.job_retry_base_s)
    worker = Worker(
        queue,
        dispatcher,
        Deliverer(rest, ledger),
        metrics=metrics,
        concurrency=settings.worker_concurrency,
        lease_s=settings.job_lease_s,
        policy=policy,
    )

    async def start_worker() -> None:
        worker.start()

    return Backend(worker, rest, [start_worker], [ledger.close, rest.aclose, worker.stop], metrics)


def build_worker_process(settings: Settings) -> Backend:
    """Workers alone (``catalyst-interactions worker``): no HTTP endpoint, so no public key
    is needed; the queue, database and REST client are the same as under ``serve``."""
    from .bot.services import build_services
    from .jobs import open_queue

    if not settings.application_id:
        raise ConfigError(
            "DISCORD_APPLICATION_ID is not set: workers need it to edit messages "
            "(Developer Portal, General Information)"
        )
    require_installed(settings, workers=True)
    private_dir(settings.data_dir)
    queue = open_queue(settings.queue_url or "", data_dir=settings.data_dir)
    services = build_services(settings)
    dispatcher = Dispatcher(
        build_registry(),
        state=services,
        access=access_policy(settings),
    )
    backend = build_backend(settings, queue, dispatcher, Metrics())
    backend.startup.insert(0, warm_up(services))
    backend.shutdown[:0] = [queue.close, services.close]
    backend.readiness = dict(ready_probes(settings, queue=queue, store=services.store, charts=True))
    return backend
