"""A programmable interactions endpoint: verifies Discord's signature, then answers as told."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

Answer = Callable[[dict[str, Any]], Awaitable[tuple[int, bytes]]]


class StubEndpoint:
    def __init__(self, public_key_hex: str) -> None:
        self._key = VerifyKey(bytes.fromhex(public_key_hex))
        self.answer: Answer | None = None
        self.received: list[dict[str, Any]] = []
        self.background: set[asyncio.Task[Any]] = set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        try:
            self._key.verify(
                headers[b"x-signature-timestamp"] + body,
                bytes.fromhex(headers[b"x-signature-ed25519"].decode()),
            )
        except (KeyError, ValueError, BadSignatureError):
            await self._send(send, 401, b'{"error":"bad signature"}')
            return
        payload = json.loads(body)
        if payload["type"] == 1:
            await self._send(send, 200, b'{"type":1}')
            return
        self.received.append(payload)
        assert self.answer is not None
        status, out = await self.answer(payload)
        await self._send(send, status, out)

    @staticmethod
    async def _send(send: Any, status: int, body: bytes) -> None:
        headers = [(b"content-length", str(len(body)).encode())]
        if body:
            headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def later(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)


async def post_callback(
    api_base: str, payload: dict[str, Any], body: dict[str, Any]
) -> httpx.Response:
    """What a backend does after answering 202: the callback through REST."""
    url = f"{api_base}/interactions/{payload['id']}/{payload['token']}/callback"
    async with httpx.AsyncClient() as client:
        return await client.post(url, params={"with_response": "true"}, json=body)
