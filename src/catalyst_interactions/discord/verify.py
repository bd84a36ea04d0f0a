"""Ed25519 request verification: Discord signs ``timestamp + raw_body`` (docs/discord-facts.md §4).

The key is parsed once at start; each request costs one signature check (~40 µs with
libsodium), which is the physical floor of the edge's hot path. The timestamp window is our
own hardening: Discord documents no window, but without one a captured request can be
replayed forever.
"""

from __future__ import annotations

import time
from binascii import a2b_hex
from collections.abc import Callable
from typing import Final

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import SigningKey, VerifyKey

SIGNATURE_BYTES: Final = 64
SIGNATURE_HEX_LENGTH: Final = 2 * SIGNATURE_BYTES
PUBLIC_KEY_HEX_LENGTH: Final = 64  # 32-byte key


class VerificationError(Exception):
    """The request is not provably from Discord. ``reason`` is a short metric label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse_public_key(hex_key: str) -> bytes:
    """Decode and check a public key from the Developer Portal; ValueError says what is wrong."""
    key = hex_key.strip()
    if len(key) != PUBLIC_KEY_HEX_LENGTH:
        raise ValueError(
            f"must be {PUBLIC_KEY_HEX_LENGTH} hexadecimal characters (32 bytes); got {len(key)}"
        )
    try:
        raw = bytes.fromhex(key)
    except ValueError:
        bad = next(i for i, ch in enumerate(key) if ch not in "0123456789abcdefABCDEF")
        raise ValueError(f"is not hexadecimal (character {bad + 1} is not 0-9/a-f)") from None
    VerifyKey(raw)  # rejects nothing today, but keeps the check in one place
    return raw


class SignatureVerifier:
    """Checks Discord's signature headers and the timestamp window of one request."""

    __slots__ = ("_clock", "_key", "future_skew_s", "window_s")

    def __init__(
        self,
        public_key: bytes,
        *,
        window_s: float = 300,
        future_skew_s: float = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        VerifyKey(public_key)  # refuses a key of the wrong length, here rather than per request
        self._key = bytes(public_key)
        self.window_s = window_s
        """How old a request timestamp may be."""
        self.future_skew_s = future_skew_s
        """How far ahead of our clock it may be (Discord's clock and ours differ a little)."""
        self._clock = clock

    def verify(self, signature_hex: bytes, timestamp: bytes, body: bytes) -> float:
        """Raise :class:`VerificationError` unless the request is authentic and fresh; when it
        is, return when it becomes stale: its timestamp plus the window. Replay memory keeps
        its id until then, and not longer."""
        if len(signature_hex) != SIGNATURE_HEX_LENGTH:
            raise VerificationError("malformed_signature", "invalid request signature")
        try:
            # From the header's bytes, no str between; unlike bytes.fromhex, a2b_hex refuses
            # whitespace, so 128 characters are always 64 bytes.
            signature = a2b_hex(signature_hex)
        except ValueError:  # binascii.Error (a non-hex byte) is a ValueError
            raise VerificationError("malformed_signature", "invalid request signature") from None
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise VerificationError("malformed_timestamp", "invalid request timestamp")
        try:
            # The binding itself: VerifyKey.verify adds type checks and a copy per request.
            crypto_sign_open(signature + timestamp + body, self._key)
        except (BadSignatureError, CryptoError):
            raise VerificationError("bad_signature", "invalid request signature") from None
        # Checked after the signature so that an attacker cannot probe our clock cheaply,
        # and so the reason label of a forged request is always "bad_signature".
        signed_at = int(timestamp)
        age = self._clock() - signed_at
        if age > self.window_s or -age > self.future_skew_s:
            raise VerificationError(
                "stale_timestamp", "request timestamp outside the allowed window"
            )
        return signed_at + self.window_s


def signed_headers(key: SigningKey, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Discord would send with ``body``, signed with ``key`` (a local or staging
    key: our own tools that play Discord toward an endpoint, never the bot's traffic)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex(),
        "X-Signature-Timestamp": stamp,
    }
