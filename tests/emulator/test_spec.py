"""The emulator's reading of Discord's spec: the shipped extract, its walker, its routes.

The extract (src/catalyst_interactions/emulator/discord_api.json) must be exactly what
tools/extract_discord_spec.py makes from the vendored spec; the walker must agree with the
reference JSON Schema 2020-12 implementation (``jsonschema``) on every body below; the route
table must be the spec's paths.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from catalyst_interactions.emulator import enums
from catalyst_interactions.emulator.http import Router
from catalyst_interactions.emulator.rest import route_pattern
from catalyst_interactions.emulator.spec import Spec, spec

ROOT = Path(__file__).resolve().parents[2]
FULL_SPEC = ROOT / "tests" / "data" / "discord-openapi" / "openapi.json"
EXTRACT = ROOT / "src" / "catalyst_interactions" / "emulator" / "discord_api.json"


def _load_tool() -> ModuleType:
    path = ROOT / "tools" / "extract_discord_spec.py"
    module_spec = importlib.util.spec_from_file_location("extract_discord_spec", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_the_shipped_extract_is_what_the_script_makes_from_the_vendored_spec() -> None:
    """Drift: a new vendored spec, a new served operation or a hand edit fails here."""
    assert EXTRACT.read_text(encoding="utf-8") == _load_tool().expected_text(), (
        "run: python tools/extract_discord_spec.py"
    )


def test_the_extract_copies_the_spec_verbatim_except_the_listed_errata() -> None:
    full = json.loads(FULL_SPEC.read_text())["components"]["schemas"]
    extract = json.loads(EXTRACT.read_text())
    patched = {e["schema"] for e in extract["errata"]}
    assert patched == {
        "ApplicationCommandUpdateRequest",
        "MessageCreateRequest",
        "MessageEditRequestPartial",
        "MessageAttachmentRequest",
        "ApplicationCommandOptionStringChoice",
        "ComponentEmojiForRequest",
    }
    for name, schema in extract["components"]["schemas"].items():
        if name not in patched:
            assert schema == full[name], name
    # One erratum read back: the documented content limit, not the spec's 4000.
    schemas = extract["components"]["schemas"]
    assert schemas["MessageCreateRequest"]["properties"]["content"]["maxLength"] == 2000
    assert full["MessageCreateRequest"]["properties"]["content"]["maxLength"] == 4000


def test_the_walker_refuses_a_schema_keyword_it_does_not_implement() -> None:
    document = json.loads(EXTRACT.read_text())
    document["components"]["schemas"]["RichEmbed"]["if"] = {"required": ["title"]}
    with pytest.raises(ValueError, match="keywords the walker lacks"):
        Spec(document)


def test_enums_are_the_specs() -> None:
    full = json.loads(FULL_SPEC.read_text())["components"]["schemas"]

    def members(name: str) -> dict[str, int]:
        return {b["title"]: b["const"] for b in full[name]["oneOf"]}

    assert members("MessageComponentTypes") == enums.COMPONENT
    assert members("InteractionCallbackTypes") == enums.CALLBACK
    assert members("ButtonStyleTypes") == enums.BUTTON_STYLE
    assert members("ApplicationCommandOptionType") == enums.OPTION_TYPE
    assert members("InteractionTypes") == enums.INTERACTION
    assert members("MessageType") == enums.MESSAGE_TYPE
    # Spot values from Discord's documentation (docs/discord-facts.md §3, §7).
    assert (enums.CALLBACK["MODAL"], enums.COMPONENT["CONTAINER"], enums.BUTTON_STYLE["LINK"]) == (
        9,
        17,
        5,
    )


# -- the route table ------------------------------------------------------------------------


def _example(path: str) -> str:
    parts = []
    for segment in path.strip("/").split("/"):
        if segment.endswith("_token}"):
            parts.append("aW50ZXJhY3Rpb246dG9rZW4")
        elif segment.startswith("{"):
            parts.append("1310000000000000042")
        else:
            parts.append(segment)
    return "/" + "/".join(parts)


def test_every_served_route_is_a_path_and_method_of_the_spec() -> None:
    paths = json.loads(FULL_SPEC.read_text())["paths"]
    operations = spec().operations
    assert len(operations) == 18
    for op in operations.values():
        assert paths[op.path][op.method.lower()]["operationId"] == op.id


def test_route_patterns_match_the_spec_paths_under_both_api_versions() -> None:
    router = Router()

    async def handler(request: Any) -> Any:
        return None

    for op in spec().operations.values():
        router.add(op.method, route_pattern(op.path), handler, name=op.id)
    for op in spec().operations.values():
        for version in ("/api/v10", "/api/v9"):
            found = router.match(op.method, version + _example(op.path))
            assert not isinstance(found, bool), (op.id, version)
            route, params = found
            assert route.name == op.id
            assert set(params) == {s[1:-1] for s in op.path.split("/") if s.startswith("{")}
    assert router.match("GET", "/api/v10/webhooks/1/tok/messages/not-a-number") is False
    assert router.match("PUT", "/api/v10" + _example("/channels/{channel_id}/messages")) is True


# -- the walker against jsonschema ------------------------------------------------------------

MESSAGE: dict[str, Any] = {
    "content": "Close 187.20",
    "tts": False,
    "embeds": [
        {
            "title": "AAPL · 1D",
            "description": "Close 187.20 (+1.3%)",
            "color": 0x2ECC71,
            "url": "https://finance.yahoo.com/quote/AAPL",
            "image": {"url": "attachment://aapl_1d.png"},
            "fields": [{"name": "VWAP", "value": "186.90", "inline": True}],
            "footer": {"text": "simulated"},
            "author": {"name": "Catalyst"},
        }
    ],
    "components": [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 2, "label": "5D", "custom_id": "c1:chart:AAPL:5D"},
                {"type": 2, "style": 5, "label": "Yahoo", "url": "https://x.test/AAPL"},
            ],
        },
        {
            "type": 1,
            "components": [
                {
                    "type": 3,
                    "custom_id": "pick",
                    "min_values": 1,
                    "max_values": 1,
                    "options": [{"label": "RSI", "value": "rsi", "default": True}],
                }
            ],
        },
    ],
    "attachments": [{"id": "0", "filename": "aapl_1d.png", "description": "chart"}],
    "allowed_mentions": {"parse": [], "replied_user": False},
    "flags": 64,
}
V2_MESSAGE: dict[str, Any] = {
    "flags": 32768,
    "components": [
        {
            "type": 17,
            "accent_color": 0xFFFFFF,
            "components": [
                {
                    "type": 9,
                    "components": [{"type": 10, "content": "AAPL"}],
                    "accessory": {"type": 2, "style": 1, "label": "1D", "custom_id": "c"},
                },
                {"type": 14, "spacing": 1, "divider": True},
                {"type": 12, "items": [{"media": {"url": "attachment://a.png"}}]},
            ],
        }
    ],
}
MODAL: dict[str, Any] = {
    "custom_id": "c1:alert_modal",
    "title": "New alert",
    "components": [
        {
            "type": 18,
            "label": "Price",
            "description": "Trigger price",
            "component": {
                "type": 4,
                "custom_id": "price",
                "style": 1,
                "min_length": 1,
                "max_length": 12,
                "required": True,
            },
        },
        {"type": 10, "content": "Alerts fire once."},
    ],
}
COMMAND: dict[str, Any] = {
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
            "choices": [{"name": "1 day", "value": "1D"}],
        },
        {"type": 4, "name": "bars", "description": "Bars", "min_value": 1, "max_value": 500},
    ],
    "default_member_permissions": "8",
    "contexts": [0, 1, 2],
    "integration_types": [0, 1],
}

GOOD: list[tuple[str, Any]] = [
    ("create_interaction_response", {"type": 4, "data": MESSAGE}),
    ("create_interaction_response", {"type": 4, "data": V2_MESSAGE}),
    ("create_interaction_response", {"type": 5, "data": {"flags": 64}}),
    ("create_interaction_response", {"type": 6}),
    ("create_interaction_response", {"type": 7, "data": {"content": "x", "components": []}}),
    ("create_interaction_response", {"type": 8, "data": {"choices": [{"name": "A", "value": 1}]}}),
    ("create_interaction_response", {"type": 9, "data": MODAL}),
    ("execute_webhook", MESSAGE),
    ("update_original_webhook_message", MESSAGE),
    ("update_webhook_message", V2_MESSAGE),
    ("create_message", {k: v for k, v in MESSAGE.items() if k != "flags"}),
    ("update_message", {"content": "closed", "components": []}),
    ("bulk_set_application_commands", [COMMAND, {"name": "Add to watchlist", "type": 3}]),
    ("bulk_set_guild_application_commands", [COMMAND]),
    ("update_my_application", {"interactions_endpoint_url": "https://bot.test/interactions"}),
]
# Values that break a typical schema: wrong type, too long, out of range, an unknown member.
BAD_VALUES: list[Any] = [None, True, -1, 10**20, 2.5, "x" * 5000, "", [], {}, [1], {"type": 99}]


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    out = copy.deepcopy(value)
    if not path:
        return new
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return out


def _corpus() -> Iterator[tuple[str, Any]]:
    """Each good body, then each of its values replaced by a bad one (taken in turn from
    BAD_VALUES, so the kinds of bad value meet every kind of field across the corpus)."""
    turn = 0
    for op_id, body in GOOD:
        yield op_id, body
        for path in _leaves(body):
            yield op_id, _replaced(body, path, BAD_VALUES[turn % len(BAD_VALUES)])
            turn += 1


def _closed(node: Any) -> None:
    """Add ``additionalProperties: false`` wherever a schema lists properties: the walker's
    refusal of unknown fields, said in JSON Schema for the reference implementation."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for key, value in node.items():
            if key != "properties":
                _closed(value)
            else:
                for sub in value.values():
                    _closed(sub)
    elif isinstance(node, list):
        for item in node:
            _closed(item)


@pytest.fixture(scope="module")
def reference() -> dict[str, Draft202012Validator]:
    document = json.loads(EXTRACT.read_text())
    _closed(document)
    registry: Registry[Any] = Registry().with_resource(
        "urn:extract", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return {
        op_id: Draft202012Validator(
            {"$ref": f"urn:extract#/operations/{op_id}/body"}, registry=registry
        )
        for op_id, op in document["operations"].items()
        if op["body"] is not None
    }


def test_the_walker_and_jsonschema_agree(reference: dict[str, Draft202012Validator]) -> None:
    walker = spec()
    checked = refused = 0
    for op_id, body in _corpus():
        expected = reference[op_id].is_valid(body)
        problems = walker.problems(op_id, body)
        assert (problems == []) == expected, (op_id, json.dumps(body)[:300], problems)
        checked += 1
        refused += not expected
    # The corpus exercises both verdicts in bulk (guards against a vacuous schema).
    assert checked > 350 and checked - refused > 30 and refused > 250, (checked, refused)


def test_problems_sit_at_their_json_path_with_discords_codes() -> None:
    body = _replaced(MESSAGE, ("embeds", 0, "fields", 0, "name"), "n" * 257)
    body = _replaced(body, ("components", 0, "components", 0, "style"), 9)
    body = _replaced(body, ("components", 1, "type"), 99)
    found = {(p.path, p.code) for p in spec().problems("execute_webhook", body)}
    assert found == {
        (("embeds", 0, "fields", 0, "name"), "BASE_TYPE_MAX_LENGTH"),
        (("components", 0, "components", 0, "style"), "BASE_TYPE_CHOICES"),
        (("components", 1, "type"), "UNION_TYPE_CHOICES"),
    }
    # A union without a discriminator: the string branch is meant, so its limit is reported.
    choices = {"type": 8, "data": {"choices": [{"name": "Apple", "value": "A" * 101}]}}
    found = {(p.path, p.code) for p in spec().problems("create_interaction_response", choices)}
    assert found == {(("data", "choices", 0, "value"), "BASE_TYPE_MAX_LENGTH")}
    missing = spec().problems("create_interaction_response", {"type": 9, "data": {"title": "t"}})
    assert {(p.path, p.code) for p in missing} == {
        (("data", "custom_id"), "BASE_TYPE_REQUIRED"),
        (("data", "components"), "BASE_TYPE_REQUIRED"),
    }


def test_the_two_deliberate_departures_from_plain_json_schema() -> None:
    # Text is counted without surrounding whitespace, as Discord counts it (§8) ...
    padded = {"content": "  \n" + "x" * 2000 + "  "}
    assert spec().problems("execute_webhook", padded) == []
    # ... and a field Discord does not know is refused, not silently dropped.
    typo = spec().problems("execute_webhook", {"content": "x", "embed": [{"title": "t"}]})
    assert [(p.path, p.code) for p in typo] == [(("embed",), "UNKNOWN_FIELD")]
