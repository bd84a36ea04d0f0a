"""The local Discord as one ASGI application: the REST API under ``/api/v10`` and the page.

Build it with :class:`Emulator`; it owns its signing key (the application verifies with
:attr:`Emulator.public_key_hex`), the bot token it accepts, and an injectable clock that
decides token expiry, the 3-second deadline and rate-limit windows.
"""

from __future__ import annotations

import base64
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from nacl.signing import SigningKey

from ..fileperms import write_private
from ..secret import Secret
from .errors import REQUEST_TOO_LARGE, ApiError
from .http import BodyTooLarge, Receive, Request, Response, Router, Scope, Send, read_body
from .ratelimit import RateLimiter, RateLimitRules
from .rest import API_PREFIX, RestApi
from .sender import InteractionSender
from .store import Store
from .web import WebUi
from .world import World, default_world

__all__ = ["Emulator", "make_bot_token"]

log = logging.getLogger("catalyst_interactions.emulator")

MAX_REQUEST_BYTES = 25 * 1024 * 1024
"""Discord's maximum request size (MSG #create-message)."""


_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK_NAMES = frozenset({"localhost", "::1"})


def _hostname(authority: str) -> str:
    """``127.0.0.1:8081`` -> ``127.0.0.1``, ``[::1]:8081`` -> ``::1``, lower case."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else ""
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def is_loopback_name(host: str) -> bool:
    """A name that can only mean this machine: ``localhost``, ``127.0.0.0/8`` or ``::1``.
    (No DNS: a rebinding attack controls DNS.)"""
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() for p in parts)


def make_bot_token(application_id: str) -> Secret:
    """A random token shaped like Discord's: base64(id).timestamp.hmac-ish."""
    head = base64.urlsafe_b64encode(application_id.encode()).decode().rstrip("=")
    return Secret(f"{head}.{secrets.token_urlsafe(5)}.{secrets.token_urlsafe(28)}")


class Emulator:
    """Discord's REST side, the interaction sender and the page, over one store."""

    def __init__(
        self,
        *,
        world: World | None = None,
        signing_key: SigningKey | None = None,
        bot_token: Secret | None = None,
        clock: Callable[[], float] = time.time,
        public_base: str = "",
        rate_limits: RateLimitRules | None = None,
        deadline_s: float = 3.0,
        extra_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self.world = world or default_world()
        self.extra_hosts = frozenset(h.lower() for h in extra_hosts)
        """Host names answered besides loopback ones (the address ``dev --host`` binds)."""
        self._key = signing_key or SigningKey.generate()
        self.bot_token = bot_token or make_bot_token(self.world.application_id)
        self.clock = clock
        self.store = Store(self.world, clock=clock, public_base=public_base)
        self.store.application["verify_key"] = self.public_key_hex
        self.limiter = RateLimiter(rate_limits or RateLimitRules(), clock)
        self.sender = InteractionSender(
            self.store, self._key, deadline_s=deadline_s, timestamp=clock
        )
        self.router = Router()
        RestApi(
            self.store,
            self.limiter,
            bot_token=self.bot_token,
            verify_endpoint=self.sender.verify_endpoint,
        ).install(self.router)
        WebUi(self.store, self.sender).install(self.router)

    def __repr__(self) -> str:
        return f"Emulator(application_id={self.world.application_id!r})"

    @property
    def public_key_hex(self) -> str:
        return self._key.verify_key.encode().hex()

    def export_signing_key(self, path: Path) -> None:
        """Write the private seed (hex, mode 0600) for ``catalyst-interactions send``.

        A throwaway local key: it signs for this emulator only and changes every run.
        """
        write_private(path, self._key.encode().hex() + "\n")

    @property
    def public_base(self) -> str:
        return self.store.public_base

    @public_base.setter
    def public_base(self, value: str) -> None:
        self.store.public_base = value.rstrip("/")

    @property
    def api_base(self) -> str:
        return self.store.public_base + API_PREFIX

    async def aclose(self) -> None:
        """End live streams and close the sender's HTTP client."""
        self.store.hub.close()
        await self.sender.aclose()

    # -- ASGI -------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        refusal = self._refuse_foreign(scope)
        if refusal is not None:
            await Response.json({"message": refusal, "code": 0}, 403).send(send)
            return
        found = self.router.match(scope["method"], scope["path"])
        if isinstance(found, bool):
            status, text = (405, "405: Method Not Allowed") if found else (404, "404: Not Found")
            await Response.json({"message": text, "code": 0}, status).send(send)
            return
        route, params = found
        if route.raw is not None:
            await route.raw(scope, receive, send)
            return
        assert route.handler is not None
        try:
            body = await read_body(receive, MAX_REQUEST_BYTES)
        except BodyTooLarge:
            error = ApiError(413, REQUEST_TOO_LARGE, "Request entity too large")
            await Response.json(error.body(), 413).send(send)
            return
        request = Request.from_scope(scope, body)
        request.params = params
        try:
            response = await route.handler(request)
        except ApiError as exc:
            response = Response.json(exc.body(), exc.status)
        except Exception:  # one place turns a bug into a 500; the page and backend get JSON
            log.exception("emulator route failed", extra={"route": route.name or scope["path"]})
            response = Response.json({"message": "500: Internal Server Error", "code": 0}, 500)
        await response.send(send)

    def _allowed(self, host: str) -> bool:
        return is_loopback_name(host) or host in self.extra_hosts

    def _refuse_foreign(self, scope: Scope) -> str | None:
        """DNS-rebinding defence. A web page on another site can point its own name at
        127.0.0.1 and then talk to us as a same-origin page: its requests carry that name in
        ``Host``. Only loopback names (and the bound address) are answered, and a browser's
        write must come from such an origin too. Clients that send no ``Origin`` (the bot's
        REST client, curl) are not browsers on another site."""
        headers = dict(scope.get("headers") or ())
        host = _hostname(headers.get(b"host", b"").decode("latin-1"))
        if not self._allowed(host):
            return "The local Discord answers only on loopback addresses (127.0.0.1, localhost)."
        origin = headers.get(b"origin")
        if scope["method"] in _WRITES and origin is not None:
            parsed = urlsplit(origin.decode("latin-1"))
            if parsed.scheme not in ("http", "https") or not self._allowed(
                (parsed.hostname or "").lower()
            ):
                return "Cross-site request refused."
        return None

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
