"""The benchmark's baselines answer like Discord requires, so their figures mean something.

Each server runs as a real process on loopback; requests are signed here with PyNaCl,
independently of bench/_signing.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey

pytestmark = pytest.mark.loopback

BENCH = Path(__file__).resolve().parents[2] / "bench"
KEY = SigningKey.generate()
OTHER_KEY = SigningKey.generate()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _serve(script: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "DISCORD_PUBLIC_KEY": bytes(KEY.verify_key).hex()}
    process = subprocess.Popen(
        [sys.executable, str(BENCH / script), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Another process: nothing to await but its port, polled until /health answers.
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, f"{script} exited early"
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{script} never became healthy"
            time.sleep(0.02)
        yield base
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module", params=["legacy_flask.py", "bare_asgi.py"])
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    with _serve(request.param) as base:
        yield base


@pytest.fixture(scope="module")
def legacy_server() -> Iterator[str]:
    with _serve("legacy_flask.py") as base:
        yield base


def _post(base: str, payload: dict[str, object], key: SigningKey = KEY) -> httpx.Response:
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + body).signature.hex()
    headers = {
        "Content-Type": "application/json",
        "X-Signature-Ed25519": signature,
        "X-Signature-Timestamp": timestamp,
    }
    return httpx.post(f"{base}/interactions", content=body, headers=headers, timeout=5)


PING = {"type": 1, "id": "1300000000000000001", "application_id": "1", "token": "t", "version": 1}
HELP = {
    "type": 2,
    "id": "1300000000000000002",
    "application_id": "1",
    "token": "t",
    "version": 1,
    "data": {"id": "1200000000000000001", "name": "help", "type": 1},
}


def test_signed_ping_gets_pong(server: str) -> None:
    response = _post(server, PING)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"type": 1}


def test_signed_help_gets_a_message(server: str) -> None:
    response = _post(server, HELP)
    assert response.status_code == 200
    answer = response.json()
    assert answer["type"] == 4
    assert answer["data"]["content"]


def test_signature_by_another_key_is_refused(server: str) -> None:
    assert _post(server, PING, key=OTHER_KEY).status_code == 401


def test_tampered_body_is_refused(server: str) -> None:
    body = json.dumps(PING).encode()
    timestamp = str(int(time.time()))
    signature = KEY.sign(timestamp.encode() + body).signature.hex()
    tampered = body.replace(b'"type": 1', b'"type": 2')
    response = httpx.post(
        f"{server}/interactions",
        content=tampered,
        headers={"X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp},
        timeout=5,
    )
    assert response.status_code == 401


def test_missing_or_malformed_signature_is_refused(server: str) -> None:
    body = json.dumps(PING).encode()
    url = f"{server}/interactions"
    assert httpx.post(url, content=body, timeout=5).status_code == 401
    headers = {"X-Signature-Ed25519": "not-hex", "X-Signature-Timestamp": "1"}
    assert httpx.post(url, content=body, headers=headers, timeout=5).status_code == 401


def test_legacy_answers_a_legacy_chart_button(legacy_server: str) -> None:
    click = {
        "type": 3,
        "id": "1300000000000000003",
        "application_id": "1",
        "token": "t",
        "version": 1,
        "data": {"custom_id": "chart_AAPL_1D", "component_type": 2},
    }
    response = _post(legacy_server, click)
    assert response.status_code == 200
    answer = response.json()
    assert answer["type"] == 4
    assert "AAPL" in answer["data"]["content"]
    assert "1D" in answer["data"]["content"]


def test_legacy_refuses_an_unsigned_button(legacy_server: str) -> None:
    click = {"type": 3, "id": "1300000000000000004", "data": {"custom_id": "chart_AAPL_1D"}}
    assert _post(legacy_server, click, key=OTHER_KEY).status_code == 401
