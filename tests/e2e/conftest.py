"""End-to-end: a real edge + worker on loopback, delivering to a fake Discord REST server."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst_interactions.app import Runtime, build_runtime
from catalyst_interactions.settings import Settings
from fakes.fake_discord import FakeDiscord
from support.servers import serve_in_thread
from support.signing import Signer


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    with FakeDiscord() as fake:
        yield fake


@pytest.fixture
def hybrid_settings(signer: Signer, fake_discord: FakeDiscord, tmp_path: Path) -> Settings:
    return Settings(
        public_key_hex=signer.public_key_hex,
        application_id=fake_discord.application_id,
        api_base=fake_discord.base_url,
        data_dir=tmp_path,
        job_retry_base_s=0.05,
        job_lease_s=2.0,
        worker_concurrency=4,
    )


class Hybrid:
    """A running edge + worker and a client to talk to it."""

    def __init__(self, runtime: Runtime, client: httpx.Client, signer: Signer) -> None:
        self.runtime = runtime
        self.client = client
        self.signer = signer

    def send(self, payload: dict[str, Any]) -> httpx.Response:
        body, headers = self.signer.signed(payload)
        return self.client.post("/interactions", content=body, headers=headers)


@pytest.fixture
def start_hybrid(hybrid_settings: Settings, signer: Signer):
    """Start the system with a given registry (and optional settings overrides)."""
    stack: list[Any] = []

    def start(registry: Any = None, **overrides: Any) -> Hybrid:
        settings = dataclasses.replace(hybrid_settings, **overrides)
        runtime = build_runtime(settings, registry=registry)
        server = serve_in_thread(runtime.app)
        url = server.__enter__()
        stack.append(server)
        client = httpx.Client(base_url=url, timeout=10)
        stack.append(client)
        return Hybrid(runtime, client, signer)

    yield start
    for item in reversed(stack):
        if isinstance(item, httpx.Client):
            item.close()
        else:
            item.__exit__(None, None, None)
