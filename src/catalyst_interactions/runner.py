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


def run_server(settings: Settings, *, host: str, port: int, workers: bool) -> None:
    secrets = [s.reveal() for s in (settings.bot_token, settings.state_secret) if s]
    configure_logging(settings.log_level, settings.log_format, secrets)
    runtime = build_runtime(settings, workers=workers)
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


def run_worker(settings: Settings, *, concurrency: int | None = None) -> None:
    """Workers alone (scale-out), stopping gracefully on SIGTERM / SIGINT."""
    import dataclasses

    from .app import build_runtime

    secrets = [s.reveal() for s in (settings.bot_token, settings.state_secret) if s]
    configure_logging(settings.log_level, settings.log_format, secrets)
    if concurrency is not None:
        settings = dataclasses.replace(settings, worker_concurrency=concurrency)
    # The worker verifies nothing itself, but shares the edge's composition; a missing key is
    # still reported clearly rather than papered over.
    runtime = build_runtime(settings, workers=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        for hook in runtime.app.startup_hooks:
            await hook()
        log.info("worker process running", extra={"queue": type(runtime.extras["queue"]).__name__})
        await stop.wait()
        for hook in reversed(runtime.app.shutdown_hooks):
            await hook()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        asyncio.run(main())
