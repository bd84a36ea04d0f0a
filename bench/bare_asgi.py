"""The ceiling baseline: a bare ASGI app that verifies and answers, nothing else.

No framework, no routing table, no replay store: the key is parsed once, the body is
read, the Ed25519 signature over ``timestamp + body`` is checked, the JSON decoded, and a
pre-encoded answer sent (``{"type":1}`` for PING, a fixed type-4 message for a command).
Served by uvicorn with httptools and uvloop, access log off. Our edge should come close
to it (budget: 90% on PING) while doing far more.

Run: ``DISCORD_PUBLIC_KEY=<hex> python bench/bare_asgi.py --port 8082``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec
import uvicorn
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Interaction(msgspec.Struct):
    type: int


def make_app(public_key_hex: str) -> ASGIApp:
    """An ASGI app bound to one verify key (parsed here, once)."""
    verify_key = VerifyKey(bytes.fromhex(public_key_hex))
    decoder = msgspec.json.Decoder(_Interaction)
    encode = msgspec.json.encode
    answers = {
        1: encode({"type": 1}),
        2: encode({"type": 4, "data": {"content": "Catalyst Bot: /chart, /watchlist, /help"}}),
    }
    health = encode({"status": "ok"})

    async def respond(send: Send, status: int, body: bytes) -> None:
        # An explicit length spares uvicorn the chunked encoding.
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/health":
            await respond(send, 200, health)
            return
        if path != "/interactions" or scope["method"] != "POST":
            await respond(send, 404, b'{"error":"not found"}')
            return

        chunks = []
        more = True
        while more:
            event = await receive()
            chunks.append(event.get("body", b""))
            more = event.get("more_body", False)
        body = b"".join(chunks)

        signature = timestamp = b""
        for name, value in scope["headers"]:
            if name == b"x-signature-ed25519":
                signature = value
            elif name == b"x-signature-timestamp":
                timestamp = value
        try:
            verify_key.verify(timestamp + body, bytes.fromhex(signature.decode("ascii")))
        except (BadSignatureError, ValueError):
            await respond(send, 401, b'{"error":"invalid request signature"}')
            return

        try:
            interaction_type = decoder.decode(body).type
        except msgspec.DecodeError:
            await respond(send, 400, b'{"error":"invalid json"}')
            return
        answer = answers.get(interaction_type)
        if answer is None:
            await respond(send, 400, b'{"error":"unknown interaction type"}')
            return
        await respond(send, 200, answer)

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args(argv)

    public_key = os.environ.get("DISCORD_PUBLIC_KEY", "")
    try:
        if len(bytes.fromhex(public_key)) != 32:
            raise ValueError
    except ValueError:
        print("DISCORD_PUBLIC_KEY must be 64 hex characters", file=sys.stderr)
        return 2

    uvicorn.run(
        make_app(public_key),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
