"""Fair use through the real bot (edge over loopback HTTP, worker, fake Discord): cooldowns on
the chart buttons and the indicator menu, a per-user rate over everything, and a per-user
share of the job queue on SQLite and on Redis."""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bot_support import Bot, content, is_ephemeral

from catalyst_interactions.bot.chart import INDICATOR_MENU, LEGACY_CHART, TIMEFRAME_BUTTON
from catalyst_interactions.market import DemoProvider
from catalyst_interactions.market.bars import Bars, Quote
from catalyst_interactions.market.timeframe import Timeframe
from support.signing import command, component, member

pytestmark = pytest.mark.loopback

REDIS = "redis://127.0.0.1:6379/0"
SLOW_DOWN = re.compile(r"Slow down: try again in (\d+) s\.")


def user() -> str:
    """A fresh user id: shared stores (Redis) never mix tests' users."""
    return str(10**17 + secrets.randbelow(10**17))


def timeframe_click(uid: str, tf: str = "5D") -> dict[str, Any]:
    return component(TIMEFRAME_BUTTON.build(ticker="AAPL", tf=tf, ind="0"), user=member(uid))


def menu_pick(uid: str) -> dict[str, Any]:
    return component(
        INDICATOR_MENU.build(ticker="AAPL", tf="1D"),
        values=["vwap"],
        component_type=3,
        user=member(uid),
    )


def chart(uid: str, ticker: str = "AAPL") -> dict[str, Any]:
    return command("chart", [{"name": "ticker", "type": 3, "value": ticker}], user=member(uid))


def test_chart_buttons_and_menu_have_a_cooldown(start_bot: Callable[..., Bot]) -> None:
    bot = start_bot(cooldowns={"*": 0.0, "chart-buttons": 60.0}, process_pool_size=0)
    alice, bob = user(), user()
    assert bot.send(timeframe_click(alice)) == {"type": 6}  # deferred update: a render
    again = bot.send(timeframe_click(alice, "1M"))
    assert is_ephemeral(again) and again["type"] == 4
    match = SLOW_DOWN.fullmatch(content(again))
    assert match and int(match.group(1)) in (59, 60)
    # The menu and the old bot's buttons render too: the same cooldown covers them.
    assert SLOW_DOWN.fullmatch(content(bot.send(menu_pick(alice))))
    legacy = component(LEGACY_CHART.build(ticker="AAPL", tf="1D"), user=member(alice))
    assert SLOW_DOWN.fullmatch(content(bot.send(legacy)))
    # Another member is not affected.
    assert bot.send(menu_pick(bob)) == {"type": 6}
    bot.fake.wait_for_requests(2, "edit_original", timeout=30)
    assert len(bot.fake.requests_for("edit_original")) == 2  # two renders, not five


def test_per_user_rate_covers_commands_and_components(start_bot: Callable[..., Bot]) -> None:
    bot = start_bot(user_rate=(3, 60.0), process_pool_size=0)
    alice, bob = user(), user()
    for _ in range(2):
        assert not content(bot.send(command("help", user=member(alice)))).startswith("Slow")
    assert bot.send(timeframe_click(alice)) == {"type": 6}  # the third one
    refused = bot.send(command("help", user=member(alice)))
    assert is_ephemeral(refused)
    # 3 per 60 s: the next slot is 20 s after the first use.
    match = re.fullmatch(
        r"Slow down: you are sending requests faster than we can serve everyone; "
        r"try again in (\d+) s\.",
        content(refused),
    )
    assert match and 19 <= int(match.group(1)) <= 20
    assert bot.send(timeframe_click(alice, "1M"))["type"] == 4  # a click is refused too
    assert not content(bot.send(command("help", user=member(bob)))).startswith("Slow")


class HeldMarket:
    """The demo market, but every chart waits until the test lets it go: jobs stay running."""

    def __init__(self) -> None:
        self.inner = DemoProvider()
        self.release = threading.Event()
        self.started = 0

    async def bars(self, ticker: str, timeframe: Timeframe) -> Bars:
        self.started += 1
        await asyncio.to_thread(self.release.wait, 30)
        return await self.inner.bars(ticker, timeframe)

    async def quote(self, ticker: str) -> Quote:
        return await self.inner.quote(ticker)

    async def aclose(self) -> None:
        return None


@pytest.fixture
def held() -> Iterator[HeldMarket]:
    market = HeldMarket()
    yield market
    market.release.set()


def _fill_the_share(bot: Bot, held: HeldMarket) -> None:
    bot.services.market = held
    alice, bob = user(), user()
    # 2 run (worker concurrency 2) and 1 waits: alice's share of 3 is full.
    for ticker in ("AAPL", "MSFT", "NVDA"):
        assert bot.send(chart(alice, ticker)) == {"type": 5}
    refused = bot.send(chart(alice, "TSLA"))
    assert is_ephemeral(refused) and refused["type"] == 4
    assert content(refused) == (
        "Slow down: you already have 3 requests in progress. "
        "Wait for one to finish, then try again."
    )
    # A click is refused the same way (answered in place of the deferred update).
    assert content(bot.send(timeframe_click(alice))) == content(refused)
    # Bob is not starved: his job is accepted while alice's wait.
    assert bot.send(chart(bob, "AMD")) == {"type": 5}
    held.release.set()
    bot.fake.wait_for_requests(4, "edit_original", timeout=60)
    # Once hers are done, alice may ask again.
    for _ in range(100):
        answer = bot.send(chart(alice, "TSLA"))
        if answer == {"type": 5}:
            break
        threading.Event().wait(0.05)  # the last ack may be a moment behind the edit
    assert answer == {"type": 5}
    bot.fake.wait_for_requests(5, "edit_original", timeout=60)


def test_one_member_cannot_fill_the_sqlite_queue(
    start_bot: Callable[..., Bot], held: HeldMarket
) -> None:
    bot = start_bot(jobs_per_user=3, process_pool_size=0, worker_concurrency=2)
    _fill_the_share(bot, held)


@pytest.mark.redis
def test_one_member_cannot_fill_the_redis_queue(
    start_bot: Callable[..., Bot], held: HeldMarket
) -> None:
    prefix = f"test-fair-{secrets.token_hex(4)}"
    bot = start_bot(
        jobs_per_user=3,
        process_pool_size=0,
        worker_concurrency=2,
        queue_url=f"{REDIS}?prefix={prefix}",
    )
    try:
        _fill_the_share(bot, held)
    finally:
        from redis import Redis

        probe = Redis.from_url(REDIS)
        keys = list(probe.scan_iter(match=f"{prefix}:*"))
        if keys:
            probe.delete(*keys)
        probe.close()


def test_chart_clicks_keep_the_local_cache_within_its_bound(start_bot: Callable[..., Bot]) -> None:
    """Every click renders a new chart file; the cache deletes the least recently used ones
    so the directory stays under CATALYST_CHART_CACHE_MAX_MB whatever members click."""
    bound = 120_000  # about two charts
    bot = start_bot(process_pool_size=0, chart_cache_max_mb=bound / 1024 / 1024)
    uid = user()
    renders = 0
    for tf in ("1D", "5D", "1M", "3M", "1Y"):
        assert bot.send(timeframe_click(uid, tf)) == {"type": 6}
        renders += 1
        bot.fake.wait_for_requests(renders, "edit_original", timeout=30)
    files = [p for p in (bot.data_dir / "charts").rglob("*.png")]
    sizes = sum(p.stat().st_size for p in files)
    assert 1 <= len(files) < renders
    assert sizes <= bound


def test_edges_of_one_host_share_cooldowns_and_rates_without_redis(
    start_bot: Callable[..., Bot],
) -> None:
    """`serve --processes 2` without Redis: two edges on one data dir (as the supervisor
    starts them) keep cooldowns and rates in one mapped table, so a member gets the limit
    once, not once per edge."""
    from catalyst_interactions.framework.throttle import SharedThrottleStore

    edges = [
        start_bot(
            edge_processes=2, user_rate=(3, 600.0), cooldowns={"*": 0.0, "chart-buttons": 600.0}
        )
        for _ in range(2)
    ]
    assert all(isinstance(e.services.cooldowns.store, SharedThrottleStore) for e in edges)
    alice = user()
    assert edges[0].send(timeframe_click(alice)) == {"type": 6}
    assert SLOW_DOWN.fullmatch(content(edges[1].send(timeframe_click(alice, "1M"))))
    # Two of three rate slots are used (two clicks); one more, on either edge.
    answers = [content(edges[i % 2].send(command("help", user=member(alice)))) for i in range(4)]
    assert [a.startswith("Slow down") for a in answers] == [False, True, True, True]
