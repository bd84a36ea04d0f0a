"""The base of the errors an upstream client (LLM, market data) raises to the bot.

Every such error carries ``user_message``: a sentence safe to show to the member in Discord.
It never holds a key, a base URL or an upstream response body (which may echo the request),
and ``str(error)`` is the same text, so logging it is safe too. A subclass names its
``default_message``; a rate-limited one also carries ``retry_after`` (seconds, when the
upstream said).
"""

from __future__ import annotations


class MemberSafeError(Exception):
    """An upstream failure whose ``user_message`` (and ``str()``) can be shown to a member."""

    default_message = "This service is unavailable right now."

    def __init__(self, user_message: str | None = None) -> None:
        self.user_message = user_message or self.default_message
        super().__init__(self.user_message)


class MemberSafeRateLimited(MemberSafeError):
    """The upstream asked us to slow down; ``retry_after`` is its hint in seconds, if any."""

    def __init__(self, user_message: str | None = None, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(user_message)


def parse_retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header's value in seconds; ``None`` when absent or not a number."""
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
