"""The Worker in workerd on loopback, in front of the real Python backend and a fake Discord.

One stack per module (starting workerd costs about half a second): the fake Discord, the
backend (edge + queue + workers, hand-over enabled) served in a thread, and one workerd
process serving three copies of the Worker that differ only in configuration:

- ``edge``: the normal deployment;
- ``down``: its backend URL points at a closed port (the backend is unreachable);
- ``forged``: it holds the wrong hand-over secret (the backend must refuse it).
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from nacl.signing import SigningKey

from catalyst_interactions.app import Runtime, build_runtime
from catalyst_interactions.discord.messages import ActionRow, Button, Embed, Message
from catalyst_interactions.framework.context import (
    AccessPolicy,
    CommandContext,
    ComponentContext,
    Context,
)
from catalyst_interactions.framework.dispatch import Dispatcher
from catalyst_interactions.framework.errors import CheckFailure
from catalyst_interactions.framework.modes import Mode
from catalyst_interactions.framework.registry import Registry
from catalyst_interactions.ops.manifest import build_manifest
from catalyst_interactions.secret import Secret
from catalyst_interactions.settings import Settings
from fakes.fake_discord import FakeDiscord
from support.servers import free_port, serve_in_thread
from support.signing import Signer

WORKER_DIR = Path(__file__).resolve().parents[2] / "workers" / "cloudflare"
sys.path.insert(0, str(WORKER_DIR))

from local_workerd import WORKER_JS, WorkerSpec, running_workerd  # noqa: E402

HANDOVER_SECRET = "handover-secret-for-tests-0123456789"
BUDGET_MS = 400
SLOW_S = 1.0


@dataclass
class Calls:
    """Handler runs, observable from the test thread."""

    runs: list[str] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, name: str) -> None:
        with self.cond:
            self.runs.append(name)
            self.cond.notify_all()

    def wait_for(self, name: str, count: int, timeout: float = 10.0) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: self.runs.count(name) >= count, timeout):
                raise TimeoutError(f"{name} ran {self.runs.count(name)} times, not {count}")


def make_registry(calls: Calls) -> Registry:
    reg = Registry()

    @reg.command("help", "How to use the bot")
    async def help_(ctx: CommandContext) -> Message:
        return Message(content="help from the backend")

    @reg.command("quote", "A quick inline answer")
    async def quote(ctx: CommandContext, ticker: str) -> Message:
        calls.add("quote")
        return Message(content=f"{ticker.upper()} last 101.25")

    @reg.command("render", "A deferred chart", mode=Mode.DEFERRED)
    async def render(ctx: CommandContext, ticker: str) -> Message:
        calls.add("render")
        return Message(
            embeds=[Embed(title=f"{ticker} chart")],
            components=[ActionRow([Button(label="5D", custom_id=f"tf:{ticker}:5D")])],
        )

    @reg.command("slow", "An inline handler that overruns its budget")
    async def slow(ctx: CommandContext, ticker: str) -> Message:
        await asyncio.sleep(SLOW_S)
        calls.add("slow")
        return Message(content=f"slow answer for {ticker}")

    @reg.component("tf:{ticker}:{tf}", mode=Mode.DEFERRED)
    async def timeframe(ctx: ComponentContext, ticker: str, tf: str) -> Message:
        calls.add("tf")
        return Message(content=f"{ticker} {tf}")

    async def admins_only(ctx: Context) -> None:
        if not ctx.is_admin:
            raise CheckFailure("Only admins can do that.")

    @reg.command(
        "secret", "Admins only, deferred", mode=Mode.DEFERRED, ephemeral=True, checks=(admins_only,)
    )
    async def secret(ctx: CommandContext) -> Message:
        calls.add("secret")
        return Message(content="classified")

    return reg


@dataclass
class Stack:
    signer: Signer
    fake: FakeDiscord
    backend: Runtime
    backend_url: str
    urls: dict[str, str]
    manifest: dict[str, Any]
    calls: Calls
    client: httpx.Client
    log: Any

    def post(self, worker: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.client.post(f"{self.urls[worker]}/interactions", content=body, headers=headers)

    def send(self, worker: str, payload: dict[str, Any], **kw: Any) -> httpx.Response:
        body, headers = self.signer.signed(payload, **kw)
        return self.post(worker, body, headers)

    def queue_depth(self) -> int:
        return int(asyncio.run(self.backend.queue.depth()))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    signer = Signer(SigningKey.generate())
    calls = Calls()
    registry = make_registry(calls)
    tmp = tmp_path_factory.mktemp("cloudflare")
    with FakeDiscord() as fake:
        settings = Settings(
            public_key_hex=signer.public_key_hex,
            application_id=fake.application_id,
            api_base=fake.base_url,
            data_dir=tmp / "data",
            job_retry_base_s=0.05,
            job_lease_s=5.0,
            worker_concurrency=4,
            handover_secret=Secret(HANDOVER_SECRET),
            # Administrator counts only in a home server: 500 is the tests' guild.
            admin_guild_ids=frozenset({"500"}),
        )
        backend = build_runtime(settings, registry=registry)
        manifest = asyncio.run(
            build_manifest(
                registry,
                Dispatcher(registry, resources=backend.resources, access=AccessPolicy()),
                auto_budget_s=1.0,
            )
        )
        manifest_path = tmp / "manifest.json"
        manifest_path.write_text(json.dumps(manifest))
        with serve_in_thread(backend.app) as backend_url:
            common = {
                "DISCORD_API_BASE": fake.base_url,
                "BUDGET_MS": str(BUDGET_MS),
                "HANDOVER_BACKOFF_MS": "20",
                "HANDOVER_ATTEMPTS": "3",
            }
            workers = [
                WorkerSpec(
                    "edge", WORKER_JS, manifest_path, {**common, "BACKEND_URL": backend_url}
                ),
                WorkerSpec(
                    "down",
                    WORKER_JS,
                    manifest_path,
                    {**common, "BACKEND_URL": f"http://127.0.0.1:{free_port()}"},
                ),
                WorkerSpec(
                    "forged",
                    WORKER_JS,
                    manifest_path,
                    {**common, "BACKEND_URL": backend_url},
                    secrets={
                        "DISCORD_PUBLIC_KEY": "DISCORD_PUBLIC_KEY",
                        "HANDOVER_SECRET": "FORGED_SECRET",
                    },
                ),
            ]
            secrets = {
                "DISCORD_PUBLIC_KEY": signer.public_key_hex,
                "HANDOVER_SECRET": HANDOVER_SECRET,
                "FORGED_SECRET": "not-the-shared-secret-at-all-000",
            }
            with (
                running_workerd(workers, secrets=secrets) as run,
                httpx.Client(timeout=10) as client,
            ):
                yield Stack(
                    signer, fake, backend, backend_url, run.urls, manifest, calls, client, run
                )


@pytest.fixture
def cf(stack: Stack) -> Stack:
    """The module's stack with the fake Discord's record cleared."""
    stack.fake.reset()
    return stack
