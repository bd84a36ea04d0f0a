"""A small request/response layer and a regex router over raw ASGI.

The emulator serves two surfaces (Discord's REST API and the page's JSON API) with a few
dozen routes; a web framework would add a dependency for little. Handlers are plain async
functions ``Request -> Response``; streaming routes (Server-Sent Events) get the raw ASGI
triple instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
RawHandler = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body is larger than the route accepts."""


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-cased names; the last value wins."""
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    """Named groups of the matched route."""
    operation_id: str = ""
    """Discord's operationId of the matched REST route (rest.py), for its request schema."""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @classmethod
    def from_scope(cls, scope: Scope, body: bytes) -> Request:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        return cls(scope["method"], scope["path"], query, headers, body)


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(status, body, "application/json", dict(headers or {}))

    @classmethod
    def empty(cls, status: int = 204, headers: dict[str, str] | None = None) -> Response:
        return cls(status, b"", None, dict(headers or {}))

    async def send(self, send: Send) -> None:
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()
        ]
        if self.content_type is not None and self.status != 204:
            headers.append((b"content-type", self.content_type.encode("latin-1")))
        body = b"" if self.status == 204 else self.body
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler | None = None
    raw: RawHandler | None = None
    name: str = ""


class Router:
    """Routes by method and a full-match regular expression on the path."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, *, name: str = "") -> None:
        self._routes.append(Route(method, re.compile(pattern), handler=handler, name=name))

    def add_raw(self, method: str, pattern: str, raw: RawHandler) -> None:
        self._routes.append(Route(method, re.compile(pattern), raw=raw))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | bool:
        """The route and its parameters; False for an unknown path, True when only the method
        is wrong (a 405)."""
        path_known = False
        for route in self._routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict()
            path_known = True
        return path_known


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
