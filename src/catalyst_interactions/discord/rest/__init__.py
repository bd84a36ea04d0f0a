"""Async Discord REST client: routes, rate limits, multipart uploads, one error tree.

``RedisRateLimitStore`` lives in ``.redis_ratelimit`` so importing this package does not
import redis.
"""

from . import errors
from .client import DiscordRest
from .errors import *  # noqa: F403 (the whole error tree is public: errors.__all__)
from .metrics import NullMetrics, RestMetrics
from .multipart import FileLike
from .ratelimit import MemoryRateLimitStore, RateLimitHeaders, RateLimitStore

__all__ = [
    "DiscordRest",
    "FileLike",
    "MemoryRateLimitStore",
    "NullMetrics",
    "RateLimitHeaders",
    "RateLimitStore",
    "RestMetrics",
]
__all__ += errors.__all__
