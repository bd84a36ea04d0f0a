"""The hybrid path end to end: signed interaction → 5/6 at once → worker → Discord REST."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from catalyst_interactions.discord.messages import ActionRow, Button, Embed, File, Message
from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.framework.context import CommandContext, ComponentContext
from catalyst_interactions.framework.modes import Mode
from catalyst_interactions.framework.registry import Registry
from fakes.fake_discord import FakeDiscord, Reply
from support.signing import command, component

pytestmark = pytest.mark.loopback

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
calls: list[str] = []


def registry() -> Registry:
    reg = Registry()

    @reg.command("render", "A deferred command with an image", mode=Mode.DEFERRED)
    async def render(ctx: CommandContext, ticker: str) -> Message:
        calls.append(ticker)
        return Message(
            embeds=[Embed(title=ticker, image_url="attachment://chart.png")],
            files=[File("chart.png", PNG)],
            components=[ActionRow([Button(label="5D", custom_id=f"tf:{ticker}:5D")])],
        )

    @reg.component("tf:{ticker}:{tf}", mode=Mode.DEFERRED)
    async def timeframe(ctx: ComponentContext, ticker: str, tf: str) -> Message:
        return Message(content=f"{ticker} {tf}")

    @reg.command("flaky", "Fails twice, then works", mode=Mode.DEFERRED)
    async def flaky(ctx: CommandContext) -> Message:
        calls.append("flaky")
        if calls.count("flaky") < 3:
            raise RuntimeError("transient bug")
        return Message(content="third time lucky")

    @reg.command("broken", "Always fails", mode=Mode.DEFERRED, ephemeral=True)
    async def broken(ctx: CommandContext) -> Message:
        raise RuntimeError("permanent bug")

    @reg.command("auto", "Auto mode", mode=Mode.AUTO)
    async def auto(ctx: CommandContext, delay: float) -> Message:
        await asyncio.sleep(delay)
        return Message(content=f"slept {delay}")

    return reg


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.01)


def queue_idle(hybrid) -> bool:
    queue = hybrid.runtime.queue
    loop = asyncio.new_event_loop()
    try:
        pending = loop.run_until_complete(queue.list("pending", 10))
        running = loop.run_until_complete(queue.list("running", 10))
    finally:
        loop.close()
    return not pending and not running


def test_deferred_command_edits_the_original_with_json_and_file(
    start_hybrid,
    fake_discord: FakeDiscord,
) -> None:
    hybrid = start_hybrid(registry())
    payload = command("render", [{"name": "ticker", "type": 3, "value": "AAPL"}])
    response = hybrid.send(payload)
    assert response.status_code == 200 and response.json() == {"type": 5}
    fake_discord.wait_for_requests(1, "edit_original")
    request = fake_discord.requests_for("edit_original")[0]
    assert request.method == "PATCH"
    assert request.path.endswith(
        f"/webhooks/{fake_discord.application_id}/{payload['token']}/messages/@original"
    )
    parts = {p.name: p for p in request.parts}
    body = json.loads(parts["payload_json"].data)
    assert body["embeds"][0]["image"] == {"url": "attachment://chart.png"}
    assert body["attachments"] == [{"id": "0", "filename": "chart.png"}]
    assert body["components"][0]["components"][0]["custom_id"] == "tf:AAPL:5D"
    assert parts["files[0]"].data == PNG and parts["files[0]"].filename == "chart.png"
    assert request.headers["user-agent"].startswith("DiscordBot (")
    assert "authorization" not in request.headers  # webhook routes need no bot token


def test_deferred_component_acks_6_and_edits_the_clicked_message(
    start_hybrid,
    fake_discord: FakeDiscord,
) -> None:
    hybrid = start_hybrid(registry())
    assert hybrid.send(component("tf:MSFT:1Y")).json() == {"type": 6}
    fake_discord.wait_for_requests(1, "edit_original")
    edit = fake_discord.requests_for("edit_original")[0].json
    assert edit["content"] == "MSFT 1Y"
    assert edit["components"] == [] and edit["embeds"] == []  # the old buttons are replaced


def test_injected_429_and_5xx_are_retried_and_retry_after_honoured(
    start_hybrid,
    fake_discord: FakeDiscord,
) -> None:
    fake_discord.enqueue(
        "edit_original",
        Reply(
            429,
            {"message": "You are being rate limited.", "retry_after": 0.4, "global": False},
            {"Retry-After": "1", "X-RateLimit-Scope": "user"},
        ),
        Reply(502, {"message": "Bad Gateway"}),
    )
    hybrid = start_hybrid(registry())
    hybrid.send(command("render", [{"name": "ticker", "type": 3, "value": "NVDA"}]))
    fake_discord.wait_for_requests(3, "edit_original")
    first, second, _third = fake_discord.requests_for("edit_original")[:3]
    assert second.at - first.at >= 0.4
    wait_until(lambda: queue_idle(hybrid))
    assert len(fake_discord.requests_for("edit_original")) == 3
    delivered = "catalyst_jobs_delivered_total 1.0"
    wait_until(lambda: delivered in hybrid.client.get("/metrics").text)
    assert "catalyst_discord_rest_ratelimited_total" in hybrid.client.get("/metrics").text


def test_expired_token_is_dead_lettered_without_a_call(
    start_hybrid,
    fake_discord: FakeDiscord,
) -> None:
    hybrid = start_hybrid(registry())
    old_id = make_snowflake(int((time.time() - 16 * 60) * 1000))
    payload = command(
        "render", [{"name": "ticker", "type": 3, "value": "AMD"}], interaction_id=old_id
    )
    assert hybrid.send(payload).json() == {"type": 5}
    wait_until(lambda: queue_idle(hybrid))
    dead = asyncio.run(_dead(hybrid))
    assert [(d.id, d.reason) for d in dead] == [(old_id, "token expired")]
    assert fake_discord.requests_for("edit_original") == []
    dead_metric = 'catalyst_jobs_dead_lettered_total{reason="token_expired"} 1.0'
    wait_until(lambda: dead_metric in hybrid.client.get("/metrics").text)


def test_token_refused_by_discord_is_dead_lettered_after_one_call(
    start_hybrid,
    fake_discord: FakeDiscord,
) -> None:
    hybrid = start_hybrid(registry())
    payload = command("render", [{"name": "ticker", "type": 3, "value": "TSLA"}])
    fake_discord.expire_token(payload["token"])
    hybrid.send(payload)
    wait_until(lambda: queue_idle(hybrid))
    assert len(fake_discord.requests_for("edit_original")) == 1
    assert [d.reason for d in asyncio.run(_dead(hybrid))] == ["token expired"]


def test_handler_bug_is_retried_then_delivered(
    start_hybrid,
    fake_discord: FakeDiscord,
) -> None:
    calls.clear()
    hybrid = start_hybrid(registry())
    hybrid.send(command("flaky"))
    fake_discord.wait_for_requests(1, "edit_original")
    assert calls.count("flaky") == 3
    assert fake_discord.requests_for("edit_original")[0].json["content"] == "third time lucky"


def test_handler_that_always_fails_tells_the_user_and_is_dead(
    start_hybrid,
    fake_discord: FakeDiscord,
) -> None:
    hybrid = start_hybrid(registry(), job_max_attempts=2)
    payload = command("broken")
    assert hybrid.send(payload).json() == {"type": 5, "data": {"flags": 64}}
    fake_discord.wait_for_requests(1, "edit_original")
    told = fake_discord.requests_for("edit_original")[0].json
    assert "went wrong" in told["content"] and payload["id"] in told["content"]
    wait_until(lambda: queue_idle(hybrid))
    reasons = [d.reason for d in asyncio.run(_dead(hybrid))]
    assert reasons == ["handler failed: RuntimeError after 2 attempts"]


def test_duplicate_delivery_to_two_edges_makes_one_job(
    start_hybrid,
    fake_discord: FakeDiscord,
) -> None:
    # Two edge processes share one queue (as replicas would); each has its own replay memory,
    # so only the queue's dedupe by interaction id stands between a duplicate and a 2nd run.
    calls.clear()
    first = start_hybrid(registry())
    second = start_hybrid(registry())
    payload = command("render", [{"name": "ticker", "type": 3, "value": "SPY"}])
    assert first.send(payload).status_code == 200
    assert second.send(payload).status_code == 409
    fake_discord.wait_for_requests(1, "edit_original")
    wait_until(lambda: queue_idle(first))
    assert calls == ["SPY"]
    assert len(fake_discord.requests_for("edit_original")) == 1


def test_auto_mode_inline_when_fast_deferred_when_slow(
    start_hybrid,
    fake_discord: FakeDiscord,
) -> None:
    hybrid = start_hybrid(registry(), auto_budget_s=0.3)
    fast = hybrid.send(command("auto", [{"name": "delay", "type": 10, "value": 0.0}]))
    assert fast.json()["data"]["content"] == "slept 0.0"
    started = time.monotonic()
    slow = hybrid.send(command("auto", [{"name": "delay", "type": 10, "value": 0.6}]))
    assert slow.json() == {"type": 5}
    assert time.monotonic() - started < 0.6
    fake_discord.wait_for_requests(1, "edit_original")
    assert fake_discord.requests_for("edit_original")[0].json["content"] == "slept 0.6"


async def _dead(hybrid):
    return await hybrid.runtime.queue.list("dead", 10)
