"""Helpers for the command tests: a fixed-price provider, a loopback OpenAI-compatible
server, and a client that validates every reply the bot sends."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from catalyst_interactions.app import Runtime
from catalyst_interactions.discord.validation import validate_callback, validate_message_payload
from catalyst_interactions.market.bars import Bars, Quote
from catalyst_interactions.market.errors import UnknownTicker
from catalyst_interactions.market.timeframe import Timeframe
from catalyst_interactions.store import Store, database_url
from fakes.fake_discord import FakeDiscord, RecordedRequest
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

    async def bars(self, ticker: str, timeframe: Timeframe) -> Bars:
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


@dataclass
class FakeLLM:
    """An OpenAI-compatible ``/v1/chat/completions`` endpoint that records requests."""

    answer: str = "AAPL looks busy."
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        with self.lock:
            self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
            self.requests.append({"path": scope["path"], "json": json.loads(body or b"null")})
        payload: dict[str, Any]
        if self.status != 200:
            payload = {"error": {"message": "upstream exploded", "type": "server_error"}}
        else:
            payload = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": "test-model",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": self.answer},
                    }
                ],
            }
        raw = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})


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
        self._edits = 0

    @property
    def services(self) -> Any:
        return self.runtime.extras["services"]

    def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a signed interaction; the answer must be 200 and valid for Discord."""
        body, headers = self.signer.signed(payload)
        response = self.client.post("/interactions", content=body, headers=headers)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        assert validate_callback(answer, interaction_type=payload["type"]) == []
        return answer

    def deferred(self, payload: dict[str, Any]) -> tuple[dict[str, Any], RecordedRequest]:
        """Send, expect a type-5 ack, and return it with the worker's edit (validated)."""
        ack = self.send(payload)
        assert ack["type"] == 5, ack
        self._edits += 1
        self.fake.wait_for_requests(self._edits, "edit_original", timeout=15)
        edit = self.fake.requests_for("edit_original")[self._edits - 1]
        assert validate_message_payload(edit.json, edit=True) == []
        return ack, edit

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
