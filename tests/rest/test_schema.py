"""The JSON bodies the client puts on the wire validate against Discord's OpenAPI spec.

The bodies are captured by the fake server (so this checks what was sent, after encoding
and multipart packing), then validated against the request schema of the matching
operation in tests/data/discord-openapi/openapi.json (Discord's spec, vendored from the
project's shared material with its MIT licence; OpenAPI 3.1 = JSON Schema 2020-12).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from catalyst_interactions.discord.rest import DiscordRest
from fakes.fake_discord import FakeDiscord, RecordedRequest

from .conftest import INTERACTION_ID, TOKEN
from .test_multipart import Upload

pytestmark = pytest.mark.loopback

SPEC = Path(__file__).resolve().parents[1] / "data" / "discord-openapi" / "openapi.json"
SPEC_URI = "urn:discord-openapi"

# (fake route name) -> (OpenAPI path, method)
OPERATIONS = {
    "callback": ("/interactions/{interaction_id}/{interaction_token}/callback", "post"),
    "edit_original": ("/webhooks/{webhook_id}/{webhook_token}/messages/@original", "patch"),
    "create_followup": ("/webhooks/{webhook_id}/{webhook_token}", "post"),
    "edit_followup": ("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", "patch"),
    "put_global_commands": ("/applications/{application_id}/commands", "put"),
    "put_guild_commands": ("/applications/{application_id}/guilds/{guild_id}/commands", "put"),
    "edit_channel_message": ("/channels/{channel_id}/messages/{message_id}", "patch"),
}


def pointer(*tokens: str) -> str:
    return "/".join(t.replace("~", "~0").replace("/", "~1") for t in tokens)


@pytest.fixture(scope="session")
def validators() -> dict[str, Draft202012Validator]:
    spec = json.loads(SPEC.read_text())
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    made = {}
    for route, (path, method) in OPERATIONS.items():
        ref = f"{SPEC_URI}#/" + pointer(
            "paths", path, method, "requestBody", "content", "application/json", "schema"
        )
        made[route] = Draft202012Validator({"$ref": ref}, registry=registry)
    return made


def validate(validators: dict[str, Draft202012Validator], request: RecordedRequest) -> None:
    assert request.route is not None
    errors = sorted(validators[request.route].iter_errors(request.json), key=str)
    assert not errors, f"{request.route}: " + "; ".join(e.message for e in errors[:3])


CHART_MESSAGE = {
    "content": None,
    "embeds": [
        {
            "title": "AAPL · 1D",
            "description": "Close 187.20 (+1.3%)",
            "color": 0x2ECC71,
            "image": {"url": "attachment://aapl_1d.png"},
            "fields": [{"name": "VWAP", "value": "186.90", "inline": True}],
        }
    ],
    "components": [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 2, "label": "5D", "custom_id": "c1:chart:AAPL:5D"},
                {
                    "type": 2,
                    "style": 5,
                    "label": "Yahoo",
                    "url": "https://finance.yahoo.com/quote/AAPL",
                },
            ],
        }
    ],
    "attachments": [{"id": "0", "filename": "aapl_1d.png", "description": "AAPL daily chart"}],
    "allowed_mentions": {"parse": []},
}

COMMANDS = [
    {
        "name": "chart",
        "description": "Show a price chart",
        "type": 1,
        "options": [
            {
                "type": 3,
                "name": "ticker",
                "description": "Symbol",
                "required": True,
                "autocomplete": True,
                "max_length": 12,
            },
            {
                "type": 3,
                "name": "timeframe",
                "description": "Range",
                "choices": [{"name": "1 day", "value": "1D"}, {"name": "5 days", "value": "5D"}],
            },
        ],
        "contexts": [0, 1, 2],
        "integration_types": [0, 1],
    },
    {"name": "Add to watchlist", "type": 3, "contexts": [0]},
]


async def test_callback_bodies_match_the_spec(
    rest: DiscordRest, fake: FakeDiscord, validators: dict[str, Draft202012Validator]
) -> None:
    bodies: list[dict[str, Any]] = [
        {"type": 5, "data": {"flags": 64}},
        {"type": 4, "data": {"content": "Watchlist: AAPL, MSFT", "flags": 64}},
        {"type": 6},
        {"type": 7, "data": {"content": "updated", "components": []}},
        {"type": 8, "data": {"choices": [{"name": "Apple", "value": "AAPL"}]}},
        {
            "type": 9,
            "data": {
                "custom_id": "c1:alert_modal",
                "title": "New alert",
                "components": [
                    {
                        "type": 18,
                        "label": "Price",
                        "component": {"type": 4, "custom_id": "price", "style": 1},
                    }
                ],
            },
        },
    ]
    for n, body in enumerate(bodies):
        await rest.create_interaction_response(str(int(INTERACTION_ID) + n), TOKEN, body)
    for request in fake.requests:
        validate(validators, request)


async def test_message_bodies_match_the_spec(
    rest: DiscordRest, fake: FakeDiscord, validators: dict[str, Draft202012Validator]
) -> None:
    chart = [Upload("aapl_1d.png", b"\x89PNG...")]
    await rest.edit_original(TOKEN, CHART_MESSAGE, chart)
    created = await rest.create_followup(TOKEN, {"content": "Alert set", "flags": 64})
    await rest.edit_followup(TOKEN, created["id"], {"content": "Alert fired", "embeds": []})
    channel_message = await rest.create_channel_message("1200000000000000007", {"content": "r"})
    await rest.edit_channel_message(
        "1200000000000000007", channel_message["id"], {"content": "report closed", "components": []}
    )
    checked = [r for r in fake.requests if r.route in OPERATIONS]
    assert [r.route for r in checked] == [
        "edit_original",
        "create_followup",
        "edit_followup",
        "edit_channel_message",
    ]
    for request in checked:
        validate(validators, request)


async def test_bulk_overwrite_matches_the_spec(
    rest: DiscordRest, fake: FakeDiscord, validators: dict[str, Draft202012Validator]
) -> None:
    await rest.bulk_overwrite_commands(COMMANDS)
    await rest.bulk_overwrite_commands(COMMANDS, guild_id="1400000000000000009")
    for request in fake.requests:
        validate(validators, request)


def test_the_validator_rejects_bad_bodies(validators: dict[str, Draft202012Validator]) -> None:
    """Guards against a vacuous schema (an unresolved $ref accepting everything)."""
    assert not validators["callback"].is_valid({"type": 99})
    assert not validators["edit_original"].is_valid({"content": "x" * 2001})
    assert not validators["put_global_commands"].is_valid([{"name": "x" * 40, "type": 1}])
