"""The real Catalyst bot (build_runtime with Resources) on loopback: edge + in-process
worker, a fake Discord REST server, a SQLite store in tmp_path."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bot_support import Bot

from catalyst_interactions.app import build_runtime
from catalyst_interactions.settings import Settings
from fakes.fake_discord import FakeDiscord
from support.servers import serve_in_thread
from support.signing import Signer

ADMIN_ID = "4242"
ADMIN_ROLE = "7777"
HOME_GUILD = "500"  # the guild of every test interaction (support.signing)
BOT_TOKEN = "bot-token-for-tests"


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    with FakeDiscord(bot_token=BOT_TOKEN) as fake:
        yield fake


@pytest.fixture
def bot_settings(signer: Signer, fake_discord: FakeDiscord, tmp_path: Path) -> Settings:
    return Settings(
        public_key_hex=signer.public_key_hex,
        application_id=fake_discord.application_id,
        api_base=fake_discord.base_url,
        data_dir=tmp_path,
        market_provider="demo",
        admin_user_ids=frozenset({ADMIN_ID}),
        admin_role_ids=frozenset({ADMIN_ROLE}),
        admin_guild_ids=frozenset({HOME_GUILD}),
        job_retry_base_s=0.05,
        worker_concurrency=2,
        cooldowns={"*": 0.0},  # none, unless a test sets one
    )


def _wait_ready(client: httpx.Client, timeout: float = 15.0) -> None:
    """/ready answers 200 once the database is migrated (the warm-up at start)."""
    deadline = time.monotonic() + timeout
    while client.get("/ready").status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not become ready")
        time.sleep(0.02)


@pytest.fixture
def start_bot(
    bot_settings: Settings, signer: Signer, fake_discord: FakeDiscord, tmp_path: Path
) -> Iterator[Callable[..., Bot]]:
    stack: list[Any] = []

    def start(**overrides: Any) -> Bot:
        settings = dataclasses.replace(bot_settings, **overrides)
        runtime = build_runtime(settings)
        server = serve_in_thread(runtime.app)
        url = server.__enter__()
        stack.append(server)
        client = httpx.Client(base_url=url, timeout=20)
        stack.append(client)
        _wait_ready(client)
        return Bot(runtime, client, signer, fake_discord, settings.data_dir)

    yield start
    for item in reversed(stack):
        if isinstance(item, httpx.Client):
            item.close()
        else:
            item.__exit__(None, None, None)


@pytest.fixture
def bot(start_bot: Callable[..., Bot]) -> Bot:
    return start_bot()
