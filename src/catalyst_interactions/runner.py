"""Runs the ASGI app under uvicorn with our logging and graceful shutdown."""

from __future__ import annotations

import logging

import uvicorn

from .app import build_edge
from .logs import configure_logging
from .settings import Settings

log = logging.getLogger("catalyst_interactions.runner")

GRACEFUL_SHUTDOWN_S = 10


def run_server(settings: Settings, *, host: str, port: int, workers: bool) -> None:
    secrets = [s.reveal() for s in (settings.bot_token, settings.state_secret) if s]
    configure_logging(settings.log_level, settings.log_format, secrets)
    runtime = build_edge(settings)
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
