"""Where nesting is refused (discord/payloads.py, MAX_DEPTH): in everything decoded into Python
containers (the clicked message, ``data``); a skipped field only past msgspec's recursion
limit. Never an exception other than PayloadError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalyst_interactions.discord.payloads import (
    MAX_DEPTH,
    PayloadError,
    command_data,
    component_data,
    decode_interaction,
)
from support.signing import command, component


def nested(depth: int) -> str:
    """A JSON value nesting ``depth`` arrays."""
    return "[" * depth + "1" + "]" * depth


def body_with(payload: dict[str, Any], where: str, depth: int) -> bytes:
    """``payload`` as JSON with the value at ``where`` (a placeholder) nested ``depth`` deep."""
    return json.dumps(payload).replace(f'"{where}"', nested(depth)).encode()


def test_data_nested_past_the_limit_is_refused_when_decoded() -> None:
    for depth, refused in ((MAX_DEPTH - 2, False), (MAX_DEPTH, True), (5_000, True)):
        payload = command("help")
        payload["data"]["junk"] = "__DEEP__"  # data itself is one level: depth + 1 in all
        body = body_with(payload, "__DEEP__", depth)
        if refused:  # by the data check, or (5,000) by msgspec validating the raw data
            with pytest.raises(PayloadError, match=f"nested deeper than {MAX_DEPTH}"):
                command_data(decode_interaction(body))
        else:
            assert command_data(decode_interaction(body)).name == "help"


def test_a_skipped_field_is_refused_only_past_the_recursion_limit() -> None:
    payload = command("help") | {"unknown_field": "__DEEP__"}
    # Skipped by msgspec without building anything: accepted, and data is still checked.
    interaction = decode_interaction(body_with(payload, "__DEEP__", 200))
    assert command_data(interaction).name == "help"
    for depth in (5_000, 60_000):  # RecursionError inside msgspec becomes a PayloadError
        with pytest.raises(PayloadError, match=f"nested deeper than {MAX_DEPTH}"):
            decode_interaction(body_with(payload, "__DEEP__", depth))


def test_the_clicked_message_is_checked_with_the_whole_body() -> None:
    payload = component("chart:refresh")
    payload["message"] = {"id": "1", "channel_id": "2", "components": [{"x": "__DEEP__"}]}
    shallow = decode_interaction(body_with(payload, "__DEEP__", 10))
    assert component_data(shallow).custom_id == "chart:refresh"
    for depth in (MAX_DEPTH, 900, 60_000):
        with pytest.raises(PayloadError, match=f"nested deeper than {MAX_DEPTH}"):
            decode_interaction(body_with(payload, "__DEEP__", depth))
