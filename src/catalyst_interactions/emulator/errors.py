"""The emulator's exception tree: every refusal is an :class:`ApiError` shaped like Discord's.

Discord answers a refused request with ``{"code": int, "message": str}`` and, for a body it
cannot accept, code 50035 "Invalid Form Body" with ``errors`` nested along the JSON path of
each problem (OPC ``#json``). The validators in :mod:`catalyst_interactions.discord.validation`
return readable problems that start with that path; :func:`form_errors` turns them into the
nested tree.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "ALREADY_ACKNOWLEDGED",
    "INVALID_FORM_BODY",
    "INVALID_WEBHOOK_TOKEN",
    "UNKNOWN_MESSAGE",
    "ApiError",
    "RateLimitExceeded",
    "form_errors",
    "invalid_form_body",
]

UNKNOWN_APPLICATION = 10002
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
REQUEST_TOO_LARGE = 40005
ALREADY_ACKNOWLEDGED = 40060
OTHER_USERS_MESSAGE = 50005
EMPTY_MESSAGE = 50006
INVALID_WEBHOOK_TOKEN = 50027
INVALID_FORM_BODY = 50035
INVALID_JSON = 50109


class ApiError(Exception):
    """A refusal: HTTP status plus Discord's JSON error body."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            out["errors"] = self.errors
        return out

    @classmethod
    def unauthorized(cls) -> ApiError:
        return cls(401, 0, "401: Unauthorized")

    @classmethod
    def not_found(cls) -> ApiError:
        return cls(404, 0, "404: Not Found")

    @classmethod
    def invalid_token(cls) -> ApiError:
        return cls(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")

    @classmethod
    def unknown_message(cls) -> ApiError:
        return cls(404, UNKNOWN_MESSAGE, "Unknown Message")


class RateLimitExceeded(ApiError):
    """A 429; ``headers`` carry the bucket state and Retry-After."""

    def __init__(self, retry_after: float, headers: dict[str, str], *, is_global: bool) -> None:
        super().__init__(429, 0, "You are being rate limited.")
        self.retry_after = retry_after
        self.headers = headers
        self.is_global = is_global

    def body(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "retry_after": round(self.retry_after, 3),
            "global": self.is_global,
        }


# "embeds[0].fields[2].name is 300 characters; ..." -> path, then the rest.
_PATH = re.compile(
    r"^([A-Za-z_][A-Za-z_0-9]*(?:\[\d+\])*(?:\.[A-Za-z_@][A-Za-z_0-9]*(?:\[\d+\])*)*)"
    r"(?=\s|$)"
)
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _error_code(problem: str) -> str:
    if "is required" in problem:
        return "BASE_TYPE_REQUIRED"
    if "Discord allows at most" in problem and "characters" in problem:
        return "BASE_TYPE_MAX_LENGTH"
    if "Discord requires at least" in problem or "is empty" in problem:
        return "BASE_TYPE_MIN_LENGTH"
    if "Discord allows at most" in problem:
        return "BASE_TYPE_MAX_LENGTH"
    if "not a field Discord accepts" in problem:
        return "UNKNOWN_FIELD"
    return "BASE_TYPE_BAD_VALUE"


def form_errors(problems: list[str], prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """Nest problems along their JSON path: ``{"embeds": {"0": {"title": {"_errors": [...]}}}}``."""
    tree: dict[str, Any] = {}
    for problem in problems:
        found = _PATH.match(problem)
        keys = list(prefix)
        if found is not None and found.group(1) not in ("message", "body", "command"):
            keys += [m.group(1) or m.group(2) for m in _SEGMENT.finditer(found.group(1))]
        node = tree
        for key in keys:
            node = node.setdefault(key, {})
        node.setdefault("_errors", []).append({"code": _error_code(problem), "message": problem})
    return tree


def invalid_form_body(problems: list[str], prefix: tuple[str, ...] = ()) -> ApiError:
    """50035 with the nested errors; a lone "empty message" problem is 50006 as on Discord."""
    if len(problems) == 1 and "50006" in problems[0]:
        return ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")
    return ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", form_errors(problems, prefix))
