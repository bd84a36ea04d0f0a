"""Uploads: the multipart body parsed back by the standard library equals what was sent."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest

from catalyst_interactions.discord.messages import File
from catalyst_interactions.discord.rest import DiscordRest
from fakes.fake_discord import FakeDiscord

from .conftest import INTERACTION_ID, TOKEN

pytestmark = pytest.mark.loopback

# Bytes that would break a naive encoder: CRLF, a fake boundary, every byte value.
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--boundary--\r\n" + os.urandom(4096)
CSV = b"date,close\r\n2026-01-02,187.2\r\n"


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    description: str | None = None


async def test_edit_original_with_files(rest: DiscordRest, fake: FakeDiscord) -> None:
    payload = {
        "content": "chart",
        "embeds": [{"image": {"url": "attachment://aapl.png"}}],
        "attachments": [
            {"id": 0, "filename": "aapl.png", "description": "AAPL 1D"},
            {"id": 1, "filename": "aapl.csv"},
        ],
    }
    files = [File("aapl.png", PNG, "AAPL 1D"), Upload("aapl.csv", CSV)]
    message = await rest.edit_original(TOKEN, payload, files)

    (request,) = fake.requests
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    parts = request.parts
    assert [p.name for p in parts] == ["payload_json", "files[0]", "files[1]"]
    assert parts[0].content_type == "application/json"
    assert parts[0].filename is None
    assert json.loads(parts[0].data) == payload
    assert (parts[1].filename, parts[1].content_type, parts[1].data) == (
        "aapl.png",
        "image/png",
        PNG,
    )
    assert (parts[2].filename, parts[2].content_type, parts[2].data) == (
        "aapl.csv",
        "text/csv",
        CSV,
    )
    # The fake turned the uploads into attachments, proving it saw whole files.
    assert [(a["filename"], a["size"]) for a in message["attachments"]] == [
        ("aapl.png", len(PNG)),
        ("aapl.csv", len(CSV)),
    ]


async def test_callback_followup_and_channel_with_files(
    rest: DiscordRest, fake: FakeDiscord
) -> None:
    data = {"content": "x", "attachments": [{"id": 0, "filename": "a.bin"}]}
    files = [Upload("a.bin", b"\x00\x01\x02")]
    await rest.create_interaction_response(INTERACTION_ID, TOKEN, {"type": 4, "data": data}, files)
    await rest.create_followup(TOKEN, data, files)
    await rest.create_channel_message("1200000000000000007", data, files)
    for request in fake.requests:
        parts = request.parts
        assert parts[1].name == "files[0]"
        assert parts[1].content_type == "application/octet-stream"  # unknown extension
        assert parts[1].data == b"\x00\x01\x02"
    assert fake.requests[0].json == {"type": 4, "data": data}
    assert fake.requests[1].json == data


async def test_filename_cannot_inject_headers(rest: DiscordRest, fake: FakeDiscord) -> None:
    await rest.create_followup(
        TOKEN, {"attachments": [{"id": 0}]}, [Upload('a"\r\nX: y.png', b"1")]
    )
    part = fake.requests[0].parts[1]
    assert part.name == "files[0]"
    assert part.data == b"1"
    assert "\r" not in (part.filename or "")
    assert "\n" not in (part.filename or "")
