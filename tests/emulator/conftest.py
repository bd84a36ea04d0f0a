"""A running local Discord (edge + workers + emulator) with the demo bot and a movable clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from browser.demo_bot import demo_registry
from catalyst_interactions.dev import build_dev
from catalyst_interactions.emulator import RateLimitRules
from catalyst_interactions.settings import Settings
from support.local_discord import Clock, Local, running

__all__ = ["Clock", "Local", "start_local"]


def start_local(tmp: Path, *, rate_limits: RateLimitRules | None = None) -> Iterator[Local]:
    clock = Clock()
    stack = build_dev(
        Settings(data_dir=tmp, job_retry_base_s=0.05),
        demo_registry(),
        port=0,
        clock=clock,
        rate_limits=rate_limits,
    )
    with running(stack, clock) as local:
        yield local


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    yield from start_local(tmp_path_factory.mktemp("dev"))


@pytest.fixture
def clock(local: Local) -> Iterator[Clock]:
    """The stack's clock, put back after the test (later tests sign with it)."""
    yield local.clock
    local.clock.offset = 0.0
