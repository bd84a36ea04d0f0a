"""Runs the ASGI app under uvicorn with our logging and graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

import uvicorn

from .app import build_runtime
from .logs import configure_logging
from .settings import Settings

log = logging.getLogger("catalyst_interactions.runner")

GRACEFUL_SHUTDOWN_S = 10


async def _freeze_heap() -> None:
    """Move everything built at start into the GC's permanent generation: the collector then
    never walks those objects again, which keeps full collections off the hot path."""
    gc.collect()
    gc.freeze()


def run_server(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: bool,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
) -> None:
    """With ``metrics_port``, ``/metrics`` and ``/ready`` are served there and not on ``port``."""
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    address = None if metrics_port is None else (metrics_host, metrics_port)
    runtime = build_runtime(settings, workers=workers, metrics_address=address)
    runtime.app.startup_hooks.append(_freeze_heap)
    config = uvicorn.Config(
        runtime.app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    log.info("serving", extra={"host": host, "port": port, "workers": workers})
    uvicorn.Server(config).run()


def run_worker(
    settings: Settings,
    *,
    concurrency: int | None = None,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
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
        log.info("worker process running", extra={"metrics_port": metrics_port})
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
