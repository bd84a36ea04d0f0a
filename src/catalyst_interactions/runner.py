"""Runs the ASGI app under uvicorn with our logging and graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
from collections.abc import Callable

import uvicorn

from .app import build_runtime, warm_up
from .logs import configure_logging
from .settings import ConfigError, Settings

log = logging.getLogger("catalyst_interactions.runner")

GRACEFUL_SHUTDOWN_S = 10


async def _freeze_heap() -> None:
    """Move everything built at start into the GC's permanent generation: the collector then
    never walks those objects again, which keeps full collections off the hot path."""
    gc.collect()
    gc.freeze()


def _uvicorn_config(app: object, **where: object) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        # No route reads the client address or the scheme, so uvicorn's X-Forwarded-*
        # middleware (a dict of the headers and a call per request) is left out.
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **where,  # type: ignore[arg-type]
    )


def run_server(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: bool,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
) -> None:
    """One process: the edge and (unless ``workers`` is False) the workers on one event loop
    (``serve --layout single``), kept as it was before the split layout for comparison: the
    render processes run at the edge's priority. With ``metrics_port``, ``/metrics`` and
    ``/ready`` are served there and not on ``port``."""
    import dataclasses

    settings = dataclasses.replace(settings, render_nice=0)
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    address = None if metrics_port is None else (metrics_host, metrics_port)
    runtime = build_runtime(settings, workers=workers, metrics_address=address)
    runtime.app.startup_hooks.append(_freeze_heap)
    config = _uvicorn_config(runtime.app, host=host, port=port)
    log.info("serving", extra={"host": host, "port": port, "workers": workers})
    uvicorn.Server(config).run()


def serve_edge_on(
    settings: Settings,
    sock: socket.socket,
    *,
    on_ready: Callable[[], None] | None = None,
    name: str = "edge",
    metrics_address: tuple[str, int] | None = None,
) -> None:
    """One edge process of ``serve``'s split layout, accepting on a socket it shares with
    the other edges; stops gracefully on SIGTERM (uvicorn drains the open requests)."""
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    runtime = build_runtime(settings, workers=False, metrics_address=metrics_address)
    if runtime.resources is not None:
        # Inline commands use the database: have it open before the first one (the
        # supervisor migrated it already, so this is quick).
        runtime.app.startup_hooks.append(warm_up(runtime.resources))
    runtime.app.startup_hooks.append(_freeze_heap)
    if on_ready is not None:
        ready = on_ready

        async def announce() -> None:
            ready()

        runtime.app.startup_hooks.append(announce)
    log.info("edge process running", extra={"role": name})
    uvicorn.Server(_uvicorn_config(runtime.app)).run(sockets=[sock])


def run_serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    edges: int,
    workers: int,
    reload_settings: Callable[[], Settings] | None = None,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
) -> None:
    """``serve``: edge and worker processes under a supervisor (:mod:`.processes`)."""
    from .processes import Layout, Supervisor

    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    if workers and not settings.application_id:
        raise ConfigError(
            "DISCORD_APPLICATION_ID is not set: workers need it to edit messages "
            "(Developer Portal, General Information)"
        )
    if workers:
        # Open (and migrate) the queue and the database once, here, so that the children
        # do not race each other creating tables on first start.
        _prepare_backend(settings)
    supervisor = Supervisor(
        settings,
        Layout(edges, workers, metrics_port=metrics_port, metrics_host=metrics_host),
        host=host,
        port=port,
        reload_settings=reload_settings,
    )
    supervisor.run()


def _prepare_backend(settings: Settings) -> None:
    from .bot.resources import LazyStore
    from .fileperms import private_dir
    from .jobs import open_queue

    async def prepare() -> None:
        private_dir(settings.data_dir)
        queue = open_queue(settings.queue_url or "", data_dir=settings.data_dir)
        store = LazyStore(settings.database_url, settings.data_dir)
        try:
            await queue.ping()
            await store.get()
        finally:
            await store.close()
            await queue.close()

    asyncio.run(prepare())


def run_workers(
    settings: Settings,
    *,
    processes: int,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
    reload_settings: Callable[[], Settings] | None = None,
) -> None:
    """``worker --processes N``: N worker processes under a supervisor."""
    from .processes import Layout, Supervisor

    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    layout = Layout(
        edges=0, workers=processes, metrics_port=metrics_port, metrics_host=metrics_host
    )
    Supervisor(settings, layout, reload_settings=reload_settings).run()


def run_worker(
    settings: Settings,
    *,
    concurrency: int | None = None,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
    on_ready: Callable[[], None] | None = None,
    name: str = "worker",
) -> None:
    """Workers alone (scale-out), stopping gracefully on SIGTERM / SIGINT; with
    ``metrics_port``, their Prometheus metrics (jobs, queue, REST calls, process) and a cached
    ``/ready`` (queue and database) are served there."""
    import dataclasses

    from .app import build_worker_process

    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    if concurrency is not None:
        settings = dataclasses.replace(settings, worker_concurrency=concurrency)
    backend = build_worker_process(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        listener = None
        if metrics_port is not None and backend.metrics is not None:
            from .edge.ops import OpsApp, OpsListener, Readiness

            ops = OpsApp(backend.metrics, Readiness(backend.readiness))
            listener = OpsListener(ops, metrics_host, metrics_port)
            await listener.start()
        for hook in backend.startup:
            await hook()
        await _freeze_heap()
        log.info("worker process running", extra={"role": name, "metrics_port": metrics_port})
        if on_ready is not None:
            on_ready()
        await stop.wait()
        for hook in reversed(backend.shutdown):
            await hook()
        if listener is not None:
            await listener.stop()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        asyncio.run(main())
