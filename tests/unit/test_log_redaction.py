"""Tokens in Discord URL paths never reach a log line, whichever library logs them.

``configure_logging`` puts one ``RedactingHandler`` on the root logger; these tests log through
real ``logging`` loggers (ours and a library's name) into it and read what was written.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from catalyst_interactions.logs import RedactingHandler, TextFormatter

TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQtdG9rZW4"
BOT_TOKEN = "MTIz.bot.token-value"


@pytest.fixture
def written() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    stream = io.StringIO()
    handler = RedactingHandler([BOT_TOKEN], stream=stream)
    handler.setFormatter(TextFormatter())
    # A private logger tree so the test neither sees nor changes other tests' handlers.
    root = logging.getLogger("test_log_redaction")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    root.propagate = False
    try:
        yield stream, root
    finally:
        root.removeHandler(handler)


@pytest.mark.parametrize("library", ["httpx", "aiohttp.client", "catalyst_interactions.jobs"])
def test_a_libraries_request_line_loses_the_token(
    written: tuple[io.StringIO, logging.Logger], library: str
) -> None:
    stream, root = written
    url = f"https://discord.com/api/v10/webhooks/1234567890/{TOKEN}/messages/@original"
    root.getChild(library).info('HTTP Request: PATCH %s "HTTP/1.1 200 OK"', url)
    line = stream.getvalue()
    assert TOKEN not in line
    assert "/webhooks/1234567890/<redacted>/messages/@original" in line


def test_known_secrets_and_callback_urls_are_scrubbed_in_tracebacks(
    written: tuple[io.StringIO, logging.Logger],
) -> None:
    stream, root = written
    try:
        raise RuntimeError(f"POST /interactions/99/{TOKEN}/callback failed, auth {BOT_TOKEN}")
    except RuntimeError:
        root.exception("delivery failed")
    text = stream.getvalue()
    assert "delivery failed" in text and "RuntimeError" in text
    assert TOKEN not in text and BOT_TOKEN not in text
    assert "/interactions/99/<redacted>/callback" in text
