"""Shared fixtures: a real signing key, signed requests, and servers on loopback."""

from __future__ import annotations

import pytest
from nacl.signing import SigningKey

from support.signing import Signer


@pytest.fixture
def signer() -> Signer:
    return Signer(SigningKey.generate())
