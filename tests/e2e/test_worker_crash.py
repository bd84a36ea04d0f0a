"""Fault: a worker SIGKILLed in the middle of a job. After a restart the job completes and
the message is edited exactly once."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalyst_interactions.app import build_runtime
from catalyst_interactions.settings import Settings
from fakes.fake_discord import FakeDiscord
from support.e2e_registry import crash_registry
from support.servers import serve_in_thread
from support.signing import Signer, command

pytestmark = [pytest.mark.fault, pytest.mark.loopback]

HERE = Path(__file__).parent


def spawn_worker(settings: Settings, runs_file: Path) -> subprocess.Popen[str]:
    env = os.environ | {
        "DISCORD_PUBLIC_KEY": settings.public_key_hex or "",
        "DISCORD_APPLICATION_ID": settings.application_id or "",
        "DISCORD_API_BASE": settings.api_base,
        "CATALYST_DATA_DIR": str(settings.data_dir),
        "CATALYST_JOB_LEASE_S": "1",
        "TEST_RUNS_FILE": str(runs_file),
        "PYTHONPATH": str(HERE.parent),
    }
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "worker_proc.py")], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_sigkilled_worker_job_completes_once_after_restart(
    hybrid_settings: Settings, signer: Signer, fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"

    edge = build_runtime(
        dataclasses.replace(hybrid_settings, job_lease_s=1.0),
        registry=crash_registry(),
        workers=False,
    )
    first = spawn_worker(hybrid_settings, runs)
    second = None
    try:
        with serve_in_thread(edge.app) as url:
            import httpx

            body, headers = signer.signed(command("crashy"))
            assert httpx.post(f"{url}/interactions", content=body, headers=headers).json() == {
                "type": 5
            }
            wait_for(lambda: runs.exists() and runs.read_text().count("\n") == 1)
            first.send_signal(signal.SIGKILL)
            first.wait(5)
            assert fake_discord.requests_for("edit_original") == []
            second = spawn_worker(hybrid_settings, runs)
            fake_discord.wait_for_requests(1, "edit_original", timeout=15)
            edits = fake_discord.requests_for("edit_original")
            assert edits[0].json["content"] == "finished after a crash"
            pids = runs.read_text().split()
            assert pids == [str(first.pid), str(second.pid)]
            # The job is acknowledged: nothing is left to run, so no second edit can come.
            wait_for(lambda: _idle(edge))
            assert len(fake_discord.requests_for("edit_original")) == 1
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def _idle(runtime) -> bool:
    import asyncio

    async def check() -> bool:
        queue = runtime.queue
        return not (await queue.list("pending", 5) or await queue.list("running", 5))

    return asyncio.run(check())
