"""A worker process running the crash test's registry (started as a script by the test)."""

from __future__ import annotations

import asyncio
import signal
import sys

from catalyst_interactions.app import build_runtime
from catalyst_interactions.settings import Settings
from support.e2e_registry import crash_registry


async def main() -> None:
    runtime = build_runtime(Settings.from_env(env_file=None), registry=crash_registry())
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    for hook in runtime.app.startup_hooks:
        await hook()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await stop.wait()
    for hook in reversed(runtime.app.shutdown_hooks):
        await hook()


if __name__ == "__main__":
    asyncio.run(main())
