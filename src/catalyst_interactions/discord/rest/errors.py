"""The REST client's exception tree.

Every failure of :class:`~catalyst_interactions.discord.rest.DiscordRest` is a
:class:`DiscordError`; transport (aiohttp) exceptions are translated at the boundary and
never escape.
Each error says whether retrying could help (``permanent``), so a job runner can decide
between "retry later" and "dead-letter" without knowing HTTP.

Messages name the route *template* (``PATCH /webhooks/{application_id}/{token}/...``),
never the URL, because the URL of an interaction route contains the token.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AlreadyAcknowledged",
    "BotTokenRequired",
    "DeadlineExceeded",
    "DiscordError",
    "Forbidden",
    "HTTPError",
    "InvalidToken",
    "NetworkError",
    "NotFound",
    "RateLimited",
    "ServerError",
    "TokenExpired",
    "Unauthorized",
    "UnknownInteraction",
]

# JSON error codes (docs/discord-facts.md §5, OPC #json).
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
INTERACTION_ALREADY_ACKNOWLEDGED = 40060
INVALID_WEBHOOK_TOKEN = 50027


class DiscordError(Exception):
    """Base of every error raised by the REST client."""

    permanent: bool = True
    """True when the same request can never succeed; False when a later retry may."""


class BotTokenRequired(DiscordError):
    """The route needs ``Authorization: Bot …`` but the client was built without a bot token."""


class DeadlineExceeded(DiscordError):
    """The caller's deadline passed before a request could be (re)sent."""


class NetworkError(DiscordError):
    """Connecting, sending or reading failed (DNS, refused, reset, timeout)."""

    permanent = False

    def __init__(self, message: str, *, route: str, timeout: bool = False) -> None:
        super().__init__(message)
        self.route = route
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.args[0]!r}, route={self.route!r})"


class HTTPError(DiscordError):
    """Discord answered with a non-2xx status."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        route: str,
        *,
        errors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} (code {code}) on {route}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.route = route
        self.errors = errors
        """Discord's nested ``errors`` object (50035 Invalid Form Body), if any."""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code}, "
            f"message={self.message!r}, route={self.route!r})"
        )


class Unauthorized(HTTPError):
    """401. Never retried: 401s count toward Discord's invalid-request IP ban."""


class InvalidToken(Unauthorized):
    """401 on a webhook/interaction route, or code 50027: the interaction token is dead.

    Discord does not distinguish an expired token from a wrong one.
    """


TokenExpired = InvalidToken
"""Alias: a token older than 15 minutes is reported exactly like an invalid one."""


class Forbidden(HTTPError):
    """403. Never retried (counts toward the invalid-request limit)."""


class NotFound(HTTPError):
    """404 (unknown message, webhook, channel, ...)."""


class UnknownInteraction(NotFound):
    """Code 10062: the interaction was not acknowledged in time or does not exist."""


class AlreadyAcknowledged(HTTPError):
    """Code 40060: a callback was already sent; a retried callback that had succeeded."""


class RateLimited(HTTPError):
    """429 that the client gave up waiting for (too long, or past the deadline)."""

    permanent = False

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        route: str,
        *,
        retry_after: float,
        scope: str,
        is_global: bool,
    ) -> None:
        super().__init__(status, code, message, route)
        self.retry_after = retry_after
        self.scope = scope
        self.is_global = is_global


class ServerError(HTTPError):
    """5xx: Discord (or Cloudflare in front of it) failed; retrying later may work."""

    permanent = False
