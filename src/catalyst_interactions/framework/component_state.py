"""Component state that does not fit in a 100-character custom_id.

The state is stored server-side (database or Redis) under a short random id; the custom_id
carries ``<id>.<expiry>.<mac>``, an HMAC over id and expiry with a server secret. A forged
or tampered id is refused before any lookup, an expired one without trusting the storage's
clock, and buttons keep working across restarts and redeploys because nothing lives in
process memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from .errors import UserFacingError

_MAC_BYTES = 9  # 72 bits: forging needs ~2^72 tries, each a request we can see
DEFAULT_TTL_S = 30 * 24 * 3600


class StateForged(UserFacingError):
    def __init__(self) -> None:
        super().__init__("This button's data is not valid. Run the command again.")


class StateExpired(UserFacingError):
    def __init__(self) -> None:
        super().__init__("This button has expired. Run the command again.")


class StateBackend(Protocol):
    async def put(self, state: dict[str, Any], expires_at: float) -> str:
        """Store ``state`` until ``expires_at``; returns a new short URL-safe key."""
        ...

    async def get(self, key: str) -> dict[str, Any] | None:
        """The state, or None when missing or expired."""
        ...


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class ComponentStateStore:
    """Saves state under a signed short id (31 characters) and loads it back."""

    def __init__(
        self, backend: StateBackend, secret: bytes, *, clock: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the component-state secret must be at least 16 bytes")
        self._backend = backend
        self._secret = secret
        self._clock = clock

    def _mac(self, key: str, expiry: str) -> str:
        digest = hmac.new(self._secret, f"{key}.{expiry}".encode(), hashlib.sha256).digest()
        return _b64(digest[:_MAC_BYTES])

    async def save(self, state: dict[str, Any], ttl_s: float = DEFAULT_TTL_S) -> str:
        expires_at = int(self._clock() + ttl_s)
        expiry = format(expires_at, "x")
        key = await self._backend.put(state, float(expires_at))
        return f"{key}.{expiry}.{self._mac(key, expiry)}"

    async def load(self, state_id: str) -> dict[str, Any]:
        parts = state_id.split(".")
        if len(parts) != 3:
            raise StateForged
        key, expiry, mac = parts
        if not hmac.compare_digest(mac, self._mac(key, expiry)):
            raise StateForged
        try:
            expires_at = int(expiry, 16)
        except ValueError:
            raise StateForged from None
        if expires_at < self._clock():
            raise StateExpired
        value = await self._backend.get(key)
        if value is None:
            raise StateExpired
        return value


def new_key() -> str:
    return _b64(secrets.token_bytes(9))  # 12 characters


class MemoryStateBackend:
    """For tests and single-process experiments only: state dies with the process."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._data: dict[str, tuple[bytes, float]] = {}
        self._clock = clock

    async def put(self, state: dict[str, Any], expires_at: float) -> str:
        key = new_key()
        self._data[key] = (msgspec.json.encode(state), expires_at)
        return key

    async def get(self, key: str) -> dict[str, Any] | None:
        item = self._data.get(key)
        if item is None or item[1] < self._clock():
            return None
        value: dict[str, Any] = msgspec.json.decode(item[0])
        return value


class RedisStateBackend:
    def __init__(self, redis: Any, *, prefix: str = "catalyst:state:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def put(self, state: dict[str, Any], expires_at: float) -> str:
        key = new_key()
        await self._redis.set(self._prefix + key, msgspec.json.encode(state), exat=int(expires_at))
        return key

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._prefix + key)
        if raw is None:
            return None
        value = msgspec.json.decode(raw)
        return value if isinstance(value, dict) else None
