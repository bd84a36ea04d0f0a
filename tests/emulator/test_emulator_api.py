"""The local Discord over loopback: signing, REST semantics, limits, expiry, rate limits and
the full deferred path through the real edge, worker and REST client."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nacl.signing import VerifyKey

from browser.demo_bot import chart_png, demo_registry
from catalyst_interactions.discord.rest import DiscordRest
from catalyst_interactions.discord.snowflake import snowflake_time_ms
from catalyst_interactions.emulator import BucketRule, RateLimitRules
from catalyst_interactions.emulator.world import ADMIN_ROLE_ID, GUILD_ID
from support.servers import serve_in_thread

from .conftest import Clock, Local, start_local
from .stub_endpoint import StubEndpoint, post_callback

pytestmark = pytest.mark.loopback

EPHEMERAL, LOADING = 1 << 6, 1 << 7
FIFTEEN_MINUTES = 15 * 60


def test_signature_verifies_independently_and_the_real_edge_accepts_it(local: Local) -> None:
    body = json.dumps(
        {"id": "1", "application_id": "1", "type": 1, "version": 1, "token": "t"}
    ).encode()
    headers = local.stack.emulator.sender.signed_headers(body)
    key = VerifyKey(bytes.fromhex(local.stack.emulator.public_key_hex))
    key.verify(
        headers["X-Signature-Timestamp"].encode() + body,
        bytes.fromhex(headers["X-Signature-Ed25519"]),
    )  # raises if wrong
    assert local.stack.settings is not None
    assert local.stack.settings.public_key_hex == local.stack.emulator.public_key_hex

    edge = local.stack.edge_url + "/interactions"
    assert httpx.post(edge, content=body, headers=headers).json() == {"type": 1}
    forged = dict(headers, **{"X-Signature-Ed25519": "00" * 64})
    assert httpx.post(edge, content=body, headers=forged).status_code == 401

    result = local.command("echo", text="hi")
    assert result["ok"] is True and result["response_type"] == 4
    assert local.store.messages[result["message_id"]]["content"] == "**hi**"


def test_interaction_payload_has_discords_fields(local: Local) -> None:
    before_ms = int(time.time() * 1000)
    result = local.command("echo", text="shape")
    payload = local.store.interactions[result["interaction_id"]].payload
    assert abs(snowflake_time_ms(payload["id"]) - before_ms) < 5000
    assert payload["version"] == 1 and payload["type"] == 2 and payload["context"] == 0
    assert payload["application_id"] == local.stack.emulator.world.application_id
    assert payload["guild_id"] == GUILD_ID == payload["guild"]["id"]
    assert payload["guild"]["locale"] == "en-US" and payload["guild"]["features"] == []
    assert payload["channel"]["id"] == payload["channel_id"] and payload["channel"]["type"] == 0
    assert payload["authorizing_integration_owners"] == {"0": GUILD_ID}
    assert payload["entitlements"] == [] and payload["attachment_size_limit"] == 10 * 1024 * 1024
    assert payload["locale"] == payload["guild_locale"] == "en-US"
    assert isinstance(payload["app_permissions"], str) and payload["app_permissions"].isdigit()
    member = payload["member"]
    assert set(member["user"]) >= {"id", "username", "global_name", "avatar"}
    assert isinstance(member["permissions"], str) and int(member["permissions"]) & 8 == 0
    assert ADMIN_ROLE_ID not in member["roles"] and member["joined_at"]
    assert len(payload["token"]) > 60
    data = payload["data"]
    assert data == {
        "id": local.command_id("echo"),
        "name": "echo",
        "type": 1,
        "options": [{"name": "text", "type": 3, "value": "shape"}],
    }


def test_admin_persona_is_an_admin_for_the_backend(local: Local) -> None:
    regular = local.command("whoami", persona="regular")
    admin = local.command("whoami", persona="admin")
    admin_member = local.store.interactions[admin["interaction_id"]].payload["member"]
    assert ADMIN_ROLE_ID in admin_member["roles"] and int(admin_member["permissions"]) & 8
    assert "a regular member" in local.store.messages[regular["message_id"]]["content"]
    message = local.store.messages[admin["message_id"]]
    assert "an admin" in message["content"] and message["flags"] & EPHEMERAL


def test_registration_went_through_the_real_bulk_overwrite(local: Local) -> None:
    app_id = local.stack.emulator.world.application_id
    response = local.api.get(f"/applications/{app_id}/commands", headers=local.bot_headers())
    assert response.status_code == 200
    stored = {c["name"]: c for c in response.json()}
    expected = {c["name"]: c for c in demo_registry().commands_json()}
    assert set(stored) == set(expected)
    for name, command in expected.items():
        assert {k: stored[name][k] for k in command} == command
        assert stored[name]["application_id"] == app_id and stored[name]["id"].isdigit()
    echo_times = next(o for o in stored["echo"]["options"] if o["name"] == "times")
    assert (echo_times["min_value"], echo_times["max_value"]) == (1, 3)

    refused = local.api.get(f"/applications/{app_id}/commands")
    assert refused.status_code == 401 and refused.json() == {
        "message": "401: Unauthorized",
        "code": 0,
    }


def test_over_limit_edit_is_refused_with_50035_and_changes_nothing(local: Local) -> None:
    result = local.command("echo", text="keep me")
    hook = local.hook(result["interaction_id"])
    response = local.api.patch(hook + "/messages/@original", json={"content": "x" * 2001})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 50035 and body["message"] == "Invalid Form Body"
    assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"

    embed = local.api.patch(hook + "/messages/@original", json={"embeds": [{"title": "t" * 257}]})
    assert embed.status_code == 400
    assert "title" in embed.json()["errors"]["embeds"]["0"]

    original = local.api.get(hook + "/messages/@original").json()
    assert original["content"] == "**keep me**" and original["edited_timestamp"] is None
    edited = local.api.patch(hook + "/messages/@original", json={"content": "x" * 2000})
    assert edited.status_code == 200 and edited.json()["edited_timestamp"] is not None


def test_unknown_message_is_10008(local: Local) -> None:
    result = local.command("echo", text="hello")
    response = local.api.get(local.hook(result["interaction_id"]) + "/messages/1234567890")
    assert response.status_code == 404 and response.json()["code"] == 10008
    deleted = local.api.delete(local.hook(result["interaction_id"]) + "/messages/@original")
    assert deleted.status_code == 204
    gone = local.api.get(local.hook(result["interaction_id"]) + "/messages/@original")
    assert gone.status_code == 404 and gone.json()["code"] == 10008


def test_token_dies_after_fifteen_minutes(local: Local, clock: Clock) -> None:
    result = local.command("echo", text="soon stale")
    hook = local.hook(result["interaction_id"])
    clock.offset = FIFTEEN_MINUTES - 5
    assert local.api.get(hook + "/messages/@original").status_code == 200
    clock.offset = FIFTEEN_MINUTES + 1
    for response in (
        local.api.get(hook + "/messages/@original"),
        local.api.patch(hook + "/messages/@original", json={"content": "late"}),
        local.api.post(hook, json={"content": "late followup"}),
    ):
        assert response.status_code == 401
        assert response.json() == {"message": "Invalid Webhook Token", "code": 50027}


def test_second_callback_is_already_acknowledged(local: Local) -> None:
    result = local.command("echo", text="once")
    url = (
        f"/interactions/{result['interaction_id']}/{local.token(result['interaction_id'])}/callback"
    )
    response = local.api.post(url, json={"type": 4, "data": {"content": "twice"}})
    assert response.status_code == 400 and response.json()["code"] == 40060


def test_followup_is_created_and_ephemeral_flag_kept(local: Local) -> None:
    result = local.command("echo", text="base")
    hook = local.hook(result["interaction_id"])
    response = local.api.post(hook, json={"content": "secret", "flags": EPHEMERAL})
    assert response.status_code == 200
    followup = response.json()
    assert followup["flags"] & EPHEMERAL and followup["id"] != result["message_id"]
    meta = followup["interaction_metadata"]
    assert meta["original_response_message_id"] == result["message_id"]
    assert local.api.get(f"{hook}/messages/{followup['id']}").json()["content"] == "secret"


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    rules = RateLimitRules(webhook=BucketRule("webhook", 2, 30.0))
    yield from start_local(tmp_path_factory.mktemp("tight"), rate_limits=rules)


def test_rate_limit_headers_then_429_then_a_new_window(tight: Local) -> None:
    result = tight.command("echo", text="limits")
    url = tight.hook(result["interaction_id"]) + "/messages/@original"
    first, second, third = (tight.api.get(url) for _ in range(3))
    assert first.status_code == second.status_code == 200
    assert first.headers["x-ratelimit-limit"] == "2"
    assert (first.headers["x-ratelimit-remaining"], second.headers["x-ratelimit-remaining"]) == (
        "1",
        "0",
    )
    assert first.headers["x-ratelimit-bucket"] == second.headers["x-ratelimit-bucket"]
    assert 0 < float(first.headers["x-ratelimit-reset-after"]) <= 30
    assert (
        abs(
            float(first.headers["x-ratelimit-reset"])
            - (tight.clock() + float(first.headers["x-ratelimit-reset-after"]))
        )
        < 1
    )
    assert third.status_code == 429
    body = third.json()
    assert body["global"] is False and 0 < body["retry_after"] <= 30
    assert third.headers["x-ratelimit-scope"] == "user"
    assert int(third.headers["retry-after"]) >= 1
    tight.clock.offset = 31  # the window is over
    try:
        again = tight.api.get(url)
        assert again.status_code == 200 and again.headers["x-ratelimit-remaining"] == "1"
    finally:
        tight.clock.offset = 0


def test_deferred_command_round_trip_through_edge_worker_and_rest(local: Local) -> None:
    since = local.page.get("/ui/state").json()["seq"]
    result = local.command("quote", ticker="nvda")
    assert result["ok"] is True and result["response_type"] == 5
    message_id = result["message_id"]

    def delivered(event: dict[str, Any]) -> bool:
        data = event["data"]
        return (
            event["kind"] == "message_update"
            and data["id"] == message_id
            and not data["flags"] & LOADING
        )

    message = local.wait_for(delivered, since)["data"]
    embed = message["embeds"][0]
    assert embed["title"] == "NVDA · 1D"
    assert embed["image"]["url"] == message["attachments"][0]["url"]
    assert embed["image"]["url"].startswith(local.stack.url + "/attachments/")
    image = httpx.get(embed["image"]["url"])
    assert image.headers["content-type"] == "image/png"
    assert image.content == chart_png(sum(map(ord, "NVDA1Dnone")))
    assert message["interaction_metadata"]["name"] == "quote"
    assert [b.get("label") for b in message["components"][0]["components"]] == [
        "1D",
        "5D",
        "1M",
        "Details",
    ]

    # An inline component answer with a file (multipart HTTP answer, type 7) ...
    select = message["components"][1]["components"][0]
    picked = local.interact(
        kind="component",
        persona="regular",
        message_id=message_id,
        custom_id=select["custom_id"],
        values=["rsi"],
    )
    assert picked["ok"] is True and picked["response_type"] == 7
    updated = local.store.messages[message_id]
    assert "`rsi`" in updated["embeds"][0]["description"]
    assert httpx.get(embed["image"]["url"]).status_code == 404  # replaced, bytes dropped
    component_payload = local.store.interactions[picked["interaction_id"]].payload
    assert component_payload["message"]["id"] == message_id
    assert component_payload["data"] == {
        "custom_id": select["custom_id"],
        "component_type": 3,
        "values": ["rsi"],
    }

    # ... and a deferred one (type 6, then the worker edits the clicked message).
    since = local.page.get("/ui/state").json()["seq"]
    clicked = local.interact(
        kind="component", persona="regular", message_id=message_id, custom_id="tf:NVDA:5D"
    )
    assert clicked["ok"] is True and clicked["response_type"] == 6
    event = local.wait_for(
        lambda e: (
            e["kind"] == "message_update"
            and e["data"]["id"] == message_id
            and e["data"]["embeds"][0]["title"] == "NVDA · 5D"
        ),
        since,
    )
    assert event["data"]["flags"] & LOADING == 0


def test_modal_opens_and_its_submit_is_answered(local: Local) -> None:
    opened = local.command("feedback")
    assert opened["ok"] is True and opened["response_type"] == 9
    modal = opened["modal"]
    assert modal["custom_id"] == "fb:general" and modal["title"] == "Send feedback"
    assert [c["type"] for c in modal["components"]] == [18, 18]
    assert all(isinstance(c["id"], int) for c in modal["components"])

    missing = local.page.post(
        "/ui/interactions",
        json={
            "kind": "modal",
            "persona": "regular",
            "interaction_id": opened["interaction_id"],
            "values": {"subject": ""},
        },
    )
    assert missing.status_code == 400 and "Subject is required" in missing.json()["error"]

    sent = local.interact(
        kind="modal",
        persona="regular",
        interaction_id=opened["interaction_id"],
        values={"subject": "Hello", "body": ""},
    )
    assert sent["ok"] is True and sent["response_type"] == 4
    reply = local.store.messages[sent["message_id"]]
    assert reply["content"] == "Thanks Riley! Got “Hello” (general)."
    assert reply["flags"] & EPHEMERAL
    data = local.store.interactions[sent["interaction_id"]].payload["data"]
    assert data["components"][0]["component"] == {
        "type": 4,
        "id": modal["components"][0]["component"]["id"],
        "custom_id": "subject",
        "value": "Hello",
    }


def test_handler_error_reaches_the_user_as_an_ephemeral_answer(local: Local) -> None:
    result = local.command("boom")
    assert result["ok"] is True
    message = local.store.messages[result["message_id"]]
    assert message["content"].startswith("Something went wrong") and message["flags"] & EPHEMERAL


def test_client_refuses_what_discords_client_refuses(local: Local) -> None:
    command_id = local.command_id("echo")
    for options, why in (
        ({"text": "x", "times": 5}, "at most 3"),
        ({"times": 1}, "`text` is required"),
    ):
        response = local.page.post(
            "/ui/interactions",
            json={
                "kind": "command",
                "command_id": command_id,
                "path": ["echo"],
                "options": options,
            },
        )
        assert response.status_code == 400 and why in response.json()["error"]


def set_endpoint(local: Local, url: str) -> None:
    """PATCH /applications/@me with the real REST client (it waits out a 429)."""

    async def patch() -> None:
        async with DiscordRest(
            base_url=local.stack.api_base,
            application_id=local.stack.emulator.world.application_id,
            bot_token=local.stack.emulator.bot_token,
        ) as rest:
            await rest.edit_application({"interactions_endpoint_url": url})

    asyncio.run(patch())


@pytest.fixture
def stub(local: Local) -> Iterator[StubEndpoint]:
    """Point the application at a programmable endpoint (through PATCH /applications/@me,
    which makes the emulator verify it), and back at the real edge afterwards."""
    endpoint = StubEndpoint(local.stack.emulator.public_key_hex)
    with serve_in_thread(endpoint) as url:
        set_endpoint(local, url + "/")
        try:
            yield endpoint
        finally:
            set_endpoint(local, local.stack.edge_url + "/interactions")


def test_endpoint_that_accepts_forged_signatures_is_refused(local: Local) -> None:
    async def lenient(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"type":1}'})

    with serve_in_thread(lenient) as url:
        response = local.api.patch(
            "/applications/@me",
            headers=local.bot_headers(),
            json={"interactions_endpoint_url": url},
        )
    assert response.status_code == 400
    error = response.json()["errors"]["interactions_endpoint_url"]["_errors"][0]
    assert "invalid signature got HTTP 200" in error["message"]


def test_invalid_or_missing_answers_are_the_application_did_not_respond(
    local: Local, stub: StubEndpoint
) -> None:
    async def too_long(payload: dict[str, Any]) -> tuple[int, bytes]:
        return 200, json.dumps({"type": 4, "data": {"content": "x" * 2001}}).encode()

    async def server_error(payload: dict[str, Any]) -> tuple[int, bytes]:
        return 500, b'{"error":"boom"}'

    async def slow(payload: dict[str, Any]) -> tuple[int, bytes]:
        await asyncio.sleep(3.5)
        return 200, b'{"type":4,"data":{"content":"too late"}}'

    for answer, why in (
        (too_long, "data.content: Must be 2000 or fewer in length"),
        (server_error, "HTTP 500"),
        (slow, "no answer within 3 s"),
    ):
        stub.answer = answer
        result = local.command("echo", text="x")
        assert result["ok"] is False
        assert result["error"] == "The application did not respond"
        assert why in result["detail"]
        record = local.store.interactions[result["interaction_id"]]
        late = local.api.post(
            f"/interactions/{record.id}/{record.token}/callback",
            json={"type": 4, "data": {"content": "late"}},
        )
        assert late.status_code == 404 and late.json()["code"] == 10062


def test_202_then_rest_callback_with_response(local: Local, stub: StubEndpoint) -> None:
    replies: list[httpx.Response] = []
    replied = threading.Event()

    async def accept_then_call_back(payload: dict[str, Any]) -> tuple[int, bytes]:
        async def call_back() -> None:
            replies.append(
                await post_callback(
                    local.stack.api_base, payload, {"type": 4, "data": {"content": "via REST"}}
                )
            )
            replied.set()

        stub.later(call_back())
        return 202, b""

    stub.answer = accept_then_call_back
    result = local.command("echo", text="x")
    assert result["ok"] is True and result["response_type"] == 4
    assert local.store.messages[result["message_id"]]["content"] == "via REST"
    assert replied.wait(5)
    assert replies[0].status_code == 200
    body = replies[0].json()
    assert body["interaction"]["response_message_id"] == result["message_id"]
    assert body["resource"]["message"]["content"] == "via REST"


def test_user_and_attachment_options_arrive_resolved(local: Local) -> None:
    from catalyst_interactions.emulator.world import OTHER_USER_ID

    greeted = local.command("greet", who=OTHER_USER_ID)
    assert local.store.messages[greeted["message_id"]]["content"] == (
        f"Hello Casey (<@{OTHER_USER_ID}>)!"
    )
    resolved = local.store.interactions[greeted["interaction_id"]].payload["data"]["resolved"]
    assert resolved["users"][OTHER_USER_ID]["username"] == "casey"
    assert "user" not in resolved["members"][OTHER_USER_ID]

    data = b"col1,col2\n1,2\n"
    sent = local.interact(
        kind="command",
        command_id=local.command_id("upload"),
        path=["upload"],
        options={},
        files={
            "file": {
                "filename": "t.csv",
                "content_type": "text/csv",
                "data": base64.b64encode(data).decode(),
            }
        },
    )
    assert sent["ok"] is True, sent
    assert local.store.messages[sent["message_id"]]["content"] == "t.csv: 14 bytes, text/csv"
    attachment = next(
        iter(
            local.store.interactions[sent["interaction_id"]]
            .payload["data"]["resolved"]["attachments"]
            .values()
        )
    )
    assert httpx.get(attachment["url"]).content == data


def test_page_and_static_files_are_served(local: Local) -> None:
    page = local.page.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for name in ("app.js", "render.js", "composer.js", "style.css"):
        assert local.page.get(f"/static/{name}").status_code == 200
    assert local.page.get("/static/../app.py").status_code == 404
    assert (
        local.page.post(
            "/ui/interactions", content=b"{}", headers={"Content-Type": "text/plain"}
        ).status_code
        == 415
    )


def test_state_lists_messages_and_commands(local: Local, tmp_path: Path) -> None:
    state = local.page.get("/ui/state").json()
    assert {c["name"] for c in state["commands"]} >= {"echo", "quote", "feedback"}
    assert state["personas"] == ["regular", "admin"]
    assert all(m["channel_id"] for m in state["messages"])


def test_channel_messages_need_the_bot_token_and_a_known_channel(local: Local) -> None:
    alerts = local.stack.emulator.world.channels[1]["id"]
    created = local.api.post(
        f"/channels/{alerts}/messages",
        headers=local.bot_headers(),
        json={"content": "AAPL crossed $200", "flags": EPHEMERAL},
    )
    assert created.status_code == 200
    message = created.json()
    assert message["channel_id"] == alerts and message["flags"] & EPHEMERAL == 0
    assert message["author"]["bot"] is True and "interaction_metadata" not in message
    edited = local.api.patch(
        f"/channels/{alerts}/messages/{message['id']}",
        headers=local.bot_headers(),
        json={"content": "AAPL at $201"},
    )
    assert edited.status_code == 200 and edited.json()["content"] == "AAPL at $201"
    assert local.store.messages[message["id"]]["content"] == "AAPL at $201"

    anonymous = local.api.post(f"/channels/{alerts}/messages", json={"content": "x"})
    assert anonymous.status_code == 401
    unknown = local.api.post(
        "/channels/42/messages", headers=local.bot_headers(), json={"content": "x"}
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == 10003
    empty = local.api.post(f"/channels/{alerts}/messages", headers=local.bot_headers(), json={})
    assert empty.status_code == 400 and empty.json()["code"] == 50006


# -- DNS rebinding: only loopback names, and writes only from loopback origins -----------------
def test_foreign_host_names_are_refused(local: Local) -> None:
    """A page on attacker.example that re-points its name at 127.0.0.1 sends that name in
    Host: the local Discord does not answer it, on the page or on the REST API."""
    port = local.stack.url.rsplit(":", 1)[1]
    for path in ("/", "/ui/state", "/api/v10/applications/@me"):
        refused = local.page.get(path, headers={"Host": f"attacker.example:{port}"})
        assert refused.status_code == 403, path
        assert "only on loopback" in refused.json()["message"]
    assert local.page.get("/", headers={"Host": "192.168.1.20"}).status_code == 403
    for name in (f"127.0.0.1:{port}", f"localhost:{port}", "127.8.9.10", f"[::1]:{port}"):
        assert local.page.get("/ui/state", headers={"Host": name}).status_code == 200, name


def test_writes_from_another_origin_are_refused(local: Local) -> None:
    port = local.stack.url.rsplit(":", 1)[1]
    command_id = local.command_id("whoami")
    before = local.seq()
    body = {
        "kind": "command",
        "persona": "regular",
        "command_id": command_id,
        "path": ["whoami"],
        "options": {},
    }
    for origin in ("http://attacker.example", "null", f"http://attacker.example:{port}"):
        refused = local.page.post("/ui/interactions", json=body, headers={"Origin": origin})
        assert refused.status_code == 403, origin
        assert refused.json()["message"] == "Cross-site request refused."
    assert local.seq() == before  # nothing was sent
    # The page itself (same origin) and clients that send no Origin still work.
    ok = local.page.post(
        "/ui/interactions", json=body, headers={"Origin": f"http://127.0.0.1:{port}"}
    )
    assert ok.status_code == 200, ok.text
    # Reads carry no risk of an effect and are not checked for Origin.
    assert local.page.get("/ui/state", headers={"Origin": "http://attacker.example"}).is_success


def test_every_event_stream_starts_by_naming_the_server_instance(local: Local) -> None:
    """The page compares this with /ui/state's to notice a restarted server."""
    instance = local.page.get("/ui/state").json()["instance"]
    assert isinstance(instance, str) and len(instance) == 16
    with local.page.stream("GET", "/ui/events", timeout=httpx.Timeout(5)) as stream:
        lines = []
        for line in stream.iter_lines():
            lines.append(line)
            if line.startswith("data: "):
                break
    assert lines[-2:] == ["event: hello", f'data: {{"instance": "{instance}"}}']


# -- the bot's replies meet Discord's rules as the emulator reads them ------------------------
# A reply the bot should never produce is refused the way Discord refuses it: 400, code 50035,
# and the nested `errors` naming the field and Discord's error code.

BAD_ROW = {
    "type": 1,
    "components": [
        {"type": 2, "style": 1, "label": "1D", "custom_id": "tf"},
        {"type": 3, "custom_id": "pick", "options": [{"label": "A", "value": "a"}]},
    ],
}


@pytest.mark.parametrize(
    ("method", "where", "body", "path", "code"),
    [
        ("post", "", {"content": "x" * 2001}, ("content",), "BASE_TYPE_MAX_LENGTH"),
        ("post", "", {"content": "x", "flags": LOADING}, ("flags",), "MESSAGE_FLAGS_INVALID"),
        (
            "patch",
            "/messages/@original",
            {"content": "x", "flags": EPHEMERAL},
            ("flags",),
            "MESSAGE_FLAGS_INVALID",
        ),
        (
            "patch",
            "/messages/@original",
            {"components": [BAD_ROW]},
            ("components", "0", "components"),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
        ),
        (
            "patch",
            "/messages/@original",
            {"components": [{"type": 1, "components": [{"type": 2, "style": 7}]}]},
            ("components", "0", "components", "0", "style"),
            "BASE_TYPE_CHOICES",
        ),
        (
            "patch",
            "/messages/@original",
            {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]},
            ("embeds",),
            "BASE_TYPE_MAX_LENGTH",
        ),
    ],
)
def test_replies_discord_refuses_get_its_400_and_change_nothing(
    local: Local, method: str, where: str, body: dict[str, Any], path: tuple[str, ...], code: str
) -> None:
    result = local.command("echo", text="stays")
    hook = local.hook(result["interaction_id"])
    response = local.api.request(method.upper(), hook + where, json=body)
    assert response.status_code == 400
    answer = response.json()
    assert (answer["code"], answer["message"]) == (50035, "Invalid Form Body")
    node = answer["errors"]
    for key in path:
        node = node[key]
    assert node["_errors"][0]["code"] == code and node["_errors"][0]["message"]
    assert local.api.get(hook + "/messages/@original").json()["content"] == "**stays**"
    assert len(local.store.interactions[result["interaction_id"]].followup_ids) == 0


def test_an_http_answer_discord_refuses_is_the_application_did_not_respond(
    local: Local, stub: StubEndpoint
) -> None:
    async def bad_components(payload: dict[str, Any]) -> tuple[int, bytes]:
        return 200, json.dumps({"type": 4, "data": {"components": [BAD_ROW]}}).encode()

    async def update_a_command(payload: dict[str, Any]) -> tuple[int, bytes]:
        return 200, json.dumps({"type": 7, "data": {"content": "x"}}).encode()

    for answer, why in (
        (bad_components, "data.components[0].components: A select menu must be alone"),
        (update_a_command, "type: Response type 7 (UPDATE_MESSAGE) cannot answer"),
    ):
        stub.answer = answer
        result = local.command("echo", text="x")
        assert result["ok"] is False and result["error"] == "The application did not respond"
        assert why in result["detail"], result["detail"]


def test_command_registration_discord_refuses_is_a_400_naming_the_command(local: Local) -> None:
    app_id = local.stack.emulator.world.application_id
    commands = [
        {"name": "Chart", "description": "Show a chart"},
        {"name": "quote", "description": "A quote", "options": [{"type": 3, "name": "t"}]},
    ]
    response = local.api.put(
        f"/applications/{app_id}/commands", headers=local.bot_headers(), json=commands
    )
    assert response.status_code == 400 and response.json()["code"] == 50035
    errors = response.json()["errors"]
    # The schema's finding comes first; the rules run on a body the schema accepts.
    assert errors["1"]["options"]["0"]["description"]["_errors"][0]["code"] == (
        "BASE_TYPE_REQUIRED"
    )
    commands[1]["options"][0]["description"] = "Ticker"
    response = local.api.put(
        f"/applications/{app_id}/commands", headers=local.bot_headers(), json=commands
    )
    assert response.status_code == 400
    name_error = response.json()["errors"]["0"]["name"]["_errors"][0]
    assert name_error["code"] == "APPLICATION_COMMAND_INVALID_NAME"
    stored = local.api.get(f"/applications/{app_id}/commands", headers=local.bot_headers())
    assert "Chart" not in {c["name"] for c in stored.json()}


def test_odd_but_valid_bodies_are_served_not_a_500(local: Local) -> None:
    """The spec allows a null command type and JSON may spell 64 as 64.0."""
    app_id = local.stack.emulator.world.application_id
    url = f"/applications/{app_id}/guilds/{GUILD_ID}/commands"
    null_type = [{"name": "oddity", "type": None, "description": "A null type is CHAT_INPUT"}]
    stored = local.api.put(url, headers=local.bot_headers(), json=null_type)
    try:
        assert stored.status_code == 200, stored.text
        assert stored.json()[0]["type"] == 1
    finally:
        assert local.api.put(url, headers=local.bot_headers(), json=[]).status_code == 200
    result = local.command("echo", text="float flags")
    hook = local.hook(result["interaction_id"])
    followup = local.api.post(hook, json={"content": "quiet", "flags": 64.0})
    assert followup.status_code == 200 and followup.json()["flags"] & EPHEMERAL
