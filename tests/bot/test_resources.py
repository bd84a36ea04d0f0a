"""The composition root (app.py): one Resources object per process, one Redis client shared by
every Redis user of the process, closed newest first, misconfiguration refused at start."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bot_support import Bot

from catalyst_interactions.app import build_runtime
from catalyst_interactions.bot.resources import Closing, LazyMarket, LazyStore
from catalyst_interactions.discord.rest import DiscordRest
from catalyst_interactions.framework.cooldowns import Cooldowns
from catalyst_interactions.jobs.ledger import RedisLedger
from catalyst_interactions.jobs.redis_queue import RedisJobQueue
from catalyst_interactions.secret import Secret
from catalyst_interactions.settings import ConfigError, Settings
from support.signing import Signer, command, member

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> Iterator[str]:
    """The queue's own key prefix; the test's keys are deleted afterwards."""
    value = f"test-root-{secrets.token_hex(4)}"
    yield value
    from redis import Redis

    probe = Redis.from_url(REDIS)
    keys = list(probe.scan_iter(match=f"{value}:*"))
    if keys:
        probe.delete(*keys)
    probe.close()


@pytest.mark.redis
@pytest.mark.loopback
def test_one_redis_client_serves_every_redis_user_of_a_process(
    start_bot: Callable[..., Bot], monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    from redis import Redis as SyncRedis
    from redis.asyncio import Redis

    made: list[Redis] = []
    real_init = Redis.__init__

    def counted(self: Redis, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Redis, "__init__", counted)
    bot = start_bot(
        redis_url=REDIS,
        queue_url=f"{REDIS}?prefix={prefix}",  # the same Redis: the queue shares the client
        state_secret=Secret(secrets.token_hex(16)),
        user_rate=(2, 600.0),  # both interactions admitted; the limit's key lives 5 min
        process_pool_size=0,
    )
    uid = str(10**17 + secrets.randbelow(10**17))
    inline = command("help", user=member(uid))
    assert bot.send(inline)["type"] == 4
    deferred = command("chart", [{"name": "ticker", "type": 3, "value": "AAPL"}], user=member(uid))
    _, edit = bot.deferred(deferred)
    # The chart was rendered and delivered through Discord REST (a PNG attached).
    assert edit.json["attachments"][0]["filename"] == "chart.png"

    # Each user really went through Redis: the replay record, the per-user rate (throttle
    # store) and the queue left their keys there; /ready pinged it while the bot started.
    probe = SyncRedis.from_url(REDIS)
    try:
        assert probe.exists(f"catalyst:seen:{inline['id']}", f"catalyst:seen:{deferred['id']}") == 2
        assert probe.exists(f"catalyst:throttle:rate:{uid}") == 1
        assert list(probe.scan_iter(match=f"{prefix}:*"))
    finally:
        probe.delete(f"catalyst:throttle:rate:{uid}")
        probe.close()
    # ... and all of them, the REST rate limits and the delivery ledger too, through one client.
    assert len(made) == 1
    resources = bot.services
    assert resources.redis is made[0]


async def test_resources_close_newest_first_even_when_one_close_fails(
    signer: Signer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed: list[str] = []

    def recording(name: str, method: Callable[..., Any], *, fail: bool = False) -> Any:
        async def close(self: object, *args: Any, **kwargs: Any) -> None:
            closed.append(name)
            if fail:
                raise ConnectionError("market data: connection reset while closing")
            await method(self, *args, **kwargs)

        return close

    from redis.asyncio import Redis

    for cls, attribute, name in [
        (Redis, "aclose", "redis"),
        (LazyStore, "close", "database"),
        (Cooldowns, "close", "cooldowns"),
        (DiscordRest, "aclose", "REST"),
        (RedisJobQueue, "close", "queue"),
        (RedisLedger, "close", "ledger"),
    ]:
        monkeypatch.setattr(cls, attribute, recording(name, getattr(cls, attribute)))
    monkeypatch.setattr(LazyMarket, "aclose", recording("market", LazyMarket.aclose, fail=True))
    settings = Settings(
        public_key_hex=signer.public_key_hex,
        application_id="1",
        data_dir=tmp_path,
        admin_guild_ids=frozenset({"500"}),
        redis_url=REDIS,  # nothing connects: the clients are only built and closed
        queue_url=f"{REDIS}?prefix=test-root-unused",
        state_secret=Secret(secrets.token_hex(16)),
    )
    runtime = build_runtime(settings)
    resources = runtime.resources
    assert resources is not None

    caplog.set_level(logging.ERROR, "catalyst_interactions.bot")
    for hook in reversed(runtime.app.shutdown_hooks):  # as the server's lifespan runs them
        await hook()

    # Built: Redis, database, market data, chart service, cooldowns, REST, queue, ledger;
    # closed in reverse (the chart service, never used, has nothing to close), the failing
    # market data close in between, and Redis, which the others used, last.
    assert closed == ["ledger", "queue", "REST", "cooldowns", "market", "database", "redis"]
    [failure] = [r for r in caplog.records if r.getMessage().startswith("closing ")]
    assert failure.getMessage() == "closing market data failed"
    await resources.aclose()  # a second close does nothing
    assert len(closed) == 7


async def test_closing_runs_every_close_and_names_the_ones_that_failed() -> None:
    closing = Closing()
    ran: list[str] = []

    def close(name: str, error: Exception | None = None) -> Callable[[], Any]:
        async def run() -> None:
            ran.append(name)
            await asyncio.sleep(0)
            if error is not None:
                raise error

        return run

    closing.push("first", close("first"))
    closing.push("second", close("second", OSError("gone")))
    closing.push("third", close("third", RuntimeError("stuck")))
    assert closing.names == ["third", "second", "first"]
    assert await closing.aclose() == ["third", "second"]
    assert ran == ["third", "second", "first"]


@pytest.mark.parametrize(
    ("misconfigured", "problem"),
    [
        ({"chart_store_url": "ftp://charts/prod"}, "CATALYST_CHART_STORE_URL must look like"),
        ({"chart_store_url": "s3://charts/prod"}, "needs CATALYST_S3_ACCESS_KEY"),
        ({"llm_base_url": "ftp://llm", "llm_model": "m"}, "CATALYST_LLM_BASE_URL must be"),
        ({"llm_base_url": "https://llm", "llm_model": "  "}, "CATALYST_LLM_MODEL is empty"),
        ({"market_provider": "tiingo"}, "CATALYST_MARKET_PROVIDER=tiingo needs TIINGO_API_KEY"),
    ],
)
def test_a_misconfigured_resource_stops_the_start_with_one_line(
    signer: Signer, tmp_path: Path, misconfigured: dict[str, Any], problem: str
) -> None:
    settings = Settings(
        public_key_hex=signer.public_key_hex,
        application_id="1",
        data_dir=tmp_path / "data",
        admin_guild_ids=frozenset({"500"}),
        **misconfigured,
    )
    with pytest.raises(ConfigError) as refused:
        build_runtime(settings)
    message = str(refused.value)
    assert problem in message and "\n" not in message
