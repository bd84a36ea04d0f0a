"""The Worker in workerd, in front of the real backend: verify, answer, defer, hand over, tell.

Expected answers are written out here from Discord's rules and the test registry, never
read back from the Worker's code.
"""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest
from nacl.signing import SigningKey

from support.signing import Signer, command, component, member, ping

from .conftest import BUDGET_MS, SLOW_S, Stack

pytestmark = [pytest.mark.loopback, pytest.mark.workerd]

UNAVAILABLE = "The service is unavailable right now"


def ticker(name: str, value: str) -> dict[str, object]:
    return command(name, [{"name": "ticker", "type": 3, "value": value}])


# -- verification (same rules as the Python edge) --------------------------------------------


def test_signed_ping_is_answered_with_pong(cf: Stack) -> None:
    response = cf.send("edge", ping())
    assert response.status_code == 200
    assert response.json() == {"type": 1}
    assert response.headers["content-type"].startswith("application/json")


def test_signature_from_another_key_is_401(cf: Stack) -> None:
    impostor = Signer(SigningKey.generate())
    body, headers = impostor.signed(ping())
    response = cf.post("edge", body, headers)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid request signature"}


def test_tampered_body_is_401(cf: Stack) -> None:
    body, headers = cf.signer.signed(ticker("quote", "AAPL"))
    assert cf.post("edge", body.replace(b"AAPL", b"MSFT"), headers).status_code == 401


def test_stale_timestamp_is_401_even_when_correctly_signed(cf: Stack) -> None:
    response = cf.send("edge", ping(), timestamp=int(time.time()) - 301 - 5)
    assert response.status_code == 401
    assert response.json() == {"error": "request timestamp outside the allowed window"}


def test_missing_headers_malformed_json_oversize_and_method(cf: Stack) -> None:
    assert cf.client.post(f"{cf.urls['edge']}/interactions", content=b"{}").status_code == 401
    body = b"{not json"
    assert cf.post("edge", body, cf.signer.headers(body)).status_code == 400
    big = b" " * (1024 * 1024 + 1)
    assert cf.post("edge", big, cf.signer.headers(big)).status_code == 413
    unknown = json.dumps({"type": 42, "id": "1"}).encode()
    assert cf.post("edge", unknown, cf.signer.headers(unknown)).status_code == 400
    got = cf.client.get(f"{cf.urls['edge']}/interactions")
    assert got.status_code == 405 and got.headers["allow"] == "POST"


def test_a_chunked_body_is_refused_at_the_cap_without_reading_the_rest(cf: Stack) -> None:
    """A chunked body declares no length. The client sends just past the cap and then stalls
    without ending the body: a Worker that read the body whole before checking would wait for
    the end (and time out here); one that stops at the cap answers 413 at once."""
    parts = urlsplit(cf.urls["edge"])
    chunk = b"a" * 65536
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = (
            f"POST /interactions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            f"X-Signature-Ed25519: {'0' * 128}\r\nX-Signature-Timestamp: 1\r\n\r\n"
        )
        sock.sendall(head.encode())
        sent = 0
        while sent <= 1024 * 1024:
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sent += len(chunk)
        # No terminating chunk: the body never ends.
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(4096)
            assert data, "connection closed without an answer"
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


# -- answers ------------------------------------------------------------------------------------


def test_help_is_answered_at_the_edge_even_without_a_backend(cf: Stack) -> None:
    # The "down" Worker cannot reach any backend: the answer can only be the static one.
    response = cf.send("down", command("help"))
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == 4
    assert body["data"]["content"] == "help from the backend"
    assert cf.fake.requests == []


def test_inline_command_is_forwarded_and_its_answer_returned(cf: Stack) -> None:
    response = cf.send("edge", ticker("quote", "nvda"))
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == 4
    assert body["data"]["content"] == "NVDA last 101.25"
    assert cf.fake.requests == []  # answered in the HTTP response, no REST call


def test_deferred_command_acks_5_then_the_edit_arrives(cf: Stack) -> None:
    payload = ticker("render", "AMD")
    started = time.monotonic()
    response = cf.send("edge", payload)
    assert response.status_code == 200 and response.json() == {"type": 5}
    assert time.monotonic() - started < BUDGET_MS / 1000  # acknowledged at once
    cf.fake.wait_for_requests(1, "edit_original")
    edit = cf.fake.requests_for("edit_original")[0]
    assert edit.path == f"/webhooks/{cf.fake.application_id}/{payload['token']}/messages/@original"
    assert edit.json["embeds"][0]["title"] == "AMD chart"
    assert edit.json["components"][0]["components"][0]["custom_id"] == "tf:AMD:5D"


def test_deferred_component_acks_6_then_the_clicked_message_is_edited(cf: Stack) -> None:
    response = cf.send("edge", component("tf:TSLA:1Y"))
    assert response.json() == {"type": 6}
    cf.fake.wait_for_requests(1, "edit_original")
    assert cf.fake.requests_for("edit_original")[0].json["content"] == "TSLA 1Y"


def test_slow_inline_handler_falls_back_to_a_deferred_answer_with_one_message(cf: Stack) -> None:
    before = cf.calls.runs.count("slow")
    payload = ticker("slow", "SPY")
    started = time.monotonic()
    response = cf.send("edge", payload)
    elapsed = time.monotonic() - started
    assert response.json() == {"type": 5}
    assert elapsed < SLOW_S  # the Worker did not wait for the handler
    cf.fake.wait_for_requests(1, "edit_original")
    assert cf.fake.requests_for("edit_original")[0].json["content"] == "slow answer for SPY"
    # Both runs (the abandoned inline one and the handed-over job) finish; the user still
    # ends with exactly one message: the edit of the deferred answer.
    cf.calls.wait_for("slow", before + 2)
    cf.fake.wait_for_requests(1, "edit_original")
    routes = [r.route for r in cf.fake.requests]
    assert routes == ["edit_original"]


def test_handed_over_work_still_passes_the_backend_checks(cf: Stack) -> None:
    # An ephemeral deferred command (the ack JSON's key order differs between JS and Python)
    # from a regular member: the Worker acknowledges at once, the backend's admin check
    # refuses the hand-over, and the user reads the refusal in place of "thinking…".
    before = cf.calls.runs.count("secret")
    response = cf.send("edge", command("secret", user=member("21")))
    assert response.json() == {"type": 5, "data": {"flags": 64}}
    cf.fake.wait_for_requests(1, "edit_original")
    assert cf.fake.requests_for("edit_original")[0].json["content"] == "Only admins can do that."
    cf.fake.reset()
    response = cf.send("edge", command("secret", user=member("22", permissions=8)))
    assert response.json() == {"type": 5, "data": {"flags": 64}}
    cf.fake.wait_for_requests(1, "edit_original")
    assert cf.fake.requests_for("edit_original")[0].json["content"] == "classified"
    assert cf.calls.runs.count("secret") == before + 1


# -- failures ------------------------------------------------------------------------------------


def test_backend_down_the_user_is_told_by_editing_the_original(cf: Stack) -> None:
    payload = ticker("render", "QQQ")
    response = cf.send("down", payload)
    assert response.json() == {"type": 5}
    cf.fake.wait_for_requests(1, "edit_original")
    edit = cf.fake.requests_for("edit_original")[0]
    # The interaction's own (signed) application id and token address the webhook.
    assert (
        edit.path == f"/webhooks/{payload['application_id']}/{payload['token']}/messages/@original"
    )
    assert edit.json["content"].startswith(UNAVAILABLE)
    assert edit.json["allowed_mentions"] == {"parse": []}
    assert edit.headers["user-agent"].startswith("DiscordBot (")


def test_backend_down_for_an_inline_command_also_tells_the_user(cf: Stack) -> None:
    response = cf.send("down", ticker("quote", "DIA"))
    assert response.json() == {"type": 5}
    cf.fake.wait_for_requests(1, "edit_original")
    assert cf.fake.requests_for("edit_original")[0].json["content"].startswith(UNAVAILABLE)


def test_backend_down_after_a_click_sends_an_ephemeral_followup_not_an_edit(cf: Stack) -> None:
    # After a type-6 ack @original is the clicked message: overwriting it would destroy it.
    response = cf.send("down", component("tf:IWM:1D"))
    assert response.json() == {"type": 6}
    cf.fake.wait_for_requests(1, "create_followup")
    followup = cf.fake.requests_for("create_followup")[0].json
    assert followup["content"].startswith(UNAVAILABLE) and followup["flags"] == 64
    assert cf.fake.requests_for("edit_original") == []


def test_handover_with_the_wrong_secret_is_refused_and_the_user_told(cf: Stack) -> None:
    depth = cf.queue_depth()
    runs = cf.calls.runs.count("render")
    response = cf.send("forged", ticker("render", "GLD"))
    assert response.json() == {"type": 5}
    cf.fake.wait_for_requests(1, "edit_original")
    assert cf.fake.requests_for("edit_original")[0].json["content"].startswith(UNAVAILABLE)
    assert cf.queue_depth() == depth  # nothing was enqueued
    assert cf.calls.runs.count("render") == runs
    metrics = cf.client.get(f"{cf.backend_url}/metrics").text
    assert 'reason="handover_forged"' in metrics
