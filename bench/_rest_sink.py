"""A minimal loopback Discord REST sink: where the deferred benchmark's edits arrive.

It answers ``PATCH /api/v10/webhooks/{application}/{token}/messages/@original`` (JSON, or
``multipart/form-data`` with ``payload_json`` and files, as a chart upload sends it) with 200
and a message object (as Discord does), and remembers for every token when its first
edit arrived (``time.time()`` as the request reaches the app, so the figure is
comparable with the other processes' wall clocks), what content it carried and how many
bytes of PNG it uploaded. Follow-up messages (``POST /webhooks/{application}/{token}``, how
a failure notice can arrive) are counted per token too. It never rate-limits: the benchmark
measures our path, not Discord's buckets.

Other routes: ``GET /health``; ``GET /count`` (``{"edits", "tokens", "uploads", "upload_edits"}``,
cheap, for polling until every edit is in); ``GET /arrivals`` (``{"edits", "arrivals": {token:
[time, content, png_bytes]}, "followups": {token: count}, "uploads": {token: [time,
png_bytes]}, "upload_edits"}``; ``uploads`` keeps each token's first edit with a PNG).
Anything else is a Discord-style 404 or 405.

Run pinned to a core: ``taskset -c 1 python bench/_rest_sink.py --port P``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec
import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_EDIT = re.compile(r"^/api/v10/webhooks/(\d+)/([^/]+)/messages/@original$")
_FOLLOWUP = re.compile(r"^/api/v10/webhooks/(\d+)/([^/]+)$")
_BOUNDARY = re.compile(rb"boundary=([^;\s]+)")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JSON_HEADERS = [(b"content-type", b"application/json")]
_MAX_BODY = 1024 * 1024


class _Edit(msgspec.Struct):
    content: str | None = None


class Sink:
    """Arrival bookkeeping, separate from HTTP so the smoke test can read it directly."""

    def __init__(self) -> None:
        self.edits = 0
        self.arrivals: dict[str, tuple[float, str | None, int]] = {}
        self.followups: dict[str, int] = {}
        self.uploads: dict[str, tuple[float, int]] = {}
        """Per token, the first edit that uploaded a PNG (a chart's final answer; progress
        edits before it carry text only): when it arrived and its PNG bytes."""
        self.upload_edits = 0
        self._next_id = 1_300_000_000_000_000_000

    def record(self, token: str, at: float, content: str | None, png_bytes: int = 0) -> str:
        """Count one edit; the first one per token is the one that ends the user's wait."""
        self.edits += 1
        self.arrivals.setdefault(token, (at, content, png_bytes))
        if png_bytes > 0:
            self.upload_edits += 1
            self.uploads.setdefault(token, (at, png_bytes))
        self._next_id += 1
        return str(self._next_id)

    def record_followup(self, token: str) -> str:
        self.followups[token] = self.followups.get(token, 0) + 1
        self._next_id += 1
        return str(self._next_id)


def split_upload(content_type: bytes, body: bytes) -> tuple[bytes, int]:
    """``(payload_json, png_bytes)`` of a ``multipart/form-data`` body; JSON bodies pass."""
    if not content_type.startswith(b"multipart/form-data"):
        return body, 0
    found = _BOUNDARY.search(content_type)
    if found is None:
        return b"", 0
    payload, png_bytes = b"", 0
    for part in body.split(b"--" + found.group(1).strip(b'"')):
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        data = data.removesuffix(b"\r\n")
        if b'name="payload_json"' in head:
            payload = data
        elif data.startswith(_PNG_MAGIC):
            png_bytes += len(data)
    return payload, png_bytes


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON_HEADERS})
    await send({"type": "http.response.body", "body": body})


def make_app(sink: Sink) -> App:
    encode = msgspec.json.encode
    decode_edit = msgspec.json.Decoder(_Edit).decode

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        arrived = time.time()
        path: str = scope["path"]
        method: str = scope["method"]
        match = _EDIT.match(path)
        if match is not None:
            if method != "PATCH":
                await _respond(send, 405, b'{"message": "405: Method Not Allowed", "code": 0}')
                return
            body = await _read_body(receive)
            content_type = dict(scope["headers"]).get(b"content-type", b"")
            payload, png_bytes = split_upload(content_type, body or b"")
            try:
                edit = decode_edit(payload)
            except msgspec.DecodeError:
                await _respond(
                    send, 400, b'{"message": "Cannot send an empty message", "code": 50006}'
                )
                return
            message_id = sink.record(match.group(2), arrived, edit.content, png_bytes)
            reply: dict[str, object] = {
                "id": message_id,
                "type": 20,
                "channel_id": "1100000000000000002",
                "application_id": match.group(1),
                "content": edit.content or "",
                "embeds": [],
                "components": [],
                "attachments": [],
                "flags": 0,
            }
            await _respond(send, 200, encode(reply))
        elif (followup := _FOLLOWUP.match(path)) is not None and method == "POST":
            await _read_body(receive)
            message_id = sink.record_followup(followup.group(2))
            await _respond(
                send,
                200,
                encode({"id": message_id, "type": 0, "content": "", "flags": 0}),
            )
        elif path == "/health" and method == "GET":
            await _respond(send, 200, b'{"status": "ok"}')
        elif path == "/count" and method == "GET":
            await _respond(
                send,
                200,
                encode(
                    {
                        "edits": sink.edits,
                        "tokens": len(sink.arrivals),
                        "uploads": len(sink.uploads),
                        "upload_edits": sink.upload_edits,
                    }
                ),
            )
        elif path == "/arrivals" and method == "GET":
            await _respond(
                send,
                200,
                encode(
                    {
                        "edits": sink.edits,
                        "arrivals": sink.arrivals,
                        "followups": sink.followups,
                        "uploads": sink.uploads,
                        "upload_edits": sink.upload_edits,
                    }
                ),
            )
        else:
            await _respond(send, 404, b'{"message": "404: Not Found", "code": 0}')

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(
        make_app(Sink()),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
