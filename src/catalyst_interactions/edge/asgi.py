"""The ASGI adapter: a thin layer that reads headers and body and calls the endpoint core.

No web framework: on the hot path every microsecond counts against the bare-ASGI ceiling
(docs/design.md budgets), and the surface is five routes.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any

from ..metrics import Metrics
from .endpoint import JSON, EndpointResult, InteractionEndpoint, error_result, health_body
from .ops import Readiness, ReadinessCheck, metrics_result

log = logging.getLogger("catalyst_interactions.edge")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]
Route = Callable[[Scope, Receive, Send], Awaitable[None]]

_SIG = b"x-signature-ed25519"
_TS = b"x-signature-timestamp"
_CL = b"content-length"


class BodyTooLarge(Exception):
    pass


class EdgeApp:
    def __init__(
        self,
        endpoint: InteractionEndpoint,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        readiness: Readiness | None = None,
        ops_routes: bool = True,
        on_startup: Sequence[Hook] = (),
        on_shutdown: Sequence[Hook] = (),
        info: Mapping[str, str] | None = None,
        extra_routes: Mapping[tuple[str, str], Route] | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._metrics = metrics
        self._max_body = max_body_bytes
        self.readiness = readiness or Readiness({})
        self._on_startup = list(on_startup)
        self._on_shutdown = list(on_shutdown)
        self._info = dict(info or {})
        self._routes: dict[tuple[str, str], Route] = {
            ("GET", "/health"): self._health,
            ("GET", "/"): self._index,
            **(extra_routes or {}),
        }
        if ops_routes:  # otherwise they are on the metrics listener only (--metrics-port)
            self._routes |= {
                ("GET", "/ready"): self._ready,
                ("GET", "/metrics"): self._metrics_route,
            }
        self._ops_routes = ops_routes
        self._paths = {path for _, path in self._routes} | {"/interactions"}

    @property
    def startup_hooks(self) -> list[Hook]:
        return self._on_startup

    @property
    def shutdown_hooks(self) -> list[Hook]:
        return self._on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/interactions" or scope["method"] != "POST":
            await self._not_interactions(scope, receive, send)
            return
        # POST /interactions is read, answered and sent here, in the one coroutine the server
        # starts per request (read_body and send_result inlined): a coroutine costs a
        # noticeable share of what the edge adds to a signature check.
        signature = timestamp = None
        declared = -1
        for name, value in scope["headers"]:
            if name == _SIG:
                signature = value
            elif name == _TS:
                timestamp = value
            elif name == _CL:
                # Bounded before int(): int() of a 5,000-digit string raises ValueError.
                declared = int(value) if value.isdigit() and len(value) < 19 else -1
        too_large = declared > self._max_body
        if not too_large:
            message = await receive()
            body: bytes = message.get("body", b"")
            if message.get("more_body", False):
                try:
                    body = await _rest_of_body(receive, body, self._max_body)
                except BodyTooLarge:
                    too_large = True
            else:
                too_large = len(body) > self._max_body
        if too_large:
            result = self._too_large()
        else:
            result = await self._endpoint.on_interaction(body, signature, timestamp)
        await send(result.start_message or result.response_start())
        await send({"type": "http.response.body", "body": result.body})

    async def _not_interactions(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    # -- HTTP -----------------------------------------------------------------------------
    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        route = self._routes.get((method, path))
        if route is not None:
            await route(scope, receive, send)
        elif path == "/interactions":  # POST is the hot path, in __call__
            await _send(send, error_result(405, "use POST"), allow=b"POST")
        elif path in self._paths:
            await _send(send, error_result(405, "method not allowed"))
        else:
            await _send(send, error_result(404, "not found"))

    def _too_large(self) -> EndpointResult:
        self._metrics.rejected.labels("too_large").inc()
        log.info("interaction refused", extra={"status": 413, "reason": "too_large"})
        return error_result(413, f"body larger than {self._max_body} bytes")

    async def _health(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_result(send, EndpointResult(200, health_body(status="ok")))

    async def _ready(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_result(send, await self.readiness.result())

    async def _metrics_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_result(send, metrics_result(self._metrics))

    async def _index(self, scope: Scope, receive: Receive, send: Send) -> None:
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self._info.items()
        )
        ops = (
            "<a href='/health'>/health</a>, <a href='/ready'>/ready</a>, "
            "<a href='/metrics'>/metrics</a>"
            if self._ops_routes
            else "<a href='/health'>/health</a> (/ready and /metrics: on the metrics port)"
        )
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>catalyst-interactions"
            "</title></head><body><h1>catalyst-interactions</h1>"
            "<p>Discord interactions endpoint: <code>POST /interactions</code>. "
            f"Operations: {ops}.</p><table>{rows}</table></body></html>"
        )
        await send_result(send, EndpointResult(200, page.encode(), b"text/html; charset=utf-8"))

    # -- lifespan -------------------------------------------------------------------------
    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for hook in self._on_startup:
                        await hook()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in reversed(self._on_shutdown):
                    try:
                        await hook()
                    except Exception:  # keep shutting the rest down
                        log.exception("shutdown hook failed")
                await send({"type": "lifespan.shutdown.complete"})
                return


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request body, refusing to buffer more than ``limit`` bytes."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise BodyTooLarge
        return body
    return await _rest_of_body(receive, body, limit)


async def _rest_of_body(receive: Receive, first: bytes, limit: int) -> bytes:
    """A body sent in several messages, ``first`` being the chunk already received."""
    chunks = [first]
    size = len(first)
    more = True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def send_result(send: Send, result: EndpointResult) -> None:
    await _send(send, result)


async def _send(send: Send, result: EndpointResult, allow: bytes | None = None) -> None:
    start = result.start_message
    if start is None or allow is not None:
        start = result.response_start(allow)
    await send(start)
    await send({"type": "http.response.body", "body": result.body})


__all__ = ["JSON", "EdgeApp", "ReadinessCheck", "read_body", "send_result"]
