"""Fixtures: one fake Discord per session (reset per test) and client factories."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis import Redis as SyncRedis

from catalyst_interactions.discord.rest import DiscordRest
from catalyst_interactions.secret import Secret
from fakes.fake_discord import FakeDiscord

APP_ID = "1100000000000000001"
BOT_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GbotSECRETbotSECRETbotSECRET"
TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OnNlY3JldFRPS0VOc2VjcmV0VE9LRU4"
INTERACTION_ID = "1300000000000000042"
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class RecordingMetrics:
    observed: list[tuple[str, int, float]] = field(default_factory=list)
    limited: list[tuple[str, str]] = field(default_factory=list)

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.observed.append((route, status, seconds))

    def ratelimited(self, route: str, scope: str) -> None:
        self.limited.append((route, scope))


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeDiscord]:
    with FakeDiscord(application_id=APP_ID, bot_token=BOT_TOKEN) as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeDiscord) -> FakeDiscord:
    fake_server.reset()
    return fake_server


MakeRest = Callable[..., DiscordRest]


@pytest.fixture
async def make_rest(fake: FakeDiscord) -> AsyncIterator[MakeRest]:
    """Build clients against the fake with fast backoff; all are closed at teardown."""
    clients: list[DiscordRest] = []

    def make(**overrides: Any) -> DiscordRest:
        options: dict[str, Any] = {
            "base_url": fake.base_url,
            "application_id": APP_ID,
            "bot_token": Secret(BOT_TOKEN),
            "backoff_base_s": 0.02,
            "backoff_cap_s": 0.1,
            "timeout_s": 2.0,
        }
        options.update(overrides)
        client = DiscordRest(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def rest(make_rest: MakeRest) -> DiscordRest:
    return make_rest()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A unique key prefix; every key under it is deleted afterwards (sync, usable anywhere)."""
    prefix = f"test:rl:{uuid.uuid4().hex}"
    yield prefix
    with SyncRedis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=f"{{{prefix}}}*"))
        if keys:
            client.delete(*keys)
