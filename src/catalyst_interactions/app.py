"""Composition root: builds the edge, queue, workers and their resources from Settings.

Every resource of a process is built here, once: :func:`build_resources` makes the bot's
:class:`~.bot.resources.Resources` (one Redis client, the store, market data, the chart
service, the LLM client, the REST client) after the settings and the packages they need
were checked, and closes them in the reverse order on shutdown. Handlers receive them typed
as ``ctx.resources``. Nothing here runs at import time; ``build_runtime`` is called by the
CLI (and by tests) with explicit settings, so every resource can be swapped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import __version__
from .bot import build_registry
from .bot.resources import (
    Closing,
    Lazy,
    LazyMarket,
    LazyStore,
    Resources,
    StoreStateBackend,
    check_market_settings,
    state_secret,
)
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
from .framework.component_state import ComponentStateStore
from .framework.context import AccessPolicy
from .framework.cooldowns import Cooldowns
from .framework.dispatch import Dispatcher
from .framework.registry import Registry
from .metrics import Metrics, PrometheusRestMetrics
from .preflight import ready_probes, require_installed
from .settings import ConfigError, Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .bot.charting import ChartService
    from .discord.rest import DiscordRest
    from .discord.rest.transport import Transport
    from .framework.component_state import StateBackend
    from .framework.throttle import ThrottleStore
    from .jobs.queue import JobQueue
    from .jobs.worker import Worker
    from .llm import ChatClient

log = logging.getLogger("catalyst_interactions.app")

REPLAY_TABLE = "replay.table"
"""The replay record's file in the data directory (every edge process maps it)."""
THROTTLE_TABLE = "throttle.table"
"""Cooldowns and rates of several edge processes without Redis (each maps it)."""


@dataclass(slots=True)
class Runtime:
    """What one process runs: the ASGI app plus handles tests and the CLI may need."""

    app: EdgeApp
    settings: Settings
    registry: Registry[Resources]
    dispatcher: Dispatcher[Resources]
    metrics: Metrics
    resources: Resources | None = None
    """The handlers' resources (every edge is built with them)."""
    queue: JobQueue | None = None
    worker: Worker | None = None
    """The in-process workers (``build_runtime(workers=True)``)."""
    metrics_listener: OpsListener | None = None


def open_redis(settings: Settings) -> Redis | None:
    """The process's one client for ``CATALYST_REDIS_URL`` (connects on first use)."""
    if not settings.redis_url:
        return None
    from redis.asyncio import Redis

    return Redis.from_url(settings.redis_url)


def build_resources(
    settings: Settings,
    *,
    workers: bool,
    metrics: Metrics | None = None,
    rest_transport: Transport | None = None,
) -> Resources:
    """Every resource the handlers use, built once for this process.

    Misconfiguration is a one-line ConfigError here, before anything is opened: the market
    provider's key, the chart store's URL, the LLM's URL and model. Nothing connects yet:
    the database, market data and the chart service open on first use (or the warm-up), so
    the edge's start-up imports none of SQLAlchemy, numpy or matplotlib. ``workers``: this
    process delivers answers, so it gets the REST client.
    """
    from .bot.charting import check_chart_store

    # Every check before the first resource is built: a refusal leaves nothing to close.
    check_market_settings(settings)
    check_chart_store(settings)
    check_llm_settings(settings)
    closing = Closing()
    redis = open_redis(settings)
    if redis is not None:
        closing.push("redis", redis.aclose)
    store = LazyStore(settings.database_url, settings.data_dir)
    closing.push("database", store.close)
    market = LazyMarket(settings)
    closing.push("market data", market.aclose)
    charts = Lazy(_open_chart_service(settings), _close_chart_service)
    closing.push("chart service", charts.aclose)
    llm = None
    if settings.llm_base_url and settings.llm_model:
        llm = Lazy(_open_llm(settings))  # opens a connection per call: nothing to close
    components = ComponentStateStore(_state_backend(redis, store), state_secret(settings))
    cooldowns = Cooldowns(
        dict(settings.cooldowns), rate=settings.user_rate, store=_throttle_store(settings, redis)
    )
    closing.push("cooldowns", cooldowns.close)
    rest = None
    if workers:
        rest = _open_rest(settings, redis, metrics or Metrics(), rest_transport)
        closing.push("Discord REST client", rest.aclose)
    return Resources(
        settings=settings,
        redis=redis,
        store=store,
        market=market,
        charts=charts,
        llm=llm,
        components=components,
        cooldowns=cooldowns,
        rest=rest,
        closing=closing,
    )


def check_llm_settings(settings: Settings) -> None:
    """The LLM's URL and model, checked at start (the client itself is made on first use)."""
    if not settings.llm_base_url:
        return
    if not settings.llm_base_url.startswith(("http://", "https://")):
        raise ConfigError("CATALYST_LLM_BASE_URL must be an http(s) URL")
    if settings.llm_model is not None and not settings.llm_model.strip():
        raise ConfigError("CATALYST_LLM_MODEL is empty: name the model")


def _open_chart_service(settings: Settings) -> Callable[[], ChartService]:
    def open_service() -> ChartService:
        from .bot.charting import open_chart_service

        return open_chart_service(settings)

    return open_service


async def _close_chart_service(service: ChartService) -> None:
    await service.aclose()


def _open_llm(settings: Settings) -> Callable[[], ChatClient]:
    def open_client() -> ChatClient:
        from .llm import ChatClient  # httpx: only where research runs

        client = ChatClient.from_settings(settings)
        if client is None:  # pragma: no cover - build_resources checked both settings
            raise ConfigError("the LLM needs CATALYST_LLM_BASE_URL and CATALYST_LLM_MODEL")
        return client

    return open_client


def _state_backend(redis: Redis | None, store: LazyStore) -> StateBackend:
    """Component state: in Redis when configured (every host), else in the database."""
    if redis is not None:
        from .framework.component_state import RedisStateBackend

        return RedisStateBackend(redis)
    return StoreStateBackend(store)


def _throttle_store(settings: Settings, redis: Redis | None) -> ThrottleStore:
    """Redis when configured (every edge everywhere); else a table in a memory-mapped file
    when several edge processes of this host serve (``serve --processes N``); else this
    process's memory."""
    from .framework.throttle import MemoryThrottleStore, RedisThrottleStore, SharedThrottleStore

    if redis is not None:
        return RedisThrottleStore(redis)
    if settings.edge_processes > 1:
        return SharedThrottleStore(settings.data_dir / THROTTLE_TABLE)
    return MemoryThrottleStore()


def _open_rest(
    settings: Settings, redis: Redis | None, metrics: Metrics, transport: Transport | None
) -> DiscordRest:
    # The REST client (aiohttp) is imported only where workers run.
    from .discord.rest import DiscordRest

    ratelimits = None
    if redis is not None:
        from .discord.rest.redis_ratelimit import RedisRateLimitStore

        ratelimits = RedisRateLimitStore(redis, prefix="catalyst:ratelimit")
    return DiscordRest(
        base_url=settings.api_base,
        application_id=settings.application_id or "0",
        bot_token=settings.bot_token,
        transport=transport,
        ratelimits=ratelimits,
        metrics=PrometheusRestMetrics(metrics),
    )


def access_policy(settings: Settings) -> AccessPolicy:
    return AccessPolicy(settings.admin_user_ids, settings.admin_role_ids, settings.admin_guild_ids)


def check_admin_scope(settings: Settings, registry: Registry[Resources]) -> None:
    """Refuse to serve admin commands that nobody could use safely (one clear line)."""
    if registry.home_only_commands():
        problem = settings.admin_scope_problem()
        if problem is not None:
            raise ConfigError(problem)


def _replay_guard(settings: Settings, redis: Redis | None = None) -> ReplayGuard:
    """The record of interactions already run or queued: Redis when configured (every
    replica on every host), else a table in the data directory shared by every edge process
    on this host (``serve --processes N``). Entries live until their request timestamp plus
    the window. ``redis``: the process's client (an edge built alone opens its own)."""
    if settings.redis_url:
        if redis is not None:
            return RedisReplayGuard(redis)
        from redis.asyncio import Redis

        return RedisReplayGuard(Redis.from_url(settings.redis_url), owns_client=True)
    lifetime = settings.timestamp_window_s + settings.timestamp_future_skew_s
    edges = max(1, settings.edge_processes)
    return SharedReplayTable(
        settings.data_dir / REPLAY_TABLE,
        capacity_for(lifetime, MEASURED_PEAK_RATE * edges),  # sized for the host's edges
        shared=edges > 1,
        lifetime_s=lifetime,
    )


def validated(registry: Registry[Resources] | None) -> Registry[Resources]:
    """The registry a caller passes in, refused at start like the bot's own when its handlers
    cannot all work (:meth:`Registry.validate`); None: the Catalyst bot's, validated as built."""
    if registry is None:
        return build_registry()
    registry.validate()
    return registry


def build_edge(
    settings: Settings,
    *,
    resources: Resources,
    registry: Registry[Resources] | None = None,
    jobs: JobSink | None = None,
    readiness: dict[str, ReadinessCheck] | None = None,
    on_startup: list[Hook] | None = None,
    on_shutdown: list[Hook] | None = None,
    metrics: Metrics | None = None,
    metrics_address: tuple[str, int] | None = None,
) -> Runtime:
    """The edge alone; raises ConfigError when the public key is missing or bad. With
    ``metrics_address`` (host, port), ``/metrics`` and ``/ready`` move off the public port to
    a listener of their own there. ``resources`` reach the handlers (:func:`build_resources`;
    nothing in them connects before a handler uses it)."""
    verifier = SignatureVerifier(
        settings.public_key(),
        window_s=settings.timestamp_window_s,
        future_skew_s=settings.timestamp_future_skew_s,
    )
    registry = validated(registry)
    metrics = metrics or Metrics()
    access = access_policy(settings)
    dispatcher: Dispatcher[Resources] = Dispatcher(
        registry,
        resources=resources,
        access=access,
        auto_budget_s=settings.auto_budget_s,
    )
    recorder = None
    if settings.record_path is not None:
        from .ops.recorder import InteractionRecorder

        recorder = InteractionRecorder(settings.record_path)
        on_shutdown = [*(on_shutdown or []), recorder.aclose]
    replay = _replay_guard(settings, resources.redis)
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
    runtime = Runtime(app, settings, registry, dispatcher, metrics, resources=resources)
    if metrics_address is not None:
        listener = OpsListener(OpsApp(metrics, ready), *metrics_address)
        # Up first and down last: /ready keeps answering (503) while the rest stops.
        app.startup_hooks.insert(0, listener.start)
        app.shutdown_hooks.insert(0, listener.stop)
        runtime.metrics_listener = listener
    return runtime


def open_process_queue(
    settings: Settings, resources: Resources, *, max_per_owner: int = 0
) -> JobQueue:
    """The durable queue, closed with the resources. On the same Redis as
    ``CATALYST_REDIS_URL`` it uses the process's one client; a queue on a Redis of its own
    (docs/scaling.md) needs a connection there."""
    from .jobs import open_queue

    shared = None
    if resources.redis is not None and settings.redis_url:
        shared = (settings.redis_url, resources.redis)
    queue = open_queue(
        settings.queue_url or "",
        data_dir=settings.data_dir,
        max_per_owner=max_per_owner,
        shared=shared,
    )
    resources.closing.push("queue", queue.close)
    return queue


def warm_up(resources: Resources) -> Hook:
    """Open and migrate the database in the background once the process has started:
    /health answers at once, /ready once the database is usable, and the first command does
    not pay for it."""

    async def start() -> None:
        resources.store.start_warm_up()

    return start


def build_runtime(
    settings: Settings,
    *,
    workers: bool = True,
    registry: Registry[Resources] | None = None,
    rest_transport: Transport | None = None,
    metrics_address: tuple[str, int] | None = None,
) -> Runtime:
    """Edge + durable queue + (optionally) in-process workers delivering through Discord REST.

    ``registry``: the Catalyst bot's commands unless given (tests pass their own; their
    handlers get the same resources)."""
    from .jobs.sink import QueueJobSink

    if workers and not settings.application_id:
        raise ConfigError(
            "DISCORD_APPLICATION_ID is not set: workers need it to edit messages "
            "(Developer Portal, General Information)"
        )
    settings.public_key()  # the edge's key: refused before any resource is built
    require_installed(settings, workers=workers)
    real_bot = registry is None
    registry = validated(registry)
    check_admin_scope(settings, registry)  # before anything is opened
    private_dir(settings.data_dir)
    metrics = Metrics()
    resources = build_resources(
        settings, workers=workers, metrics=metrics, rest_transport=rest_transport
    )
    queue = open_process_queue(settings, resources, max_per_owner=settings.jobs_per_user)
    # The same probes as `catalyst-interactions check`, for what this process depends on.
    readiness: dict[str, ReadinessCheck] = dict(
        ready_probes(
            settings,
            queue=queue,
            store=resources.store if real_bot else None,
            charts=workers and real_bot,
            redis=resources.redis,
        )
    )
    runtime = build_edge(
        settings,
        registry=registry,
        resources=resources,
        jobs=QueueJobSink(queue),
        readiness=readiness,
        on_shutdown=[resources.aclose],
        metrics=metrics,
        metrics_address=metrics_address,
    )
    runtime.queue = queue
    if real_bot and workers:
        # With in-process workers the process is the whole backend: open the database
        # now. An edge alone opens it on first use and stays small and quick to start.
        runtime.app.startup_hooks.append(warm_up(resources))
    if workers:
        backend = build_backend(settings, queue, runtime.dispatcher, metrics, resources)
        runtime.app.startup_hooks.extend(backend.startup)
        runtime.app.shutdown_hooks.extend(backend.shutdown)
        runtime.worker = backend.worker
    return runtime


@dataclass(slots=True)
class Backend:
    """Workers delivering through Discord REST, with what starts and stops them."""

    worker: Worker
    startup: list[Hook]
    shutdown: list[Hook]
    """Run in reverse order, like every shutdown hook: the worker stops first."""
    metrics: Metrics | None = None
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    """What ``/ready`` of a worker process checks (on its ``--metrics-port``)."""


def build_backend(
    settings: Settings,
    queue: JobQueue,
    dispatcher: Dispatcher[Resources],
    metrics: Metrics,
    resources: Resources,
) -> Backend:
    """Workers running the deferred handlers and delivering with ``resources.rest``."""
    from .jobs.delivery import Deliverer
    from .jobs.ledger import DeliveryLedger, RedisLedger, SqliteLedger
    from .jobs.worker import RetryPolicy, Worker

    if resources.rest is None:
        raise ValueError("workers need resources built with workers=True (the REST client)")
    ledger: DeliveryLedger
    if resources.redis is not None:
        ledger = RedisLedger(resources.redis)
    else:
        ledger = SqliteLedger(settings.data_dir / "ledger.db")
    resources.closing.push("delivery ledger", ledger.close)
    policy = RetryPolicy(max_attempts=settings.job_max_attempts, base_s=settings.job_retry_base_s)
    worker = Worker(
        queue,
        dispatcher,
        Deliverer(resources.rest, ledger),
        metrics=metrics,
        concurrency=settings.worker_concurrency,
        lease_s=settings.job_lease_s,
        policy=policy,
    )

    async def start_worker() -> None:
        worker.start()

    return Backend(worker, [start_worker], [worker.stop], metrics)


def build_worker_process(settings: Settings) -> Backend:
    """Workers alone (``catalyst-interactions worker``): no HTTP endpoint, so no public key
    is needed; the queue, database and REST client are the same as under ``serve``."""
    if not settings.application_id:
        raise ConfigError(
            "DISCORD_APPLICATION_ID is not set: workers need it to edit messages "
            "(Developer Portal, General Information)"
        )
    require_installed(settings, workers=True)
    private_dir(settings.data_dir)
    metrics = Metrics()
    resources = build_resources(settings, workers=True, metrics=metrics)
    queue = open_process_queue(settings, resources)
    dispatcher: Dispatcher[Resources] = Dispatcher(
        build_registry(), resources=resources, access=access_policy(settings)
    )
    backend = build_backend(settings, queue, dispatcher, metrics, resources)
    backend.startup.insert(0, warm_up(resources))
    backend.shutdown.insert(0, resources.aclose)  # after the worker stopped
    backend.readiness = dict(
        ready_probes(
            settings, queue=queue, store=resources.store, charts=True, redis=resources.redis
        )
    )
    return backend
