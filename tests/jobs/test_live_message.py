"""A handler's live message over real HTTP: coalesced edits within Discord's webhook limits,
nothing after the final answer, nothing near the token's end, followups posted at once."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalyst_interactions.discord.messages import Message
from catalyst_interactions.discord.payloads import decode_interaction
from catalyst_interactions.discord.rest import DiscordRest
from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.jobs import Job
from catalyst_interactions.jobs.delivery import Deliverer
from catalyst_interactions.jobs.ledger import SqliteLedger
from catalyst_interactions.jobs.live import (
    FIRST_EDIT_AFTER_S,
    MIN_EDIT_INTERVAL_S,
    LiveMessageClosed,
    RestLiveMessage,
)
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


async def no_followups(body: dict[str, Any], files: Any) -> None:
    raise AssertionError("no followup expected")


def live_message(
    rest: DiscordRest,
    *,
    stop_in: float = 60,
    clicked: bool = False,
    first_after_s: float = FIRST_EDIT_AFTER_S,
) -> RestLiveMessage:
    return RestLiveMessage(
        rest,
        TOKEN,
        stop_at=time.time() + stop_in,
        updates_message=clicked,
        post_followup=no_followups,
        first_after_s=first_after_s,
    )


def job_for(token: str = TOKEN) -> tuple[Job, Any]:
    interaction_id = make_snowflake(int(time.time() * 1000))
    body = json.dumps(
        {
            "id": interaction_id,
            "application_id": "1",
            "type": 2,
            "token": token,
            "data": {"id": "9", "name": "x", "type": 1},
        }
    ).encode()
    job = Job.for_interaction(interaction_id, "command:x", body, ack_type=5)
    return job, decode_interaction(body)


async def test_a_burst_of_progress_is_coalesced_to_one_edit_a_second(discord: FakeDiscord) -> None:
    async with rest_for(discord) as rest:
        live = live_message(rest)
        started = time.monotonic()
        sent_at: dict[str, float] = {}
        for n in range(60):  # 60 updates over ~2.4 s, like a streamed answer
            sent_at[f"step {n}"] = time.monotonic()
            await live.progress(f"step {n}")
            await asyncio.sleep(0.04)
        await asyncio.sleep(MIN_EDIT_INTERVAL_S)  # the newest one still goes out
        await live.close()
        elapsed = time.monotonic() - started
    edits = discord.requests_for("edit_original")
    assert 2 <= len(edits) <= (elapsed - FIRST_EDIT_AFTER_S) / MIN_EDIT_INTERVAL_S + 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(edits)]
    assert min(gaps) >= MIN_EDIT_INTERVAL_S * 0.95, gaps
    texts = [e.json["content"] for e in edits]
    # The first edit goes once the job has run FIRST_EDIT_AFTER_S, with the newest state then.
    first = sent_at[texts[0]] - started
    assert FIRST_EDIT_AFTER_S - 0.1 <= first <= FIRST_EDIT_AFTER_S + 0.2, first
    assert texts[-1] == "step 59"  # and the newest wins
    assert live.edits_sent == len(edits)  # every request succeeded: none was a 429 retried


async def test_an_answer_within_the_first_second_is_the_only_edit(discord: FakeDiscord) -> None:
    """A job done before FIRST_EDIT_AFTER_S (a cached chart) sends no progress: Discord shows
    "thinking" until the answer replaces it, and the token's requests are halved."""
    async with rest_for(discord) as rest:
        live = live_message(rest)
        await live.progress("Fetching 1D of AAPL…")
        await asyncio.sleep(0.05)
        await live.progress("Drawing the 1D chart of AAPL…")
        await asyncio.sleep(0.05)
        await live.close()
        await rest.edit_original(TOKEN, Message(content="the chart").to_dict(edit=True))
        await asyncio.sleep(FIRST_EDIT_AFTER_S + 0.2)  # nothing pending goes out later either
    assert [e.json["content"] for e in discord.requests_for("edit_original")] == ["the chart"]


async def test_close_drops_pending_updates_so_nothing_lands_after_the_answer(
    discord: FakeDiscord,
) -> None:
    async with rest_for(discord) as rest:
        live = live_message(rest, first_after_s=0)
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
        live = live_message(rest, first_after_s=0)
        await live.progress("in flight")
        await asyncio.sleep(0)  # the flusher starts its request
        await live.close()  # must not return before that request is answered
        closed_at = time.monotonic()
    [edit] = discord.requests_for("edit_original")
    assert edit.at <= closed_at


async def test_no_update_near_the_token_expiry_and_followups_refused(
    discord: FakeDiscord, tmp_path: Path
) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.db")
    job, interaction = job_for()
    async with rest_for(discord) as rest:
        # The first edit may go after FIRST_EDIT_AFTER_S; the stop comes 0.3 s later.
        live = Deliverer(rest, ledger).live_message(
            job, interaction, stop_at=time.time() + FIRST_EDIT_AFTER_S + 0.3, extra={}
        )
        await live.progress("early")
        await asyncio.sleep(FIRST_EDIT_AFTER_S + 0.5)
        await live.progress("after the stop")
        with pytest.raises(LiveMessageClosed, match="about to expire"):
            await live.followup(Message(content="late"))
        await asyncio.sleep(0.2)
        await live.close()
    await ledger.close()
    assert [e.json["content"] for e in discord.requests_for("edit_original")] == ["early"]
    assert discord.requests_for("create_followup") == []


async def test_followups_are_posted_at_once_and_once_per_job(
    discord: FakeDiscord, tmp_path: Path
) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.db")
    job, interaction = job_for()
    async with rest_for(discord) as rest:
        deliverer = Deliverer(rest, ledger)
        for _attempt in range(2):  # the job runs twice (a retry): each followup posts once
            live = deliverer.live_message(job, interaction, stop_at=time.time() + 60, extra={})
            await live.followup(Message(content="part 2"), ephemeral=True)
            await live.followup(Message(content="part 3"))
            await live.close()
            with pytest.raises(LiveMessageClosed, match="already delivered"):
                await live.followup(Message(content="after"))
    await ledger.close()
    posts = discord.requests_for("create_followup")
    assert [p.json["content"] for p in posts] == ["part 2", "part 3"]
    assert posts[0].json["flags"] & 64 and not posts[1].json.get("flags", 0) & 64


async def test_a_clicked_message_keeps_its_content_but_accepts_edits(discord: FakeDiscord) -> None:
    async with rest_for(discord) as rest:
        live = live_message(rest, clicked=True, first_after_s=0)
        await live.progress("Drawing…")  # not shown on someone's alert message
        await asyncio.sleep(0.1)
        await live.edit(Message(content="new state"))
        await asyncio.sleep(0.2)
        await live.close()
    assert [e.json["content"] for e in discord.requests_for("edit_original")] == ["new state"]
