"""The async Discord REST client used to deliver replies and manage the application.

Every method sends one logical request: it waits for a rate-limit slot, sends, records
the rate-limit headers and retries what can be retried (429 after ``retry_after``; 5xx
and network errors with exponential backoff and jitter; a 404 on ``@original`` right
after a deferred ack, briefly). 401, 403, other 4xx and dead tokens are never retried:
401/403/429 count toward Discord's invalid-request IP ban.

Methods that use an interaction token accept ``deadline`` (Unix seconds): no sleep and
no request timeout reaches past it. Typically it is the token's expiry.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final, Self

import msgspec

from catalyst_interactions import __version__
from catalyst_interactions.secret import Secret

from ...redaction import scrub
from . import routes
from .errors import (
    INTERACTION_ALREADY_ACKNOWLEDGED,
    INVALID_WEBHOOK_TOKEN,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    AlreadyAcknowledged,
    BotTokenRequired,
    DeadlineExceeded,
    DiscordError,
    Forbidden,
    HTTPError,
    InvalidToken,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    UnknownInteraction,
)
from .metrics import NullMetrics, RestMetrics
from .multipart import FileLike, encode_multipart
from .ratelimit import MemoryRateLimitStore, RateLimitHeaders, RateLimitStore
from .transport import AiohttpTransport, RawResponse, Transport, TransportError

__all__ = ["DiscordRest"]

_log = logging.getLogger(__name__)

JSON = dict[str, Any]
DEFAULT_USER_AGENT_URL: Final = "https://github.com/catalyst-bot/catalyst-interactions"

# The @original message may not exist yet right after a type-5/6 ack (docs/discord-facts.md §5,
# discord-api-docs#6851): retry 10008/10015 a few times within this window only.
_ORIGINAL_GRACE_S: Final = 2.0
_ORIGINAL_RETRIES: Final = 4
_ORIGINAL_FIRST_DELAY_S: Final = 0.1
# Errors raised before the request could have reached Discord: safe to resend any method.
_decode = msgspec.json.Decoder()
_encode = msgspec.json.Encoder()


class DiscordRest:
    """Discord REST over one pooled HTTP transport (aiohttp); pass ``transport`` to swap it.

    ``ratelimits`` defaults to a per-process :class:`MemoryRateLimitStore`; give every
    worker the same ``RedisRateLimitStore`` to share limits between processes.
    """

    def __init__(
        self,
        *,
        base_url: str,
        application_id: str,
        bot_token: Secret | None,
        user_agent_url: str = DEFAULT_USER_AGENT_URL,
        version: str = __version__,
        transport: Transport | None = None,
        timeout_s: float = 10.0,
        ratelimits: RateLimitStore | None = None,
        metrics: RestMetrics | None = None,
        max_attempts: int = 5,
        retry_budget_s: float = 30.0,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 8.0,
        max_ratelimit_wait_s: float = 60.0,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        routes.GET_GLOBAL_COMMANDS.compile(application_id=application_id)  # validates the id
        if max_attempts < 1 or timeout_s <= 0:
            raise ValueError("max_attempts must be >= 1 and timeout_s > 0")
        self._base_url = base_url.rstrip("/")
        self._application_id = application_id
        self._bot_token = bot_token
        self._timeout_s = timeout_s
        self._owns_store = ratelimits is None
        self._ratelimits: RateLimitStore = ratelimits or MemoryRateLimitStore()
        self._metrics: RestMetrics = metrics or NullMetrics()
        self._max_attempts = max_attempts
        self._retry_budget_s = retry_budget_s
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._max_ratelimit_wait_s = max_ratelimit_wait_s
        self._http: Transport = transport or AiohttpTransport(
            user_agent=f"DiscordBot ({user_agent_url}, {version})"
        )

    def __repr__(self) -> str:
        return f"DiscordRest(base_url={self._base_url!r}, application_id={self._application_id!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._owns_store:
            await self._ratelimits.aclose()

    # -- interaction responses and webhook messages (authenticated by the token) --

    async def create_interaction_response(
        self,
        interaction_id: str,
        token: str,
        body: JSON,
        files: Sequence[FileLike] = (),
        *,
        deadline: float | None = None,
    ) -> None:
        """POST the callback (type 4/5/6/7/8/9 body). Raises AlreadyAcknowledged on 40060."""
        await self._request(
            routes.CREATE_INTERACTION_RESPONSE,
            {"interaction_id": interaction_id, "token": token},
            body=body,
            files=files,
            deadline=deadline,
        )

    async def get_original(self, token: str, *, deadline: float | None = None) -> JSON:
        return await self._json(routes.GET_ORIGINAL, self._hook(token), deadline=deadline)

    async def edit_original(
        self,
        token: str,
        payload: JSON,
        files: Sequence[FileLike] = (),
        *,
        deadline: float | None = None,
    ) -> JSON:
        return await self._json(
            routes.EDIT_ORIGINAL, self._hook(token), body=payload, files=files, deadline=deadline
        )

    async def delete_original(self, token: str, *, deadline: float | None = None) -> None:
        await self._request(routes.DELETE_ORIGINAL, self._hook(token), deadline=deadline)

    async def create_followup(
        self,
        token: str,
        payload: JSON,
        files: Sequence[FileLike] = (),
        *,
        deadline: float | None = None,
    ) -> JSON:
        return await self._json(
            routes.CREATE_FOLLOWUP, self._hook(token), body=payload, files=files, deadline=deadline
        )

    async def edit_followup(
        self,
        token: str,
        message_id: str,
        payload: JSON,
        files: Sequence[FileLike] = (),
        *,
        deadline: float | None = None,
    ) -> JSON:
        values = self._hook(token, message_id=message_id)
        return await self._json(
            routes.EDIT_FOLLOWUP, values, body=payload, files=files, deadline=deadline
        )

    async def delete_followup(
        self, token: str, message_id: str, *, deadline: float | None = None
    ) -> None:
        values = self._hook(token, message_id=message_id)
        await self._request(routes.DELETE_FOLLOWUP, values, deadline=deadline)

    # -- bot-token routes --

    async def create_channel_message(
        self,
        channel_id: str,
        payload: JSON,
        files: Sequence[FileLike] = (),
        *,
        deadline: float | None = None,
    ) -> JSON:
        return await self._json(
            routes.CREATE_CHANNEL_MESSAGE,
            {"channel_id": channel_id},
            body=payload,
            files=files,
            deadline=deadline,
        )

    async def edit_channel_message(
        self,
        channel_id: str,
        message_id: str,
        payload: JSON,
        files: Sequence[FileLike] = (),
        *,
        deadline: float | None = None,
    ) -> JSON:
        return await self._json(
            routes.EDIT_CHANNEL_MESSAGE,
            {"channel_id": channel_id, "message_id": message_id},
            body=payload,
            files=files,
            deadline=deadline,
        )

    async def get_commands(self, guild_id: str | None = None) -> list[JSON]:
        route, values = self._commands_route(guild_id, put=False)
        return await self._json_list(route, values)

    async def bulk_overwrite_commands(
        self, commands: list[JSON], guild_id: str | None = None
    ) -> list[JSON]:
        """PUT replaces every command (all types) of the application or guild."""
        route, values = self._commands_route(guild_id, put=True)
        return await self._json_list(route, values, body=commands)

    async def get_application(self) -> JSON:
        return await self._json(routes.GET_MY_APPLICATION, {})

    async def edit_application(self, fields: JSON) -> JSON:
        return await self._json(routes.EDIT_MY_APPLICATION, {}, body=fields)

    # -- plumbing --

    def _hook(self, token: str, **extra: str) -> dict[str, str]:
        return {"application_id": self._application_id, "token": token, **extra}

    def _commands_route(
        self, guild_id: str | None, *, put: bool
    ) -> tuple[routes.Route, dict[str, str]]:
        values = {"application_id": self._application_id}
        if guild_id is None:
            return (routes.PUT_GLOBAL_COMMANDS if put else routes.GET_GLOBAL_COMMANDS), values
        values["guild_id"] = guild_id
        return (routes.PUT_GUILD_COMMANDS if put else routes.GET_GUILD_COMMANDS), values

    async def _json(self, route: routes.Route, values: dict[str, str], **kw: Any) -> JSON:
        data = _body(await self._request(route, values, **kw), route)
        if not isinstance(data, dict):
            raise HTTPError(200, 0, "expected a JSON object", str(route))
        return data

    async def _json_list(
        self, route: routes.Route, values: dict[str, str], **kw: Any
    ) -> list[JSON]:
        data = _body(await self._request(route, values, **kw), route)
        if not isinstance(data, list):
            raise HTTPError(200, 0, "expected a JSON array", str(route))
        return data

    async def _request(
        self,
        route: routes.Route,
        values: dict[str, str],
        *,
        body: object = None,
        files: Sequence[FileLike] = (),
        deadline: float | None = None,
    ) -> RawResponse:
        compiled = route.compile(**values)
        name = compiled.name
        secrets = [values["token"]] if "token" in values else []
        headers: dict[str, str] = {}
        if route.bot_auth:
            if self._bot_token is None:
                raise BotTokenRequired(f"{name} needs a bot token (DISCORD_BOT_TOKEN)")
            secrets.append(self._bot_token.reveal())
            headers["Authorization"] = "Bot " + self._bot_token.reveal()
        content: bytes | None = None
        if files:
            headers["Content-Type"], content = encode_multipart(_encode.encode(body or {}), files)
        elif body is not None:
            headers["Content-Type"], content = "application/json", _encode.encode(body)
        url = self._base_url + compiled.path

        started = time.monotonic()
        attempts = 0
        original_retries = 0
        last: DiscordError | None = None
        while True:
            await self._take_slot(compiled, deadline, last)
            timeout = self._timeout_until(deadline, last, name)
            sent_at = time.perf_counter()
            network: TransportError | None = None
            try:
                response = await self._http.send(route.method, url, headers, content, timeout)
            except TransportError as exc:
                network = exc
            elapsed = time.perf_counter() - sent_at
            attempts += 1

            if network is not None:
                self._metrics.observe(name, 0, elapsed)
                last = _network_error(network, name, secrets)
                if not (route.idempotent or network.unsent):
                    raise last
                _log.warning("%s: %s (attempt %d)", name, network.kind, attempts)
                await self._backoff(attempts, started, deadline, last)
                continue

            status = response.status_code
            self._metrics.observe(name, status, elapsed)
            limits = RateLimitHeaders.parse(response.headers)
            if limits is not None:
                await self._ratelimits.record(name, compiled.major, limits)
            if 200 <= status < 300:
                _log.debug("%s -> %d in %.1f ms", name, status, elapsed * 1000)
                return response

            last = _http_error(response, route, secrets)
            if isinstance(last, RateLimited):
                await self._on_429(compiled, last, response)
                if attempts >= self._max_attempts or last.retry_after > self._max_ratelimit_wait_s:
                    raise last
                await self._sleep(last.retry_after, deadline, last)
            elif isinstance(last, ServerError) and route.idempotent:
                # A 5xx after a POST of a new message may mean it was posted (502/504 from
                # the proxy in front): only requests that are safe to repeat are resent.
                _log.warning("%s -> %d (attempt %d)", name, status, attempts)
                await self._backoff(attempts, started, deadline, last)
            elif (
                route.original
                and type(last) is NotFound
                and last.code in (UNKNOWN_MESSAGE, UNKNOWN_WEBHOOK)
                and original_retries < _ORIGINAL_RETRIES
                and time.monotonic() - started < _ORIGINAL_GRACE_S
            ):
                original_retries += 1
                delay = min(
                    _ORIGINAL_FIRST_DELAY_S * 2 ** (original_retries - 1),
                    _ORIGINAL_GRACE_S - (time.monotonic() - started),
                )
                _log.info("%s -> 404 %d right after ack; retrying", name, last.code)
                await self._sleep(delay, deadline, last)
            else:
                _log.info("%s -> %d code %d (not retried)", name, status, last.code)
                raise last

    async def _take_slot(
        self, compiled: routes.CompiledRoute, deadline: float | None, last: DiscordError | None
    ) -> None:
        route = compiled.route
        while True:
            wait = await self._ratelimits.acquire(
                compiled.name, compiled.major, global_limited=route.bot_auth
            )
            if wait <= 0:
                return
            if wait > self._max_ratelimit_wait_s:
                raise RateLimited(
                    429,
                    0,
                    f"bucket exhausted for {wait:.1f}s",
                    compiled.name,
                    retry_after=wait,
                    scope="user",
                    is_global=False,
                )
            _log.debug("%s: waiting %.3f s for a rate-limit slot", compiled.name, wait)
            reason = last or DeadlineExceeded(f"deadline passes before {compiled.name} can be sent")
            await self._sleep(wait, deadline, reason)

    async def _on_429(
        self, compiled: routes.CompiledRoute, error: RateLimited, response: RawResponse
    ) -> None:
        self._metrics.ratelimited(compiled.name, error.scope)
        _log.warning(
            "%s -> 429 scope=%s retry_after=%.3f", compiled.name, error.scope, error.retry_after
        )
        if error.is_global and compiled.route.bot_auth:
            await self._ratelimits.block_global(error.retry_after)
        else:
            bucket = response.headers.get("x-ratelimit-bucket") or None
            await self._ratelimits.block(compiled.name, compiled.major, error.retry_after, bucket)

    async def _backoff(
        self, attempts: int, started: float, deadline: float | None, error: DiscordError
    ) -> None:
        if attempts >= self._max_attempts:
            raise error
        ceiling = min(self._backoff_cap_s, self._backoff_base_s * 2 ** (attempts - 1))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)  # "equal jitter"
        if time.monotonic() - started + delay > self._retry_budget_s:
            raise error
        await self._sleep(delay, deadline, error)

    @staticmethod
    async def _sleep(delay: float, deadline: float | None, error: DiscordError) -> None:
        """Sleep unless waking would be past the deadline; then raise ``error`` instead."""
        if deadline is not None and time.time() + delay > deadline:
            raise error
        await asyncio.sleep(delay)

    def _timeout_until(self, deadline: float | None, last: DiscordError | None, name: str) -> float:
        if deadline is None:
            return self._timeout_s
        left = deadline - time.time()
        if left <= 0:
            raise last or DeadlineExceeded(f"deadline passed before {name} was sent")
        return min(self._timeout_s, left)


def _body(response: RawResponse, route: routes.Route) -> Any:
    try:
        return _decode.decode(response.content)
    except msgspec.DecodeError:
        raise HTTPError(response.status_code, 0, "invalid JSON in response", str(route)) from None


def _network_error(exc: TransportError, name: str, secrets: Sequence[str]) -> NetworkError:
    detail = scrub(str(exc), secrets)[:200]
    message = f"{exc.kind} on {name}" + (f": {detail}" if detail else "")
    return NetworkError(message, route=name, timeout=exc.timeout)


def _http_error(response: RawResponse, route: routes.Route, secrets: Sequence[str]) -> HTTPError:
    status, name = response.status_code, str(route)
    try:
        data = _decode.decode(response.content)
    except msgspec.DecodeError:
        data = None
    body: JSON = data if isinstance(data, dict) else {}
    code = body.get("code")
    code = code if isinstance(code, int) else 0
    message = scrub(str(body.get("message") or response.reason_phrase), secrets)[:300]
    errors = body.get("errors") if isinstance(body.get("errors"), dict) else None

    if status == 429:
        retry_after = _retry_after(body, response)
        is_global = (
            body.get("global") is True or response.headers.get("x-ratelimit-global") == "true"
        )
        scope = response.headers.get("x-ratelimit-scope") or ("global" if is_global else "user")
        return RateLimited(
            status, code, message, name, retry_after=retry_after, scope=scope, is_global=is_global
        )
    cls: type[HTTPError]
    if code == INVALID_WEBHOOK_TOKEN or (status == 401 and route.token_route):
        cls = InvalidToken
    elif code == UNKNOWN_INTERACTION:
        cls = UnknownInteraction
    elif code == INTERACTION_ALREADY_ACKNOWLEDGED:
        cls = AlreadyAcknowledged
    elif status >= 500:
        cls = ServerError
    else:
        cls = {401: Unauthorized, 403: Forbidden, 404: NotFound}.get(status, HTTPError)
    return cls(status, code, message, name, errors=errors)


def _retry_after(body: JSON, response: RawResponse) -> float:
    for raw in (body.get("retry_after"), response.headers.get("retry-after")):
        try:
            value = float(raw) if raw is not None else None
        except (TypeError, ValueError):
            continue
        if value is not None and value >= 0:
            return value
    return 1.0
