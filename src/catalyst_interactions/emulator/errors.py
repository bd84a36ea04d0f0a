"""The emulator's exception tree: every refusal is an :class:`ApiError` shaped like Discord's.

Discord answers a refused request with ``{"code": int, "message": str}`` and, for a body it
cannot accept, code 50035 "Invalid Form Body" with ``errors`` nested along the JSON path of
each problem (OPC ``#json``). The emulator's own checks (spec.py, rules.py) return
:class:`~.spec.Problem` objects that carry that path; :func:`form_errors` nests them.
"""

from __future__ import annotations

from typing import Any

from .spec import Problem

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


def form_errors(problems: list[Problem]) -> dict[str, Any]:
    """Nest problems along their JSON path: ``{"embeds": {"0": {"title": {"_errors": [...]}}}}``."""
    tree: dict[str, Any] = {}
    for problem in problems:
        node = tree
        for key in problem.path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": problem.code, "message": problem.message})
    return tree


def invalid_form_body(problems: list[Problem]) -> ApiError:
    """50035 with the nested errors; a lone empty-message problem is 50006, as on Discord."""
    if len(problems) == 1 and problems[0].code == "EMPTY_MESSAGE":
        return ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")
    return ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", form_errors(problems))
