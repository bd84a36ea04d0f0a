"""Structured logs: one JSON object per line, correlated by ``interaction_id``.

Secrets are kept out at the source (tokens are never passed to a logger); the handler-level
filter below is the safety net: it scrubs the values of known secrets and any token-bearing
Discord URL path from every record, including those of libraries and tracebacks.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable
from typing import Any

import msgspec

from .redaction import scrub

# Attributes every LogRecord has; anything else came from ``extra=`` and is logged as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
_encode = msgspec.json.Encoder().encode


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "color_message" and not key.startswith("_"):
                out[key] = (
                    value if isinstance(value, str | int | float | bool | None) else str(value)
                )
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return _encode(out).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s%(fields)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%H:%M:%S", time.localtime(record.created))

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            k: v
            for k, v in record.__dict__.items()
            if k not in _STANDARD and not k.startswith("_") and k not in ("fields", "color_message")
        }
        record.fields = "".join(f" {k}={v}" for k, v in fields.items())
        return super().format(record)


class RedactingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Formats, then scrubs: covers messages, extra fields and exception text alike."""

    def __init__(self, secrets: Iterable[str], stream: Any = None) -> None:
        super().__init__(stream or sys.stderr)
        self._secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record), self._secrets)


def configure_logging(level: str, fmt: str, secrets: Iterable[str] = ()) -> None:
    """Route every logger (ours, uvicorn's, httpx's) through one redacting handler."""
    handler = RedactingHandler(secrets)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request access lines would cost more than verification itself; our own
    # "interaction answered" line carries what matters.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
