"""Discord REST routes as named constants, with their rate-limit major parameters.

A :class:`Route` is a template (``PATCH /channels/{channel_id}/messages/{message_id}``);
:meth:`Route.compile` fills it in. Discord rate-limits per bucket *and* per "major
parameter" (channel, guild, webhook id + token), so the compiled route carries a
``major`` key made of those values. A token in the major key is replaced by a short
SHA-256 digest: bucket keys end up in Redis and in memory dumps, tokens must not.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote

__all__ = ["CompiledRoute", "Route"]

_SNOWFLAKE = re.compile(r"\d{1,20}")
_SECRET_PARAMS: Final = frozenset({"token"})


def token_digest(token: str) -> str:
    """A stable, non-reversible stand-in for a token inside bucket keys."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint: method, path template and how it is rate-limited and authorised."""

    method: str
    template: str
    major: tuple[str, ...] = ()
    bot_auth: bool = False
    """Send ``Authorization: Bot …``; such routes also count toward the global limit."""
    idempotent: bool = True
    """Safe to resend after an ambiguous network failure (request may have arrived)."""
    original: bool = False
    """An ``@original`` read/edit: a 404 right after a deferred ack is retried briefly."""
    params: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(f for _, f, _, _ in string.Formatter().parse(self.template) if f)
        object.__setattr__(self, "params", names)

    @property
    def token_route(self) -> bool:
        """Webhook/interaction routes authenticate with the token in the path."""
        return "token" in self.params

    def __str__(self) -> str:
        return f"{self.method} {self.template}"

    def compile(self, **values: str) -> CompiledRoute:
        """Fill the template. Ids must be snowflakes; the token is percent-quoted."""
        if set(values) != set(self.params):
            raise ValueError(f"{self} needs parameters {sorted(self.params)}")
        for name, value in values.items():
            if name in _SECRET_PARAMS:
                if not isinstance(value, str) or not value:
                    raise ValueError(f"{self}: {name} must be a non-empty string")
            elif not isinstance(value, str) or not _SNOWFLAKE.fullmatch(value):
                raise ValueError(f"{self}: {name} must be a snowflake string, got {value!r}")
        path = self.template.format(**{k: quote(v, safe="") for k, v in values.items()})
        major = ":".join(
            token_digest(values[n]) if n in _SECRET_PARAMS else values[n] for n in self.major
        )
        return CompiledRoute(self, path, major)


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    """A route with values filled in. ``path`` may hold a token, so ``repr`` omits it."""

    route: Route
    path: str = field(repr=False)
    major: str

    @property
    def name(self) -> str:
        return str(self.route)


def _webhook(method: str, suffix: str, **kw: bool) -> Route:
    return Route(
        method, "/webhooks/{application_id}/{token}" + suffix, ("application_id", "token"), **kw
    )


# Interaction callback: a second, successful-but-unseen callback is rejected with 40060,
# so resending after an ambiguous network error is safe.
CREATE_INTERACTION_RESPONSE: Final = Route(
    "POST", "/interactions/{interaction_id}/{token}/callback", ("interaction_id", "token")
)
GET_ORIGINAL: Final = _webhook("GET", "/messages/@original", original=True)
EDIT_ORIGINAL: Final = _webhook("PATCH", "/messages/@original", original=True)
DELETE_ORIGINAL: Final = _webhook("DELETE", "/messages/@original")
CREATE_FOLLOWUP: Final = _webhook("POST", "", idempotent=False)
EDIT_FOLLOWUP: Final = _webhook("PATCH", "/messages/{message_id}")
DELETE_FOLLOWUP: Final = _webhook("DELETE", "/messages/{message_id}")

CREATE_CHANNEL_MESSAGE: Final = Route(
    "POST", "/channels/{channel_id}/messages", ("channel_id",), bot_auth=True, idempotent=False
)
EDIT_CHANNEL_MESSAGE: Final = Route(
    "PATCH", "/channels/{channel_id}/messages/{message_id}", ("channel_id",), bot_auth=True
)

GET_GLOBAL_COMMANDS: Final = Route("GET", "/applications/{application_id}/commands", bot_auth=True)
PUT_GLOBAL_COMMANDS: Final = Route("PUT", "/applications/{application_id}/commands", bot_auth=True)
GET_GUILD_COMMANDS: Final = Route(
    "GET", "/applications/{application_id}/guilds/{guild_id}/commands", ("guild_id",), bot_auth=True
)
PUT_GUILD_COMMANDS: Final = Route(
    "PUT", "/applications/{application_id}/guilds/{guild_id}/commands", ("guild_id",), bot_auth=True
)

GET_MY_APPLICATION: Final = Route("GET", "/applications/@me", bot_auth=True)
EDIT_MY_APPLICATION: Final = Route("PATCH", "/applications/@me", bot_auth=True)
