"""The operations surface: ``/ready`` (cached) and ``/metrics``, and the listener of their own
that ``--metrics-port`` puts them on.

Load balancers and Prometheus poll these every few seconds per replica. ``/ready`` therefore
answers from a result at most ``READY_CACHE_S`` old: however often it is polled, the database
and the queue see one round trip per period, and concurrent polls share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, MutableMapping
from typing import Any

from ..metrics import CONTENT_TYPE, Metrics
from .endpoint import EndpointResult, error_result, health_body

log = logging.getLogger("catalyst_interactions.edge")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ReadinessCheck = Callable[[], Awaitable[object]]
"""Raises when the dependency it checks is unreachable."""

READY_CACHE_S = 2.0
CHECK_TIMEOUT_S = 2.0


class Readiness:
    """Runs the readiness checks at most once per ``cache_s`` and remembers what failed."""

    def __init__(
        self,
        checks: Mapping[str, ReadinessCheck],
        *,
        cache_s: float = READY_CACHE_S,
        timeout_s: float = CHECK_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._checks = dict(checks)
        self._cache_s = cache_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._failing: list[str] = []
        self._checked_at: float | None = None
        self._running: asyncio.Task[list[str]] | None = None

    async def failing(self) -> list[str]:
        """Names of the checks that failed, from a result at most ``cache_s`` old."""
        if self._checked_at is not None and self._clock() - self._checked_at < self._cache_s:
            return self._failing
        if self._running is None:
            self._running = asyncio.ensure_future(self._check_all())
        # Shielded: a poller that hangs up must not cancel the check the others wait for.
        return await asyncio.shield(self._running)

    async def _check_all(self) -> list[str]:
        try:
            results = await asyncio.gather(*(self._check(n, c) for n, c in self._checks.items()))
            self._failing = [name for name in results if name is not None]
            self._checked_at = self._clock()
            return self._failing
        finally:
            self._running = None

    async def _check(self, name: str, check: ReadinessCheck) -> str | None:
        try:
            await asyncio.wait_for(check(), timeout=self._timeout_s)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            log.warning(
                "readiness check failed", extra={"check": name, "error": type(exc).__name__}
            )
            return name
        return None

    async def result(self) -> EndpointResult:
        failing = await self.failing()
        if failing:
            return EndpointResult(503, health_body(status="not ready", failing=failing))
        return EndpointResult(200, health_body(status="ready"))


def metrics_result(metrics: Metrics) -> EndpointResult:
    return EndpointResult(200, metrics.render(), CONTENT_TYPE)


class OpsApp:
    """ASGI app of the operations listener: ``/metrics``, ``/ready`` and ``/health``."""

    def __init__(self, metrics: Metrics, readiness: Readiness) -> None:
        self._metrics = metrics
        self._readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off for this listener
        path, method = scope["path"], scope["method"]
        if path not in ("/metrics", "/ready", "/health"):
            result = error_result(404, "not found")
        elif method != "GET":
            result = error_result(405, "use GET")
        elif path == "/metrics":
            result = metrics_result(self._metrics)
        elif path == "/ready":
            result = await self._readiness.result()
        else:
            result = EndpointResult(200, health_body(status="ok"))
        await send(
            {
                "type": "http.response.start",
                "status": result.status,
                "headers": [
                    (b"content-type", result.content_type),
                    (b"content-length", str(len(result.body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": result.body})


class OpsListener:
    """The operations app on its own host and port, inside the running event loop.

    It lives and dies with the process's main server (started and stopped by its hooks) and
    leaves signal handling to that server.
    """

    def __init__(self, app: OpsApp, host: str, port: int) -> None:
        import uvicorn

        class _Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Generator[None]:
                yield  # the main server (or the worker runner) owns SIGTERM / SIGINT

        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
        )
        self._server = _Server(config)
        self._host = host
        self._port = port
        self.port = port
        """The bound port once started (useful when asked for port 0)."""
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Bound here, not by uvicorn: a port in use is then an OSError that fails the start
        # with its own message, instead of an exit from inside a background task.
        family, kind, proto, _, address = socket.getaddrinfo(
            self._host, self._port, type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            sock.close()
            raise OSError(
                f"metrics listener cannot bind {self._host}:{self._port}: {exc}"
            ) from None
        self.port = int(sock.getsockname()[1])
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[sock]))
        while not self._server.started and not self._task.done():  # noqa: ASYNC110 - uvicorn offers a flag, no event
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # raises what stopped it
        log.info("metrics listener running", extra={"host": self._host, "port": self.port})

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
