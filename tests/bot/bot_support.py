"""Helpers for the command tests: a fixed-price provider, a loopback OpenAI-compatible
server, and a client that validates every reply the bot sends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from catalyst_interactions.app import Runtime
from catalyst_interactions.market.bars import Bars, Quote
from catalyst_interactions.market.errors import UnknownTicker
from catalyst_interactions.market.timeframe import Timeframe
from catalyst_interactions.store import Store, database_url
from fakes.fake_discord import FakeDiscord, RecordedRequest
from support.discord_rules import answer_problems, webhook_message_problems
from support.llm_server import ChatServer
from support.signing import Signer

T = TypeVar("T")
SOURCE = "fixed test prices"


def day_start(days_ago: int) -> datetime:
    """00:00 UTC of the day ``days_ago`` days before today."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


class FixedProvider:
    """Daily bars closing at 21:00 UTC on days d-9 … d-1 with the given closes."""

    name = SOURCE

    def __init__(self, closes: dict[str, list[float]]) -> None:
        self.closes = closes
        self.quotes = 0

    async def aclose(self) -> None:
        return None

    def stamps(self, ticker: str) -> list[int]:
        n = len(self.closes[ticker])
        return [int((day_start(n - k) + timedelta(hours=21)).timestamp()) for k in range(n)]

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        closes = self.closes.get(ticker.upper())
        if closes is None:
            raise UnknownTicker(ticker, f"Unknown ticker: {ticker}.")
        return Bars.from_columns(
            ticker=ticker.upper(),
            timeframe=timeframe,
            timestamps=self.stamps(ticker.upper()),
            open=closes,
            high=closes,
            low=closes,
            close=closes,
            volume=[1e6] * len(closes),
            source=SOURCE,
            simulated=False,
            as_of=datetime.now(UTC),
        )

    async def quote(self, ticker: str) -> Quote:
        self.quotes += 1
        closes = self.closes.get(ticker.upper())
        if closes is None:
            raise UnknownTicker(ticker, f"Unknown ticker: {ticker}.")
        last, prev = closes[-1], closes[-2]
        return Quote(
            ticker=ticker.upper(),
            last=last,
            change=last - prev,
            change_pct=(last - prev) / prev * 100,
            volume=1e6,
            as_of=datetime.now(UTC),
            source=SOURCE,
            simulated=False,
        )


FakeLLM = ChatServer
"""The OpenAI-compatible test server (streaming or not), see support/llm_server.py."""


class Bot:
    """The real Catalyst runtime on loopback, and helpers to talk to it."""

    def __init__(
        self,
        runtime: Runtime,
        client: httpx.Client,
        signer: Signer,
        fake: FakeDiscord,
        data_dir: Path,
    ) -> None:
        self.runtime = runtime
        self.client = client
        self.signer = signer
        self.fake = fake
        self.data_dir = data_dir
        self.last_edits: list[RecordedRequest] = []
        """Every edit of the original message made by the last :meth:`deferred` job."""

    @property
    def services(self) -> Any:
        return self.runtime.resources

    def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a signed interaction; the answer must be 200 and valid for Discord."""
        body, headers = self.signer.signed(payload)
        response = self.client.post("/interactions", content=body, headers=headers)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        assert answer_problems(answer, payload) == []
        return answer

    def jobs_finished(self) -> float:
        """Jobs delivered or dead-lettered so far (the worker's own counter)."""
        metrics = self.runtime.metrics
        return sum(
            sample.value
            for counter in (metrics.jobs_delivered, metrics.jobs_dead)
            for metric in counter.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )

    def deferred(self, payload: dict[str, Any]) -> tuple[dict[str, Any], RecordedRequest]:
        """Send, expect a type-5 ack, and return it with the worker's final edit (validated).

        Progress edits may come first; the final one is the last edit of the interaction's
        message once the worker has finished the job.
        """
        finished = self.jobs_finished()
        before = len(self.fake.requests_for("edit_original"))
        ack = self.send(payload)
        assert ack["type"] == 5, ack
        deadline = time.monotonic() + 15
        while self.jobs_finished() <= finished:
            assert time.monotonic() < deadline, "the worker did not finish the job"
            time.sleep(0.01)
        self.last_edits = self.fake.requests_for("edit_original")[before:]
        assert self.last_edits, "no edit of the original message"
        for edit in self.last_edits:
            assert webhook_message_problems(edit.json, edit=True) == []
        return ack, self.last_edits[-1]

    def refused_after_ack(self, payload: dict[str, Any]) -> str:
        """Send a command whose problem is found after its public type-5 ack: the public
        placeholder must be deleted, then the reason sent privately. Returns the reason."""
        ack = self.send(payload)
        assert ack["type"] == 5 and not ack.get("data", {}).get("flags"), ack
        deleted = len(self.fake.requests_for("delete_original"))
        notices = len(self.fake.requests_for("create_followup"))
        self.fake.wait_for_requests(notices + 1, "create_followup", timeout=15)
        assert len(self.fake.requests_for("delete_original")) == deleted + 1
        order = [r.route for r in self.fake.requests if r.route != "get_original"]
        assert order[-2:] == ["delete_original", "create_followup"], order
        notice = self.fake.requests_for("create_followup")[-1]
        assert notice.json["flags"] == 64
        assert webhook_message_problems(notice.json) == []
        return str(notice.json["content"])

    def with_store(self, work: Callable[[Store], Awaitable[T]]) -> T:
        """Run ``work`` against the bot's database from the test thread."""

        async def run() -> T:
            store = Store(self.database_url())
            try:
                return await work(store)
            finally:
                await store.close()

        return asyncio.run(run())

    def database_url(self) -> str:
        return database_url(self.runtime.settings.database_url, self.data_dir)


def content(answer: dict[str, Any]) -> str:
    return str(answer.get("data", {}).get("content", ""))


def is_ephemeral(answer: dict[str, Any]) -> bool:
    return bool(answer.get("data", {}).get("flags", 0) & 64)


def embed(answer: dict[str, Any], index: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = answer["data"]["embeds"][index]
    return result


def field_value(emb: dict[str, Any], name_start: str) -> str:
    for item in emb.get("fields", []):
        if str(item["name"]).startswith(name_start):
            return str(item["value"])
    raise AssertionError(f"no field {name_start!r} in {[f['name'] for f in emb.get('fields', [])]}")
