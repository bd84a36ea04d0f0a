"""Shared fixtures: a real signing key, signed requests, and servers on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/support is a plain folder of helpers shared by every suite.
sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402

from support.signing import Signer  # noqa: E402


@pytest.fixture
def signer() -> Signer:
    return Signer(SigningKey.generate())
