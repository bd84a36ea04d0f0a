"""An OpenAI-compatible ``/v1/chat/completions`` server for tests, streaming or not.

With ``"stream": true`` it answers the way OpenAI, Ollama (``/v1``), vLLM and llama.cpp's
server do: ``Content-Type: text/event-stream``, a first chunk with the assistant role, one
``data: {json}`` event per piece of text in ``choices[0].delta.content``, a last chunk with
``finish_reason`` and then ``data: [DONE]``. Each event is flushed on its own, ``delay_s``
apart, so a client really receives the answer piece by piece over loopback HTTP.

``hold_after`` pieces, the stream waits for :attr:`release` (a threading event) so a browser
test can look at the answer half-written; ``cut_after`` ends the response early without
``[DONE]`` (a dropped connection), ``error_after`` sends an error chunk like vLLM does.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any


def pieces(text: str) -> list[str]:
    """The answer cut the way a model emits it: words with their following whitespace."""
    return re.findall(r"\S+\s*|\s+", text)


@dataclass
class ChatServer:
    answer: str = "AAPL looks busy."
    status: int = 200
    model: str = "test-model"
    delay_s: float = 0.0
    hold_after: int | None = None
    cut_after: int | None = None
    error_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    """Set while the stream waits at ``hold_after``."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    sent_pieces: int = 0
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
        request = json.loads(body or b"null")
        with self.lock:
            self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
            self.requests.append({"path": scope["path"], "json": request})
        if self.status != 200:
            error = {"error": {"message": "upstream exploded", "type": "server_error"}}
            await self._json(send, self.status, error)
        elif isinstance(request, dict) and request.get("stream") is True:
            await self._stream(send)
        else:
            await self._json(send, 200, self._completion())

    def _completion(self) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": self.answer},
                }
            ],
        }

    @staticmethod
    async def _json(send: Any, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(chunk)}\n\n".encode()

    async def _stream(self, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )

        async def emit(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        await emit(b": keep-alive comment, ignored by clients\n\n")
        await emit(self._chunk({"role": "assistant", "content": ""}))
        for n, piece in enumerate(pieces(self.answer)):
            if n == self.cut_after:
                await send({"type": "http.response.body", "body": b""})
                return
            if n == self.error_after:
                await emit(b'data: {"error": {"message": "model crashed", "code": 500}}\n\n')
                await send({"type": "http.response.body", "body": b""})
                return
            if n == self.hold_after:
                self.holding.set()
                while not self.release.is_set():
                    await asyncio.sleep(0.01)
                self.holding.clear()
            await emit(self._chunk({"content": piece}))
            with self.lock:
                self.sent_pieces = n + 1
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        await emit(self._chunk({}, "stop"))
        await emit(b"data: [DONE]\n\n")
        await send({"type": "http.response.body", "body": b""})
