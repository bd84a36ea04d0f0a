"""Keep tokens out of text: error messages, our logs and httpx's request log.

Interaction tokens travel in URL paths (``/webhooks/<app>/<token>/...``,
``/interactions/<id>/<token>/callback``), and httpx logs every request URL at INFO.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["TokenPathFilter", "install_httpx_redaction", "scrub"]

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


def install_httpx_redaction() -> None:
    """Attach :class:`TokenPathFilter` to the ``httpx`` logger once per process.

    The logger is process-wide state owned by httpx; adding a filter is idempotent and
    changes nothing but the redaction.
    """
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, TokenPathFilter) for f in logger.filters):
        logger.addFilter(TokenPathFilter())
