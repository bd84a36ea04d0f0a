"""Black-box HTTP tests of POST /interactions against a real server on loopback.

Every error in docs/design.md's list ("Contracts"), with real Ed25519 signatures.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from catalyst_interactions.logs import JsonFormatter
from support.discord_rules import answer_problems
from support.signing import Signer, command, ping

pytestmark = pytest.mark.loopback


def post(client: httpx.Client, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.post("/interactions", content=body, headers=headers)


def assert_clean_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert isinstance(payload["error"], str) and payload["error"]
    assert "Traceback" not in response.text


def test_signed_ping_gets_pong(client: httpx.Client, signer: Signer) -> None:
    response = post(client, *signer.signed(ping()))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"type": 1}


def test_ping_is_not_deduplicated(client: httpx.Client, signer: Signer) -> None:
    body, headers = signer.signed(ping())
    assert post(client, body, headers).status_code == 200
    assert post(client, body, headers).json() == {"type": 1}


def test_help_answers_inline_with_a_valid_ephemeral_embed(
    client: httpx.Client, signer: Signer
) -> None:
    response = post(client, *signer.signed(command("help")))
    assert response.status_code == 200
    reply = response.json()
    assert answer_problems(reply, 2) == []  # a command (type 2)
    assert reply["type"] == 4
    assert reply["data"]["flags"] & 64
    names = [f["name"] for f in reply["data"]["embeds"][0]["fields"]]
    assert "/help" in names


@pytest.mark.parametrize("drop", ["X-Signature-Ed25519", "X-Signature-Timestamp", "both"])
def test_missing_signature_headers_are_401(client: httpx.Client, signer: Signer, drop: str) -> None:
    body, headers = signer.signed(ping())
    for name in ("X-Signature-Ed25519", "X-Signature-Timestamp"):
        if drop in (name, "both"):
            del headers[name]
    assert_clean_error(post(client, body, headers), 401)


def test_signature_from_another_key_is_401(client: httpx.Client, signer: Signer) -> None:
    from nacl.signing import SigningKey

    body, headers = Signer(SigningKey.generate()).signed(ping())
    assert_clean_error(post(client, body, headers), 401)


def test_tampered_body_is_401(client: httpx.Client, signer: Signer) -> None:
    body, headers = signer.signed(command("help"))
    assert_clean_error(post(client, body.replace(b'"help"', b'"hElp"'), headers), 401)


@pytest.mark.parametrize(
    "signature",
    ["zz" * 64, "ab" * 63, "ab" * 65, "", "é" * 64, "0x" + "ab" * 63, "00 " * 42 + "00"],
    ids=["not-hex", "short", "long", "empty", "non-ascii", "prefixed", "spaced-hex"],
)
def test_malformed_signature_hex_is_401(
    client: httpx.Client, signer: Signer, signature: str
) -> None:
    body, headers = signer.signed(ping())
    headers["X-Signature-Ed25519"] = signature
    response = client.post(
        "/interactions", content=body, headers={k: v.encode() for k, v in headers.items()}
    )
    assert_clean_error(response, 401)


@pytest.mark.parametrize("offset", [-301, -3600, 301, 86400])
def test_timestamp_outside_the_window_is_401(
    client: httpx.Client, signer: Signer, offset: int
) -> None:
    body, headers = signer.signed(ping(), timestamp=int(time.time()) + offset)
    assert_clean_error(post(client, body, headers), 401)


def test_timestamp_inside_the_window_is_accepted(client: httpx.Client, signer: Signer) -> None:
    body, headers = signer.signed(ping(), timestamp=int(time.time()) - 280)
    assert post(client, body, headers).json() == {"type": 1}


@pytest.mark.parametrize("timestamp", ["abc", "-5", "1.5", "9" * 40])
def test_non_numeric_timestamp_is_401(client: httpx.Client, signer: Signer, timestamp: str) -> None:
    body = json.dumps(ping()).encode()
    headers = signer.headers(body)
    # Sign with the odd timestamp too, so only the format can be the reason for refusal.
    headers["X-Signature-Timestamp"] = timestamp
    headers["X-Signature-Ed25519"] = signer.key.sign(timestamp.encode() + body).signature.hex()
    assert_clean_error(post(client, body, headers), 401)


def test_replayed_interaction_id_is_409_and_runs_nothing(
    client: httpx.Client, signer: Signer
) -> None:
    payload = command("help")
    first = post(client, *signer.signed(payload))
    assert first.status_code == 200
    # Same id, freshly signed (a captured request re-sent, or Discord retrying).
    second = post(client, *signer.signed(payload))
    assert_clean_error(second, 409)
    metrics = client.get("/metrics").text
    assert 'catalyst_interaction_requests_rejected_total{reason="replay"} 1.0' in metrics
    assert 'handler="command:help",outcome="ok",type="application_command"} 1.0' in metrics


def test_body_over_the_cap_is_413(client: httpx.Client, signer: Signer) -> None:
    payload = ping() | {"padding": "x" * (64 * 1024)}
    assert_clean_error(post(client, *signer.signed(payload)), 413)


def test_streamed_body_over_the_cap_is_413_without_content_length(
    client: httpx.Client, signer: Signer
) -> None:
    body, headers = signer.signed(ping() | {"padding": "x" * (200 * 1024)})

    def chunks():
        for i in range(0, len(body), 8192):
            yield body[i : i + 8192]

    response = client.post("/interactions", content=chunks(), headers=headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_clean_error(response, 413)


def test_streamed_body_under_the_cap_is_joined_whole(client: httpx.Client, signer: Signer) -> None:
    # Several ASGI body messages: every chunk must reach the signature check, in order.
    body, headers = signer.signed(ping() | {"padding": "x" * (20 * 1024)})

    def chunks():
        for i in range(0, len(body), 4096):
            yield body[i : i + 4096]
            time.sleep(0.02)  # apart on the wire, so the server receives them apart

    response = client.post("/interactions", content=chunks(), headers=headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 200
    assert response.json() == {"type": 1}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'"text"',
        b"",
        b'{"type":1}',
        b'{"id":"1","application_id":"1","type":99}',
        b'{"id":"1","application_id":"1","type":"2"}',
    ],
    ids=["broken", "array", "string", "empty", "no-id", "unknown-type", "type-as-string"],
)
def test_malformed_or_unknown_payload_is_400(
    client: httpx.Client, signer: Signer, body: bytes
) -> None:
    assert_clean_error(post(client, body, signer.headers(body)), 400)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405(client: httpx.Client, method: str) -> None:
    response = client.request(method, "/interactions")
    assert_clean_error(response, 405)
    assert response.headers["allow"] == "POST"


def test_operational_routes(client: httpx.Client, signer: Signer) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}
    page = client.get("/")
    assert page.status_code == 200 and "POST /interactions" in page.text
    assert_clean_error(client.get("/nope"), 404)
    post(client, b"{}", {"X-Signature-Ed25519": "ab" * 64, "X-Signature-Timestamp": "1"})
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert (
        'catalyst_interaction_requests_rejected_total{reason="bad_signature"} 1.0' in metrics.text
    )


def test_unknown_command_gets_a_clear_ephemeral_answer(
    client: httpx.Client, signer: Signer
) -> None:
    reply = post(client, *signer.signed(command("no-such-command"))).json()
    assert reply["type"] == 4 and reply["data"]["flags"] == 64
    assert "/no-such-command" in reply["data"]["content"]


def test_secrets_do_not_reach_logs_or_metrics(
    client: httpx.Client, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    payload = command("help")
    post(client, *signer.signed(payload))
    post(client, *signer.signed(payload))  # replay: logged as a warning
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(r) for r in caplog.records)
    assert f'"interaction_id":"{payload["id"]}"' in logged  # the correlation id is there ...
    assert payload["token"] not in logged + client.get("/metrics").text  # ... the token is not


def test_replay_memory_outage_fails_open_instead_of_500(signer: Signer, tmp_path) -> None:
    from catalyst_interactions.settings import Settings
    from support.edge import edge_runtime
    from support.servers import serve_in_thread

    # Nothing listens on port 1: the shared replay memory is down.
    settings = Settings(
        public_key_hex=signer.public_key_hex,
        application_id="1",
        data_dir=tmp_path,
        redis_url="redis://127.0.0.1:1/0",
    )
    with serve_in_thread(edge_runtime(settings).app) as url, httpx.Client(base_url=url) as c:
        response = post(c, *signer.signed(command("help")))
        assert response.status_code == 200
        assert response.json()["type"] == 4
        assert 'reason="replay_memory_unavailable"} 1.0' in c.get("/metrics").text
