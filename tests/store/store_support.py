"""Helpers for the store suite (a uniquely named module: every test folder has a conftest)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

SAMPLES = Path(__file__).parent / "samples"


class FakeClock:
    """A settable UTC clock, injected into the store."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
