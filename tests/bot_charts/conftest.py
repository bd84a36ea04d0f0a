"""The real Catalyst bot (edge + worker + process pool) on loopback against a fake Discord.

One bot per test module: spawning the render pool costs about a second, so tests share it
and each starts from a clean fake Discord. The market is the simulated demo provider on a
fixed clock (Wednesday 2025-03-12, 14:00 New York), so every expected value can be
recomputed independently by the tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from nacl.signing import SigningKey

from bot_charts.harness import Bot, Market, fixed_clock
from catalyst_interactions.app import build_runtime
from catalyst_interactions.market import DemoProvider
from catalyst_interactions.settings import Settings
from fakes.fake_discord import FakeDiscord
from support.servers import serve_in_thread
from support.signing import Signer


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    signer = Signer(SigningKey.generate())
    with FakeDiscord() as discord:
        settings = Settings(
            public_key_hex=signer.public_key_hex,
            application_id=discord.application_id,
            api_base=discord.base_url,
            data_dir=tmp_path_factory.mktemp("bot"),
            market_provider="demo",
            process_pool_size=1,
            worker_concurrency=4,
            job_retry_base_s=0.05,
            job_lease_s=5.0,
            admin_guild_ids=frozenset({"500"}),  # the home server (admin tools)
        )
        runtime = build_runtime(settings, registry=None)
        services = runtime.resources
        setattr(services, "market", Market(DemoProvider(clock=fixed_clock)))  # noqa: B010
        with serve_in_thread(runtime.app) as url, httpx.Client(base_url=url, timeout=10) as client:
            yield Bot(runtime, client, signer, discord)


@pytest.fixture
def chart_bot(bot: Bot) -> Bot:
    """The shared bot, idle, with a fresh fake Discord."""
    bot.wait_idle()
    bot.discord.reset()
    return bot
