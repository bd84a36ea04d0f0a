"""Async Discord REST client: routes, rate limits, multipart uploads, one error tree.

``RedisRateLimitStore`` lives in ``.redis_ratelimit`` so importing this package does not
import redis.
"""

from .client import DiscordRest
from .errors import (
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
    TokenExpired,
    Unauthorized,
    UnknownInteraction,
)
from .metrics import NullMetrics, RestMetrics
from .multipart import FileLike
from .ratelimit import MemoryRateLimitStore, RateLimitHeaders, RateLimitStore

__all__ = [
    "AlreadyAcknowledged",
    "BotTokenRequired",
    "DeadlineExceeded",
    "DiscordError",
    "DiscordRest",
    "FileLike",
    "Forbidden",
    "HTTPError",
    "InvalidToken",
    "MemoryRateLimitStore",
    "NetworkError",
    "NotFound",
    "NullMetrics",
    "RateLimitHeaders",
    "RateLimitStore",
    "RateLimited",
    "RestMetrics",
    "ServerError",
    "TokenExpired",
    "Unauthorized",
    "UnknownInteraction",
]
