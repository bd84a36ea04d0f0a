"""Fixtures for the market-data tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from upstream_server import FakeUpstream, serve_upstream


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    yield from serve_upstream()
