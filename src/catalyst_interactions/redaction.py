"""Keep tokens out of text: error messages and every log line.

Interaction tokens travel in URL paths (``/webhooks/<app>/<token>/...``,
``/interactions/<id>/<token>/callback``). ``logs.RedactingHandler`` runs :func:`scrub` over
every formatted record, a library's included, so no per-library logger filter is needed;
:class:`TokenPathFilter` is for loggers that write through handlers of their own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["TokenPathFilter", "mask_url_password", "scrub"]

_TOKEN_PATH = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/?#\s\"']+")
PLACEHOLDER = "<redacted>"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret and any token-bearing URL path segment."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, PLACEHOLDER)
    return _TOKEN_PATH.sub(r"\1" + PLACEHOLDER, text)


class TokenPathFilter(logging.Filter):
    """Rewrites log records so a token in a Discord URL path never reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_PATH.sub(r"\1" + PLACEHOLDER, message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def mask_url_password(url: str) -> str:
    """``scheme://user:********@host/...``: a service URL safe to print (no password)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:********@{host}"))
    except ValueError:
        return "<malformed URL>"
