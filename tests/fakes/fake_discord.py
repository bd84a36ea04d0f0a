"""A loopback fake of Discord's REST API for tests.

``FakeDiscord`` serves a small ASGI app with uvicorn on ``127.0.0.1:<free port>`` in a
background thread, so any event loop (or none) can talk to it. It

- records every request (method, path, query, headers, raw body; ``.json`` and
  ``.parts`` parse JSON and multipart bodies with the standard library);
- answers like Discord for the routes the backend uses, keeping state: an interaction's
  ``@original`` message (callback, edit, get, delete), followups, channel messages,
  application commands (bulk overwrite) and ``/applications/@me``;
- lets a test program responses per route name: ``enqueue("edit_original",
  Reply(429, {...}), Reply(500))`` answers the next two calls that way, and a
  ``Reply(headers=...)`` with no status answers normally with extra headers;
- can enforce a real fixed-window rate limit per route (``rate_limit``), sending
  ``X-RateLimit-*`` headers and 429s, and counts the 429s it sent.

The listening socket is bound before the server thread starts, so the fake accepts
connections as soon as ``start()`` returns.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import itertools
import json
import logging
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs

import uvicorn

from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.redaction import TokenPathFilter

API_PREFIX = "/api/v10"
LOADING = 1 << 7
EPHEMERAL = 1 << 6

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    """Path below the API prefix, e.g. ``/webhooks/1/tok/messages/@original``."""
    route: str | None
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float
    """``time.monotonic()`` when the request was received."""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def parts(self) -> list[Part]:
        """The multipart/form-data parts, parsed by ``email`` (independent of the client)."""
        if not self.content_type.startswith("multipart/form-data"):
            return []
        raw = f"Content-Type: {self.content_type}\r\n\r\n".encode() + self.body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        parts = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            parts.append(
                Part(str(name), part.get_filename(), part.get_content_type(), bytes(payload))
            )
        return parts

    @property
    def json(self) -> Any:
        """The JSON body, or the ``payload_json`` part of a multipart body."""
        if self.content_type.startswith("multipart/form-data"):
            for part in self.parts:
                if part.name == "payload_json":
                    return json.loads(part.data)
            return None
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Reply:
    """A programmed answer. ``status=None`` answers normally, adding ``headers``."""

    status: int | None = None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class _Limiter:
    limit: int
    window_s: float
    bucket: str
    window_end: float = 0.0
    used: int = 0


_ID = r"(?P<{}>\d+)"
_TOKEN = r"(?P<token>[^/]+)"
_HOOK = "/webhooks/" + _ID.format("application_id") + "/" + _TOKEN
_ROUTES: list[tuple[str, str, re.Pattern[str]]] = [
    (name, method, re.compile(pattern + "$"))
    for name, method, pattern in [
        (
            "callback",
            "POST",
            "/interactions/" + _ID.format("interaction_id") + "/" + _TOKEN + "/callback",
        ),
        ("get_original", "GET", _HOOK + "/messages/@original"),
        ("edit_original", "PATCH", _HOOK + "/messages/@original"),
        ("delete_original", "DELETE", _HOOK + "/messages/@original"),
        ("create_followup", "POST", _HOOK),
        ("get_followup", "GET", _HOOK + "/messages/" + _ID.format("message_id")),
        ("edit_followup", "PATCH", _HOOK + "/messages/" + _ID.format("message_id")),
        ("delete_followup", "DELETE", _HOOK + "/messages/" + _ID.format("message_id")),
        ("create_channel_message", "POST", "/channels/" + _ID.format("channel_id") + "/messages"),
        (
            "edit_channel_message",
            "PATCH",
            "/channels/" + _ID.format("channel_id") + "/messages/" + _ID.format("message_id"),
        ),
        ("get_application", "GET", "/applications/@me"),
        ("edit_application", "PATCH", "/applications/@me"),
        (
            "get_global_commands",
            "GET",
            "/applications/" + _ID.format("application_id") + "/commands",
        ),
        (
            "put_global_commands",
            "PUT",
            "/applications/" + _ID.format("application_id") + "/commands",
        ),
        (
            "get_guild_commands",
            "GET",
            "/applications/"
            + _ID.format("application_id")
            + "/guilds/"
            + _ID.format("guild_id")
            + "/commands",
        ),
        (
            "put_guild_commands",
            "PUT",
            "/applications/"
            + _ID.format("application_id")
            + "/guilds/"
            + _ID.format("guild_id")
            + "/commands",
        ),
    ]
]
_BOT_ROUTES = frozenset(
    {
        "create_channel_message",
        "edit_channel_message",
        "get_application",
        "edit_application",
        "get_global_commands",
        "put_global_commands",
        "get_guild_commands",
        "put_guild_commands",
    }
)
_MESSAGE_FIELDS = ("content", "embeds", "components", "flags", "allowed_mentions", "poll")


def _error(status: int, code: int, message: str) -> tuple[int, Any]:
    return status, {"message": message, "code": code}


class FakeDiscord:
    """See the module docstring. Use as a context manager or call start()/stop()."""

    def __init__(
        self, *, application_id: str = "1100000000000000001", bot_token: str | None = None
    ) -> None:
        self.application_id = application_id
        self.bot_token = bot_token
        """When set, bot routes answer 401 unless ``Authorization: Bot <bot_token>``."""
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self.reset()

    # -- lifecycle --

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit this; without it a response written in two parts
        # waits ~40 ms for a delayed ACK (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_config=None,
            access_log=False,
            lifespan="off",
            interface="asgi3",
            loop="asyncio",
            ws="none",
            timeout_graceful_shutdown=1,
        )
        # uvicorn's access log prints request paths, which hold interaction tokens.
        access = logging.getLogger("uvicorn.access")
        if not any(isinstance(f, TokenPathFilter) for f in access.filters):
            access.addFilter(TokenPathFilter())
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[sock])),  # type: ignore[union-attr]
            name="fake-discord",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}{API_PREFIX}"

    # -- programming and inspection (thread-safe) --

    def reset(self) -> None:
        """Forget requests, programmed replies, limits and all Discord state."""
        with self._lock:
            self._requests: list[RecordedRequest] = []
            self._queued: dict[str, deque[Reply]] = defaultdict(deque)
            self._limiters: dict[str, _Limiter] = {}
            self.sent_429 = 0
            self.originals: dict[str, dict[str, Any]] = {}
            self.followups: dict[str, dict[str, Any]] = {}
            self.channel_messages: dict[str, dict[str, Any]] = {}
            self.commands: dict[str | None, list[dict[str, Any]]] = {}
            self.acknowledged: set[str] = set()
            self.expired_tokens: set[str] = set()
            self.application: dict[str, Any] = {
                "id": self.application_id,
                "name": "Fake Catalyst",
                "description": "",
                "flags": 0,
            }

    def enqueue(self, route: str, *replies: Reply) -> None:
        """Answer the next ``len(replies)`` calls of ``route`` with these, in order."""
        if route not in {name for name, _, _ in _ROUTES}:
            raise ValueError(f"unknown fake route {route!r}")
        with self._lock:
            self._queued[route].extend(replies)

    def rate_limit(self, route: str, *, limit: int, window_s: float, bucket: str = "fake") -> None:
        """Enforce ``limit`` requests per fixed ``window_s`` on ``route`` (all major params)."""
        with self._lock:
            self._limiters[route] = _Limiter(limit, window_s, bucket)

    def expire_token(self, token: str) -> None:
        """Webhook calls with ``token`` get 401 50027, like a token older than 15 minutes."""
        with self._lock:
            self.expired_tokens.add(token)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route]

    def wait_for_requests(self, count: int, route: str | None = None, timeout: float = 5.0) -> None:
        """Block until ``count`` requests (of ``route``) arrived; from async code use
        ``await asyncio.to_thread(fake.wait_for_requests, ...)``."""

        def enough() -> bool:
            return sum(1 for r in self._requests if route in (None, r.route)) >= count

        with self._lock:
            if not self._lock.wait_for(enough, timeout):
                raise TimeoutError(f"fewer than {count} requests for {route or 'any route'}")

    # -- the ASGI app --

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            event = await receive()
            chunks.append(event.get("body", b""))
            if not event.get("more_body"):
                break
        path = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        sub = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path
        route, params = None, {}
        for name, route_method, pattern in _ROUTES:
            match = pattern.match(sub)
            if match and route_method == method:
                route, params = name, match.groupdict()
                break
        request = RecordedRequest(
            method=method,
            path=sub,
            route=route,
            params=params,
            query=parse_qs(scope.get("query_string", b"").decode()),
            headers=headers,
            body=b"".join(chunks),
            at=time.monotonic(),
        )
        status, body, extra, delay = self._answer(request)
        if delay:
            await asyncio.sleep(delay)
        await self._respond(send, status, body, extra)

    def _answer(self, request: RecordedRequest) -> tuple[int, Any, dict[str, str], float]:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()
            route = request.route
            extra: dict[str, str] = {}
            if route is None:
                return (*_error(404, 0, "404: Not Found"), extra, 0.0)
            queue = self._queued.get(route)
            reply = queue.popleft() if queue else None
            if reply is not None:
                extra.update(reply.headers)
                if reply.status is not None:
                    if reply.status == 429:
                        self.sent_429 += 1
                    return reply.status, reply.body, extra, reply.delay_s
            limited = self._limit(route, extra)
            if limited is not None:
                return (*limited, extra, 0.0)
            status, body = self._handle(route, request)
            return status, body, extra, reply.delay_s if reply else 0.0

    def _limit(self, route: str, headers: dict[str, str]) -> tuple[int, Any] | None:
        limiter = self._limiters.get(route)
        if limiter is None:
            return None
        now = time.monotonic()
        if now >= limiter.window_end:
            limiter.window_end, limiter.used = now + limiter.window_s, 0
        reset_after = limiter.window_end - now
        headers.update(
            {
                "X-RateLimit-Limit": str(limiter.limit),
                "X-RateLimit-Bucket": limiter.bucket,
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            }
        )
        if limiter.used >= limiter.limit:
            self.sent_429 += 1
            headers.update(
                {"X-RateLimit-Remaining": "0", "X-RateLimit-Scope": "user", "Retry-After": "1"}
            )
            return 429, {
                "message": "You are being rate limited.",
                "retry_after": round(reset_after, 3),
                "global": False,
            }
        limiter.used += 1
        headers["X-RateLimit-Remaining"] = str(limiter.limit - limiter.used)
        return None

    # -- Discord behaviour --

    def _new_message(self, fields: Mapping[str, Any], request: RecordedRequest) -> dict[str, Any]:
        now_ms = int(time.time() * 1000)
        message: dict[str, Any] = {
            "id": make_snowflake(now_ms, next(self._ids)),
            "type": 0,
            "channel_id": request.params.get("channel_id", "1200000000000000001"),
            "content": "",
            "embeds": [],
            "components": [],
            "attachments": [],
            "flags": 0,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            "edited_timestamp": None,
            "author": {"id": self.application_id, "username": "Catalyst", "bot": True},
        }
        self._apply(message, fields, request)
        message["edited_timestamp"] = None
        return message

    def _apply(
        self, message: dict[str, Any], fields: Mapping[str, Any], request: RecordedRequest
    ) -> dict[str, Any]:
        for key in _MESSAGE_FIELDS:
            if key in fields:
                message[key] = fields[key]
        uploads = {part.name: part for part in request.parts if part.name.startswith("files[")}
        if "attachments" in fields or uploads:
            kept = []
            for attachment in fields.get("attachments") or []:
                part = uploads.get(f"files[{attachment.get('id')}]")
                if part is None:  # an existing attachment being kept
                    kept.append(attachment)
                    continue
                kept.append(
                    {
                        "id": make_snowflake(int(time.time() * 1000), next(self._ids)),
                        "filename": attachment.get("filename") or part.filename,
                        "description": attachment.get("description"),
                        "content_type": part.content_type,
                        "size": len(part.data),
                        "url": f"https://cdn.fake/attachments/{part.filename}",
                    }
                )
            message["attachments"] = kept
        message["edited_timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        return message

    def _handle(self, route: str, request: RecordedRequest) -> tuple[int, Any]:
        params = request.params
        token = params.get("token")
        if (
            route in _BOT_ROUTES
            and self.bot_token is not None
            and request.headers.get("authorization") != f"Bot {self.bot_token}"
        ):
            return _error(401, 0, "401: Unauthorized")
        if token is not None and token in self.expired_tokens:
            return _error(401, 50027, "Invalid Webhook Token")
        try:
            body = request.json
        except ValueError:
            return _error(400, 50109, "The request body contains invalid JSON.")
        handler = getattr(self, "_" + route)
        result: tuple[int, Any] = handler(request, body)
        return result

    def _callback(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        interaction_id, token = request.params["interaction_id"], request.params["token"]
        if interaction_id in self.acknowledged:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        self.acknowledged.add(interaction_id)
        kind, data = body.get("type"), body.get("data") or {}
        if kind in (4, 7):
            self.originals[token] = self._new_message(data, request)
        elif kind in (5, 6) and token not in self.originals:
            flags = LOADING | (data.get("flags", 0) & EPHEMERAL) if kind == 5 else 0
            self.originals[token] = self._new_message({"flags": flags}, request)
        return 204, None

    def _get_original(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        message = self.originals.get(request.params["token"])
        return (200, message) if message else _error(404, 10008, "Unknown Message")

    def _edit_original(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        token = request.params["token"]
        message = self.originals.get(token)
        if message is None:  # lenient: tests may edit without a callback first
            message = self.originals[token] = self._new_message({}, request)
        message["flags"] = message.get("flags", 0) & ~LOADING
        return 200, self._apply(message, body or {}, request)

    def _delete_original(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        if self.originals.pop(request.params["token"], None) is None:
            return _error(404, 10008, "Unknown Message")
        return 204, None

    def _create_followup(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        message = self._new_message(body or {}, request)
        message["webhook_id"] = request.params["application_id"]
        self.followups[message["id"]] = message
        return 200, message

    def _get_followup(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        message = self.followups.get(request.params["message_id"])
        return (200, message) if message else _error(404, 10008, "Unknown Message")

    def _edit_followup(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        message = self.followups.get(request.params["message_id"])
        if message is None:
            return _error(404, 10008, "Unknown Message")
        return 200, self._apply(message, body or {}, request)

    def _delete_followup(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        if self.followups.pop(request.params["message_id"], None) is None:
            return _error(404, 10008, "Unknown Message")
        return 204, None

    def _create_channel_message(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        message = self._new_message(body or {}, request)
        self.channel_messages[message["id"]] = message
        return 200, message

    def _edit_channel_message(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        message = self.channel_messages.get(request.params["message_id"])
        if message is None:
            return _error(404, 10008, "Unknown Message")
        return 200, self._apply(message, body or {}, request)

    def _get_application(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        return 200, self.application

    def _edit_application(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        self.application.update(body or {})
        return 200, self.application

    def _get_commands(self, guild_id: str | None) -> tuple[int, Any]:
        return 200, self.commands.get(guild_id, [])

    def _put_commands(self, guild_id: str | None, body: Any) -> tuple[int, Any]:
        if not isinstance(body, list):
            return _error(400, 50035, "Invalid Form Body")
        existing = {c["name"]: c["id"] for c in self.commands.get(guild_id, [])}
        stored = []
        for command in body:
            entry = {
                "id": existing.get(command["name"])
                or make_snowflake(int(time.time() * 1000), next(self._ids)),
                "application_id": self.application_id,
                "version": make_snowflake(int(time.time() * 1000), next(self._ids)),
                "type": command.get("type", 1),
                **command,
            }
            if guild_id is not None:
                entry["guild_id"] = guild_id
            stored.append(entry)
        self.commands[guild_id] = stored
        return 200, stored

    def _get_global_commands(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        return self._get_commands(None)

    def _put_global_commands(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        return self._put_commands(None, body)

    def _get_guild_commands(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        return self._get_commands(request.params["guild_id"])

    def _put_guild_commands(self, request: RecordedRequest, body: Any) -> tuple[int, Any]:
        return self._put_commands(request.params["guild_id"], body)

    @staticmethod
    async def _respond(send: Send, status: int, body: Any, extra: Mapping[str, str]) -> None:
        if body is None or status == 204:
            payload = b""
        elif isinstance(body, bytes):
            payload = body
        else:
            payload = json.dumps(body).encode()
        headers = [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        if payload and not isinstance(body, bytes):
            headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
