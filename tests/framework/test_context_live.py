"""The context's progress calls: dropped inline (the HTTP answer supersedes them), refused for
followups inline, and handed to the live message a worker gives a deferred handler."""

from __future__ import annotations

import json
import time
from typing import Any

from catalyst_interactions.discord.messages import Message
from catalyst_interactions.discord.payloads import decode_interaction
from catalyst_interactions.framework.context import CommandContext
from catalyst_interactions.framework.dispatch import Dispatcher, Respond
from catalyst_interactions.framework.modes import Mode
from catalyst_interactions.framework.registry import Registry
from support.signing import command


def registry() -> Registry:
    reg = Registry()

    @reg.command("steps", "Reports progress", mode=Mode.AUTO)
    async def steps(ctx: CommandContext) -> Message:
        await ctx.progress("Step 1…")
        await ctx.edit(Message(content="half"))
        return Message(content="done")

    @reg.command("more", "Follows up", mode=Mode.AUTO)
    async def more(ctx: CommandContext) -> Message:
        await ctx.followup(Message(content="extra"))
        return Message(content="done")

    return reg


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    async def progress(self, text: str) -> None:
        self.seen.append(("progress", text))

    async def edit(self, message: Message) -> None:
        self.seen.append(("edit", message.content))

    async def followup(self, message: Message, *, ephemeral: bool = False) -> None:
        self.seen.append(("followup", message.content))


def load(payload: dict[str, Any]) -> Any:
    return decode_interaction(json.dumps(payload).encode())


async def test_inline_progress_is_dropped_and_the_answer_is_the_return_value() -> None:
    outcome = await Dispatcher(registry(), auto_budget_s=2.0).handle(load(command("steps")))
    assert isinstance(outcome, Respond) and outcome.outcome == "ok"
    assert outcome.body["data"]["content"] == "done"


async def test_an_inline_followup_is_a_handler_error_with_a_reference() -> None:
    outcome = await Dispatcher(registry(), auto_budget_s=2.0).handle(load(command("more")))
    assert isinstance(outcome, Respond) and outcome.outcome == "error"
    assert outcome.body["data"]["content"].startswith("Something went wrong on our side.")


async def test_a_worker_run_sends_progress_to_the_live_message_in_order() -> None:
    live = Recorder()
    started = time.monotonic()
    delivery = await Dispatcher(registry()).run_deferred(load(command("steps")), live)
    assert time.monotonic() - started < 1
    assert live.seen == [("progress", "Step 1…"), ("edit", "half")]
    assert delivery.message.content == "done"
    more = Recorder()
    await Dispatcher(registry()).run_deferred(load(command("more")), more)
    assert more.seen == [("followup", "extra")]
