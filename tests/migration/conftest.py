"""Both sides of the migration on loopback: the legacy Flask server and our edge."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from types import ModuleType

import pytest
from werkzeug.serving import make_server

from e2e.conftest import fake_discord, hybrid_settings, start_hybrid  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[2]


def legacy_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "legacy_flask", REPO / "bench" / "legacy_flask.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def legacy_server():  # type: ignore[no-untyped-def]
    """Start the old server (bench/legacy_flask.py) with a public key; yields its base URL."""
    servers = []

    def start(public_key_hex: str) -> str:
        app = legacy_module().create_app(public_key_hex)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=5)
