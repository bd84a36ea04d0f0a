"""Timestamp parsing shared by the HTTP providers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_EXCESS_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_iso(text: str) -> datetime:
    """Parse ISO-8601 with ``Z`` or an offset and up to nanosecond fractions (Tiingo sends 9)."""
    text = _EXCESS_FRACTION.sub(r"\1", text.strip())
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def utc_from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
