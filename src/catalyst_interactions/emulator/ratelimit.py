"""Per-route rate-limit buckets with Discord's headers (RL; docs/discord-facts.md §10).

Discord limits each route *bucket* per major parameter (a channel, a guild, a webhook id plus
token) with a window that starts at the first request and resets ``reset_after`` seconds
later. Every answer carries ``X-RateLimit-Limit/-Remaining/-Reset/-Reset-After/-Bucket``;
an exhausted bucket answers 429 with ``retry_after`` in the body, a ``Retry-After`` header and
``X-RateLimit-Scope: user``. Bot-authenticated routes also share a global limit (50/s);
interaction routes do not (RL "Global Rate Limit").

The numbers are configurable: Discord does not publish them; the defaults are the values
observed in practice (webhook routes about 5 per 2 s, discord-api-docs#6753).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import RateLimitExceeded

__all__ = ["BucketRule", "RateLimitRules", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class BucketRule:
    name: str
    limit: int
    window_s: float

    @property
    def bucket_hash(self) -> str:
        """An opaque id like Discord's; stable for a rule so clients can learn it."""
        return hashlib.sha256(f"{self.name}:{self.limit}:{self.window_s}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class RateLimitRules:
    """The buckets the emulator enforces. Tests pass tighter ones."""

    interaction_callback: BucketRule = BucketRule("interaction_callback", 5, 2.0)
    webhook: BucketRule = BucketRule("webhook", 5, 2.0)
    channel_messages: BucketRule = BucketRule("channel_messages", 5, 5.0)
    commands: BucketRule = BucketRule("application_commands", 10, 10.0)
    application: BucketRule = BucketRule("application", 5, 5.0)
    global_per_s: int = 50


@dataclass(slots=True)
class _Window:
    ends_at: float = 0.0
    used: int = 0


@dataclass(slots=True)
class RateLimiter:
    """Fixed windows keyed by (bucket, major). ``clock`` is Unix seconds, injectable."""

    rules: RateLimitRules
    clock: Callable[[], float]
    _windows: dict[tuple[str, str], _Window] = field(default_factory=dict)
    _global: _Window = field(default_factory=_Window)
    sent_429: int = 0

    def hit(self, rule: BucketRule, major: str, *, bot_global: bool = False) -> dict[str, str]:
        """Take one request from the bucket; the headers to send, or RateLimitExceeded."""
        now = self.clock()
        if bot_global:
            self._take_global(now)
        if len(self._windows) > 10_000:  # forget finished windows now and then
            self._windows = {k: w for k, w in self._windows.items() if w.ends_at > now}
        window = self._windows.setdefault((rule.name, major), _Window())
        if now >= window.ends_at:
            window.ends_at, window.used = now + rule.window_s, 0
        reset_after = max(window.ends_at - now, 0.0)
        headers = {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Bucket": rule.bucket_hash,
            "X-RateLimit-Reset": f"{window.ends_at:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        }
        if window.used >= rule.limit:
            self.sent_429 += 1
            headers |= {
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Scope": "user",
                "Retry-After": str(max(1, math.ceil(reset_after))),
            }
            raise RateLimitExceeded(reset_after, headers, is_global=False)
        window.used += 1
        headers["X-RateLimit-Remaining"] = str(rule.limit - window.used)
        return headers

    def _take_global(self, now: float) -> None:
        window = self._global
        if now >= window.ends_at:
            window.ends_at, window.used = now + 1.0, 0
        if window.used >= self.rules.global_per_s:
            self.sent_429 += 1
            retry = max(window.ends_at - now, 0.0)
            raise RateLimitExceeded(
                retry,
                {
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                    "Retry-After": str(max(1, math.ceil(retry))),
                },
                is_global=True,
            )
        window.used += 1
