"""``multipart/form-data`` bodies for uploads (Discord REF #uploading-files).

One ``payload_json`` part (``application/json``) followed by ``files[n]`` parts, each with
its filename and a content type guessed from the extension. ``n`` is the index in
``files``, which the payload's ``attachments[].id`` refers to.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Sequence
from typing import Protocol

__all__ = ["FileLike", "content_type_for", "encode_multipart"]


class FileLike(Protocol):
    """What an upload needs; ``catalyst_interactions.discord.messages.File`` fits it."""

    @property
    def filename(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def description(self) -> str | None: ...


def content_type_for(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"


def _quote(name: str) -> str:
    # Header-safe filename: no line breaks, quotes escaped the way browsers do.
    return name.replace("\r", "").replace("\n", "").replace('"', "%22")


def encode_multipart(payload_json: bytes, files: Sequence[FileLike]) -> tuple[str, bytes]:
    """Return ``(content_type, body)``."""
    boundary = secrets.token_hex(16)
    while any(boundary.encode() in f.data for f in files) or boundary.encode() in payload_json:
        boundary = secrets.token_hex(16)
    dash = b"--" + boundary.encode()
    chunks = [
        dash,
        b'\r\nContent-Disposition: form-data; name="payload_json"'
        b"\r\nContent-Type: application/json\r\n\r\n",
        payload_json,
        b"\r\n",
    ]
    for index, file in enumerate(files):
        disposition = f'form-data; name="files[{index}]"; filename="{_quote(file.filename)}"'
        chunks += [
            dash,
            f"\r\nContent-Disposition: {disposition}".encode(),
            f"\r\nContent-Type: {content_type_for(file.filename)}\r\n\r\n".encode(),
            bytes(file.data),
            b"\r\n",
        ]
    chunks += [dash, b"--\r\n"]
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks)
