"""What is retried, what is not, and how deadlines bound it."""

from __future__ import annotations

import socket
import time

import pytest

from catalyst_interactions.discord.rest import (
    AlreadyAcknowledged,
    DeadlineExceeded,
    DiscordRest,
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
from fakes.fake_discord import FakeDiscord, Reply

from .conftest import INTERACTION_ID, TOKEN, MakeRest, RecordingMetrics

pytestmark = pytest.mark.loopback

EDIT_ORIGINAL = "PATCH /webhooks/{application_id}/{token}/messages/@original"


def err(status: int, code: int = 0, message: str = "error") -> Reply:
    return Reply(status, {"message": message, "code": code})


async def test_5xx_retried_then_success(make_rest: MakeRest, fake: FakeDiscord) -> None:
    metrics = RecordingMetrics()
    rest = make_rest(metrics=metrics)
    fake.enqueue("edit_original", err(502), err(503))
    message = await rest.edit_original(TOKEN, {"content": "ok"})
    assert message["content"] == "ok"
    assert len(fake.requests_for("edit_original")) == 3
    assert [(route, status) for route, status, _ in metrics.observed] == [
        (EDIT_ORIGINAL, 502),
        (EDIT_ORIGINAL, 503),
        (EDIT_ORIGINAL, 200),
    ]


async def test_5xx_gives_up_after_max_attempts(make_rest: MakeRest, fake: FakeDiscord) -> None:
    rest = make_rest(max_attempts=3)
    fake.enqueue("get_application", *[err(500)] * 5)
    with pytest.raises(ServerError) as info:
        await rest.get_application()
    assert info.value.status == 500
    assert info.value.permanent is False
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("route", "reply", "error", "call"),
    [
        ("get_application", err(401, 0, "401: Unauthorized"), Unauthorized, "app"),
        ("get_application", err(403, 50001, "Missing Access"), Forbidden, "app"),
        ("edit_original", err(401, 50027, "Invalid Webhook Token"), InvalidToken, "edit"),
        ("edit_original", err(401, 0, "401: Unauthorized"), InvalidToken, "edit"),
        ("callback", err(404, 10062, "Unknown interaction"), UnknownInteraction, "callback"),
        ("callback", err(400, 40060, "already acknowledged"), AlreadyAcknowledged, "callback"),
        ("edit_original", err(400, 50035, "Invalid Form Body"), HTTPError, "edit"),
        ("edit_original", err(413, 40005, "Request entity too large"), HTTPError, "edit"),
        ("edit_followup", err(404, 10008, "Unknown Message"), NotFound, "followup"),
    ],
)
async def test_permanent_errors_are_sent_once(
    rest: DiscordRest, fake: FakeDiscord, route: str, reply: Reply, error: type, call: str
) -> None:
    fake.enqueue(route, reply)
    calls = {
        "app": lambda: rest.get_application(),
        "edit": lambda: rest.edit_original(TOKEN, {"content": "x"}),
        "callback": lambda: rest.create_interaction_response(INTERACTION_ID, TOKEN, {"type": 5}),
        "followup": lambda: rest.edit_followup(TOKEN, "1500000000000000001", {"content": "x"}),
    }
    with pytest.raises(error) as info:
        await calls[call]()
    assert type(info.value) is error
    assert info.value.permanent is True
    assert info.value.status == reply.status
    assert info.value.code == reply.body["code"]
    assert len(fake.requests) == 1


async def test_expired_token_is_token_expired(rest: DiscordRest, fake: FakeDiscord) -> None:
    fake.expire_token(TOKEN)
    with pytest.raises(TokenExpired) as info:
        await rest.create_followup(TOKEN, {"content": "late"})
    assert info.value.code == 50027
    assert len(fake.requests) == 1


async def test_invalid_form_body_keeps_discord_errors(rest: DiscordRest, fake: FakeDiscord) -> None:
    errors = {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "too long"}]}}
    fake.enqueue(
        "edit_original",
        Reply(400, {"code": 50035, "message": "Invalid Form Body", "errors": errors}),
    )
    with pytest.raises(HTTPError) as info:
        await rest.edit_original(TOKEN, {"content": "x" * 2001})
    assert info.value.errors == errors


async def test_second_callback_is_already_acknowledged(
    rest: DiscordRest, fake: FakeDiscord
) -> None:
    await rest.create_interaction_response(INTERACTION_ID, TOKEN, {"type": 5})
    with pytest.raises(AlreadyAcknowledged):
        await rest.create_interaction_response(INTERACTION_ID, TOKEN, {"type": 5})


@pytest.mark.parametrize("route", ["edit_original", "get_original"])
async def test_original_404_right_after_ack_is_retried(
    rest: DiscordRest, fake: FakeDiscord, route: str
) -> None:
    await rest.create_interaction_response(INTERACTION_ID, TOKEN, {"type": 5})
    fake.enqueue(route, err(404, 10008, "Unknown Message"), err(404, 10015, "Unknown Webhook"))
    if route == "edit_original":
        message = await rest.edit_original(TOKEN, {"content": "done"})
    else:
        message = await rest.get_original(TOKEN)
    assert message["id"] == fake.originals[TOKEN]["id"]
    assert len(fake.requests_for(route)) == 3


async def test_original_404_gives_up_within_grace(rest: DiscordRest, fake: FakeDiscord) -> None:
    started = time.monotonic()
    with pytest.raises(NotFound) as info:
        await rest.get_original(TOKEN)  # the fake has no such message, ever
    elapsed = time.monotonic() - started
    assert info.value.code == 10008
    assert 2 <= len(fake.requests) <= 5
    assert elapsed < 3.0


async def test_delete_original_404_not_retried(rest: DiscordRest, fake: FakeDiscord) -> None:
    with pytest.raises(NotFound):
        await rest.delete_original(TOKEN)
    assert len(fake.requests) == 1


async def test_deadline_stops_5xx_retries(make_rest: MakeRest, fake: FakeDiscord) -> None:
    # The deadline leaves room for several answers even on a loaded machine (each request's
    # own timeout is cut to the deadline too, so a slow first answer would be a timeout).
    rest = make_rest(backoff_base_s=0.4, backoff_cap_s=0.4, max_attempts=10)
    fake.enqueue("edit_original", *[err(500)] * 10)
    started = time.time()
    with pytest.raises(ServerError):
        await rest.edit_original(TOKEN, {"content": "x"}, deadline=started + 1.2)
    assert time.time() - started < 1.2 + 0.1  # never slept past the deadline
    assert 1 <= len(fake.requests) < 10


async def test_deadline_shorter_than_retry_after(rest: DiscordRest, fake: FakeDiscord) -> None:
    fake.enqueue(
        "edit_original", Reply(429, {"message": "slow", "retry_after": 5, "global": False})
    )
    started = time.time()
    with pytest.raises(RateLimited) as info:
        await rest.edit_original(TOKEN, {"content": "x"}, deadline=started + 1)
    assert time.time() - started < 0.5
    assert info.value.retry_after == 5
    assert info.value.permanent is False
    assert len(fake.requests) == 1


async def test_deadline_already_passed_sends_nothing(rest: DiscordRest, fake: FakeDiscord) -> None:
    with pytest.raises(DeadlineExceeded):
        await rest.edit_original(TOKEN, {"content": "x"}, deadline=time.time() - 1)
    assert fake.requests == []


async def test_deadline_bounds_the_request_timeout(rest: DiscordRest, fake: FakeDiscord) -> None:
    fake.enqueue("edit_original", Reply(headers={}, delay_s=1.5))
    started = time.time()
    with pytest.raises(NetworkError) as info:
        await rest.edit_original(TOKEN, {"content": "x"}, deadline=started + 0.3)
    assert info.value.timeout is True
    assert time.time() - started < 0.6


async def test_read_timeout_on_followup_is_not_resent(
    make_rest: MakeRest, fake: FakeDiscord
) -> None:
    # The followup may have been created; sending it again would post a duplicate.
    rest = make_rest(timeout_s=0.2)
    fake.enqueue("create_followup", Reply(headers={}, delay_s=0.6))
    with pytest.raises(NetworkError):
        await rest.create_followup(TOKEN, {"content": "once"})
    assert len(fake.requests_for("create_followup")) == 1


async def test_read_timeout_on_edit_is_retried(make_rest: MakeRest, fake: FakeDiscord) -> None:
    rest = make_rest(timeout_s=0.2)
    fake.enqueue("edit_original", Reply(headers={}, delay_s=0.6))
    message = await rest.edit_original(TOKEN, {"content": "idempotent"})
    assert message["content"] == "idempotent"
    assert len(fake.requests_for("edit_original")) == 2


async def test_connection_refused_is_retried_then_network_error(make_rest: MakeRest) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    metrics = RecordingMetrics()
    rest = make_rest(base_url=f"http://127.0.0.1:{port}/api/v10", max_attempts=3, metrics=metrics)
    with pytest.raises(NetworkError) as info:
        await rest.create_followup(TOKEN, {"content": "x"})  # unsent: safe to retry a POST
    assert info.value.permanent is False
    assert info.value.timeout is False
    assert [status for _, status, _ in metrics.observed] == [0, 0, 0]


async def test_new_message_is_not_resent_after_a_5xx(rest: DiscordRest, fake: FakeDiscord) -> None:
    # A 502 from the proxy in front of Discord may come after the followup was posted: a second
    # POST could show the user the same message twice, so it is reported instead.
    fake.enqueue("create_followup", err(502))
    with pytest.raises(ServerError):
        await rest.create_followup(TOKEN, {"content": "once"})
    assert len(fake.requests_for("create_followup")) == 1
