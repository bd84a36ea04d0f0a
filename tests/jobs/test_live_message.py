"""A handler's live message over real HTTP: coalesced edits within Discord's webhook limits,
nothing after the final answer, nothing near the token's end, followups posted at once."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator

import pytest

from catalyst_interactions.discord.messages import Message
from catalyst_interactions.discord.rest import DiscordRest
from catalyst_interactions.jobs.live import MIN_EDIT_INTERVAL_S, LiveMessageClosed, RestLiveMessage
from fakes.fake_discord import FakeDiscord

pytestmark = pytest.mark.loopback
TOKEN = "live-token"


@pytest.fixture
def discord() -> Iterator[FakeDiscord]:
    with FakeDiscord() as fake:
        # Discord's webhook buckets allow about 5 requests per 2 s (docs/architecture.md).
        fake.rate_limit("edit_original", limit=5, window_s=2.0)
        yield fake


def rest_for(discord: FakeDiscord) -> DiscordRest:
    return DiscordRest(base_url=discord.base_url, application_id="1", bot_token=None)


async def test_a_burst_of_progress_is_coalesced_to_one_edit_a_second(discord: FakeDiscord) -> None:
    async with rest_for(discord) as rest:
        live = RestLiveMessage(rest, TOKEN, stop_at=time.time() + 60, updates_message=False)
        started = time.monotonic()
        for n in range(60):  # 60 updates over ~2.4 s, like a streamed answer
            await live.progress(f"step {n}")
            await asyncio.sleep(0.04)
        await asyncio.sleep(MIN_EDIT_INTERVAL_S)  # the newest one still goes out
        await live.close()
        elapsed = time.monotonic() - started
    edits = discord.requests_for("edit_original")
    assert 2 <= len(edits) <= elapsed / MIN_EDIT_INTERVAL_S + 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(edits)]
    assert min(gaps) >= MIN_EDIT_INTERVAL_S * 0.95, gaps
    texts = [e.json["content"] for e in edits]
    assert texts[0] == "step 0"  # the first update is shown at once
    assert texts[-1] == "step 59"  # and the newest wins
    assert live.edits_sent == len(edits)  # every request succeeded: none was a 429 retried


async def test_close_drops_pending_updates_so_nothing_lands_after_the_answer(
    discord: FakeDiscord,
) -> None:
    async with rest_for(discord) as rest:
        live = RestLiveMessage(rest, TOKEN, stop_at=time.time() + 60, updates_message=False)
        await live.progress("first")
        await asyncio.sleep(0.2)
        await live.edit(Message(content="half an answer"))  # waits for the interval
        await live.close()
        final = await rest.edit_original(TOKEN, Message(content="final").to_dict(edit=True))
        await live.progress("too late")  # ignored after close
        await asyncio.sleep(MIN_EDIT_INTERVAL_S + 0.2)
    edits = discord.requests_for("edit_original")
    assert [e.json["content"] for e in edits] == ["first", "final"]
    assert final["content"] == "final"


async def test_close_waits_for_an_edit_already_on_the_wire(discord: FakeDiscord) -> None:
    discord.rate_limit("edit_original", limit=100, window_s=1.0)
    async with rest_for(discord) as rest:
        live = RestLiveMessage(rest, TOKEN, stop_at=time.time() + 60, updates_message=False)
        await live.progress("in flight")
        await asyncio.sleep(0)  # the flusher starts its request
        await live.close()  # must not return before that request is answered
        closed_at = time.monotonic()
    [edit] = discord.requests_for("edit_original")
    assert edit.at <= closed_at


async def test_no_update_near_the_token_expiry_and_followups_refused(discord: FakeDiscord) -> None:
    async with rest_for(discord) as rest:
        live = RestLiveMessage(rest, TOKEN, stop_at=time.time() + 0.3, updates_message=False)
        await live.progress("early")
        await asyncio.sleep(0.5)
        await live.progress("after the stop")
        with pytest.raises(LiveMessageClosed, match="about to expire"):
            await live.followup(Message(content="late"))
        await asyncio.sleep(0.2)
        await live.close()
    assert [e.json["content"] for e in discord.requests_for("edit_original")] == ["early"]
    assert discord.requests_for("create_followup") == []


async def test_followups_are_posted_at_once_and_ephemeral_on_request(discord: FakeDiscord) -> None:
    async with rest_for(discord) as rest:
        live = RestLiveMessage(rest, TOKEN, stop_at=time.time() + 60, updates_message=False)
        message_id = await live.followup(Message(content="part 2"), ephemeral=True)
        await live.close()
        with pytest.raises(LiveMessageClosed, match="already delivered"):
            await live.followup(Message(content="after"))
    [post] = discord.requests_for("create_followup")
    assert post.json["content"] == "part 2" and post.json["flags"] & 64
    assert message_id.isdigit()


async def test_a_clicked_message_keeps_its_content_but_accepts_edits(discord: FakeDiscord) -> None:
    async with rest_for(discord) as rest:
        live = RestLiveMessage(rest, TOKEN, stop_at=time.time() + 60, updates_message=True)
        await live.progress("Drawing…")  # not shown on someone's alert message
        await asyncio.sleep(0.1)
        await live.edit(Message(content="new state"))
        await asyncio.sleep(0.2)
        await live.close()
    assert [e.json["content"] for e in discord.requests_for("edit_original")] == ["new state"]
