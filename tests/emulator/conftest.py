"""A running local Discord (edge + workers + emulator) with the demo bot and a movable clock."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from browser.demo_bot import demo_registry
from catalyst_interactions.emulator import DevStack, RateLimitRules, build_dev
from catalyst_interactions.settings import Settings


class Clock:
    """Real time plus an offset a test can move; the emulator reads it for token lifetimes,
    the 3-second deadline, rate-limit windows and signature timestamps."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Local:
    """Drives the emulator's page API and Discord REST API like the page and the bot do."""

    def __init__(self, stack: DevStack, clock: Clock) -> None:
        self.stack = stack
        self.clock = clock
        self.page = httpx.Client(base_url=stack.url, timeout=10)
        self.api = httpx.Client(base_url=stack.api_base, timeout=10)

    @property
    def store(self) -> Any:
        return self.stack.emulator.store

    def bot_headers(self) -> dict[str, str]:
        return {"Authorization": "Bot " + self.stack.emulator.bot_token.reveal()}

    def command_id(self, name: str) -> str:
        state = self.page.get("/ui/state").json()
        return str(next(c["id"] for c in state["commands"] if c["name"] == name))

    def interact(self, **body: Any) -> dict[str, Any]:
        response = self.page.post("/ui/interactions", json=body)
        result: dict[str, Any] = response.json()
        return result

    def command(self, name: str, persona: str = "regular", **options: Any) -> dict[str, Any]:
        return self.interact(
            kind="command",
            persona=persona,
            command_id=self.command_id(name),
            path=[name],
            options=options,
        )

    def token(self, interaction_id: str) -> str:
        token: str = self.store.interactions[interaction_id].token
        return token

    def hook(self, interaction_id: str) -> str:
        app_id = self.stack.emulator.world.application_id
        return f"/webhooks/{app_id}/{self.token(interaction_id)}"

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], since: int, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Read the page's event stream until an event's data satisfies ``predicate``."""
        with self.page.stream(
            "GET", "/ui/events", params={"since": since}, timeout=httpx.Timeout(timeout)
        ) as stream:
            deadline = time.monotonic() + timeout
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    if predicate(event):
                        return event  # type: ignore[no-any-return]
                if time.monotonic() > deadline:
                    break
        raise TimeoutError("no matching event")

    def close(self) -> None:
        self.page.close()
        self.api.close()


def start_local(tmp: Path, *, rate_limits: RateLimitRules | None = None) -> Iterator[Local]:
    clock = Clock()
    stack = build_dev(
        Settings(data_dir=tmp, job_retry_base_s=0.05),
        demo_registry(),
        port=0,
        clock=clock,
        rate_limits=rate_limits,
    )
    with stack.background():
        local = Local(stack, clock)
        try:
            yield local
        finally:
            local.close()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    yield from start_local(tmp_path_factory.mktemp("dev"))


@pytest.fixture
def clock(local: Local) -> Iterator[Clock]:
    """The stack's clock, put back after the test (later tests sign with it)."""
    yield local.clock
    local.clock.offset = 0.0
