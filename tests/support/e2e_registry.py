"""The registry shared by the crash test's edge and its worker processes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from catalyst_interactions.discord.messages import Message
from catalyst_interactions.framework.context import CommandContext
from catalyst_interactions.framework.modes import Mode
from catalyst_interactions.framework.registry import Registry


def crash_registry() -> Registry:
    """``/crashy`` logs each start to $TEST_RUNS_FILE and hangs on its first run."""
    reg = Registry()

    @reg.command("crashy", "Hangs on its first run", mode=Mode.DEFERRED)
    async def crashy(ctx: CommandContext) -> Message:
        runs_file = Path(os.environ["TEST_RUNS_FILE"])
        first = not runs_file.exists()
        with runs_file.open("a") as f:
            f.write(f"{os.getpid()}\n")
        if first:
            await asyncio.sleep(3600)
        return Message(content="finished after a crash")

    return reg
