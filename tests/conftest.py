"""Shared fixtures: a real signing key, signed requests, and servers on loopback.

Suites that need a tool or a service are marked (``redis``, ``postgres``, ``browser``,
``workerd``, ``wrk``). When it is missing, each such test FAILS with one line saying what to
install: a missing tool never turns a run green. ``make test`` (tools/test-setup) installs or
starts what it can first.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from support.signing import Signer

ROOT = Path(__file__).resolve().parents[1]
WORKERD = ROOT / "workers" / "cloudflare" / "node_modules" / ".bin" / "workerd"
CHROMIUM = Path("/usr/bin/chromium")


def _answers(port: int, probe: bytes = b"", expect: bytes = b"") -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            if probe:
                sock.sendall(probe)
                return sock.recv(64).startswith(expect)
            return True
    except OSError:
        return False


# marker -> (is it there?, the one line that says what to install)
REQUIREMENTS: dict[str, tuple[Callable[[], bool], str]] = {
    "postgres": (
        lambda: _answers(5432),
        "PostgreSQL is not reachable on 127.0.0.1:5432: install it (apt-get install postgresql); "
        "`make test` starts it when installed",
    ),
    "redis": (
        lambda: _answers(6379, b"PING\r\n", b"+PONG"),
        "Redis is not reachable on 127.0.0.1:6379: install it (apt-get install redis-server); "
        "`make test` starts it when installed",
    ),
    "browser": (
        CHROMIUM.exists,
        "Chromium is not installed at /usr/bin/chromium: apt-get install chromium "
        "(`make test` does it as root)",
    ),
    "workerd": (
        WORKERD.exists,
        "workerd is not installed: run `npm ci` in workers/cloudflare (`make test` does it)",
    ),
    "wrk": (
        lambda: shutil.which("wrk") is not None,
        "wrk is not installed: apt-get install wrk (`make test` does it as root)",
    ),
}
_found: dict[str, bool] = {}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, (present, install) in REQUIREMENTS.items():
        if item.get_closest_marker(marker) is None:
            continue
        if marker not in _found:
            _found[marker] = present()
        if not _found[marker]:
            pytest.fail(install, pytrace=False)


@pytest.fixture
def signer() -> Signer:
    return Signer(SigningKey.generate())
