"""Neither the interaction token nor the bot token reaches an error or a log line."""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Awaitable, Callable

import pytest

from catalyst_interactions.discord.rest import DiscordError, DiscordRest
from catalyst_interactions.discord.rest.routes import EDIT_ORIGINAL
from fakes.fake_discord import FakeDiscord, Reply

from .conftest import APP_ID, BOT_TOKEN, INTERACTION_ID, TOKEN, MakeRest

pytestmark = pytest.mark.loopback

Call = Callable[[DiscordRest], Awaitable[object]]

EDIT: Call = lambda rest: rest.edit_original(TOKEN, {"content": "x"})  # noqa: E731
CALLBACK: Call = lambda rest: rest.create_interaction_response(INTERACTION_ID, TOKEN, {"type": 5})  # noqa: E731
FOLLOWUP: Call = lambda rest: rest.create_followup(TOKEN, {"content": "x"})  # noqa: E731
BOT: Call = lambda rest: rest.get_application()  # noqa: E731


def assert_clean(text: str) -> None:
    assert TOKEN not in text
    assert BOT_TOKEN not in text
    # Not even a recognisable fragment of either.
    assert TOKEN[10:30] not in text
    assert BOT_TOKEN[-20:] not in text


def assert_error_clean(error: BaseException) -> None:
    assert_clean(str(error))
    assert_clean(repr(error))
    assert_clean("".join(traceback.format_exception(error)))


@pytest.mark.parametrize(
    ("route", "reply", "call"),
    [
        ("edit_original", Reply(401, {"code": 50027, "message": "Invalid Webhook Token"}), EDIT),
        ("callback", Reply(404, {"code": 10062, "message": "Unknown interaction"}), CALLBACK),
        # A server that echoes the token back must not get it into our message.
        ("create_followup", Reply(400, {"code": 50035, "message": f"bad /x/{TOKEN}"}), FOLLOWUP),
        ("get_application", Reply(403, {"code": 50001, "message": f"no {BOT_TOKEN}"}), BOT),
    ],
)
async def test_http_errors_and_logs_are_clean(
    rest: DiscordRest,
    fake: FakeDiscord,
    caplog: pytest.LogCaptureFixture,
    route: str,
    reply: Reply,
    call: Call,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, aiohttp's and the fake server's included
    fake.enqueue(route, reply)
    with pytest.raises(DiscordError) as info:
        await call(rest)
    assert_error_clean(info.value)
    assert caplog.records, "expected log records to check"
    assert_clean(caplog.text)
    # The client logged the outcome by route template: enough to debug, nothing secret.
    assert any(r.name.endswith("rest.client") and " -> " in r.getMessage() for r in caplog.records)


async def test_success_and_retries_log_no_token(
    rest: DiscordRest, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.enqueue("edit_original", Reply(500, {"code": 0, "message": "oops"}))
    await rest.edit_original(TOKEN, {"content": "x"})
    await rest.create_followup(TOKEN, {"content": "y"})
    await rest.get_application()
    assert len(caplog.records) > 5
    assert_clean(caplog.text)


@pytest.mark.parametrize("call", [EDIT, CALLBACK, BOT])
async def test_network_errors_are_clean(
    make_rest: MakeRest, caplog: pytest.LogCaptureFixture, call: Call
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rest = make_rest(base_url=f"http://127.0.0.1:{port}/api/v10", max_attempts=2)
    with pytest.raises(DiscordError) as info:
        await call(rest)
    assert_error_clean(info.value)
    assert info.value.__cause__ is None
    assert_clean(caplog.text)


async def test_timeouts_are_clean(
    make_rest: MakeRest, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rest = make_rest(timeout_s=0.1, max_attempts=1)
    fake.enqueue("edit_original", Reply(headers={}, delay_s=0.4))
    with pytest.raises(DiscordError) as info:
        await EDIT(rest)
    assert_error_clean(info.value)
    assert_clean(caplog.text)


def test_reprs_are_clean(rest: DiscordRest) -> None:
    compiled = EDIT_ORIGINAL.compile(application_id=APP_ID, token=TOKEN)
    assert_clean(repr(compiled))
    assert_clean(compiled.major)
    assert_clean(repr(rest))
