"""Write the local Discord's compact copy of Discord's OpenAPI spec.

The emulator (src/catalyst_interactions/emulator/) validates what the bot sends with its own
reading of Discord's specification, never with the bot's code. It runs from the installed
wheel, so what it reads must ship in the package: this script takes the operations the
emulator serves from the vendored spec (tests/data/discord-openapi/openapi.json, 1.2 MB) and
keeps only their paths, methods and request-body schemas plus every schema those reference,
copied verbatim. A few documented corrections ("errata": Discord says its documentation wins
where the preview spec disagrees) are applied on top and listed in the output.

    python tools/extract_discord_spec.py            # rewrite the extract
    python tools/extract_discord_spec.py --check    # exit 1 when it is out of date

tests/emulator/test_spec_extract.py fails when the checked-in extract differs from what this
script makes, so a new vendored spec (or a new served operation) cannot be forgotten.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "data" / "discord-openapi" / "openapi.json"
EXTRACT = ROOT / "src" / "catalyst_interactions" / "emulator" / "discord_api.json"

# Every operation the emulator serves, by Discord's operationId. The emulator's route table is
# built from the paths these resolve to (emulator/rest.py), so serving a new route starts here.
OPERATIONS = (
    "create_interaction_response",
    "get_original_webhook_message",
    "update_original_webhook_message",
    "delete_original_webhook_message",
    "execute_webhook",
    "get_webhook_message",
    "update_webhook_message",
    "delete_webhook_message",
    "create_message",
    "get_message",
    "update_message",
    "delete_message",
    "list_application_commands",
    "bulk_set_application_commands",
    "list_guild_application_commands",
    "bulk_set_guild_application_commands",
    "get_my_application",
    "update_my_application",
)

# Enumerations the emulator reads by name (component types, callback types, ...), kept even
# when no request body references them.
ENUMS = (
    "ApplicationCommandOptionType",
    "ApplicationCommandType",
    "ButtonStyleTypes",
    "InteractionCallbackTypes",
    "InteractionContextType",
    "InteractionTypes",
    "MessageComponentTypes",
    "MessageType",
    "TextInputStyleTypes",
)

# (schema, JSON pointer inside it, replacement, why). Each one is a place where Discord's
# documentation, which Discord says wins over the preview spec, disagrees with the spec.
ERRATA: tuple[tuple[str, str, Any, str], ...] = (
    (
        "ApplicationCommandUpdateRequest",
        "/properties/default_member_permissions",
        {"type": ["string", "integer", "null"], "pattern": "^[0-9]+$"},
        "AC #application-command-object: default_member_permissions is a permission bit set "
        "serialized as a string of digits; the spec only allows an integer",
    ),
    *(
        (
            name,
            "/properties/content/maxLength",
            2000,
            "MSG #create-message: content is at most 2000 characters (docs/discord-facts.md "
            "§8); the spec says 4000 here and 2000 for webhooks and interaction responses",
        )
        for name in ("MessageCreateRequest", "MessageEditRequestPartial")
    ),
    (
        "MessageAttachmentRequest",
        "/properties/id",
        {"type": ["string", "integer"], "pattern": "^(0|[1-9][0-9]*)$", "minimum": 0},
        "REF #uploading-files: an attachment's id is the number n of its files[n] part, "
        'written as a number in Discord\'s examples ("id": 0); the spec allows only a string',
    ),
    (
        "ComponentEmojiForRequest",
        "/properties/animated",
        {"type": ["boolean", "null"]},
        "CR #button: a button's emoji is a partial emoji with name, id and animated; the spec "
        "lists only name and id",
    ),
    (
        "ApplicationCommandOptionStringChoice",
        "/properties/value/maxLength",
        100,
        "AC #application-command-option-choice-structure: a string value is at most 100 "
        "characters (docs/discord-facts.md §11); the spec says 6000",
    ),
)

_SERVED_METHODS = ("get", "put", "post", "patch", "delete")


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _set_pointer(schema: dict[str, Any], pointer: str, value: Any) -> None:
    keys = pointer.strip("/").split("/")
    target = schema
    for key in keys[:-1]:
        target = target[key]
    if keys[-1] not in target and keys[-2:-1] != ["properties"]:
        raise SystemExit(f"erratum target {pointer} is no longer in the spec; review ERRATA")
    target[keys[-1]] = copy.deepcopy(value)


def build_extract(spec: dict[str, Any], spec_bytes: bytes) -> dict[str, Any]:
    """The extract as a JSON-ready dict (deterministic: same spec, same output)."""
    by_id: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in spec["paths"].items():
        for method in _SERVED_METHODS:
            op = item.get(method)
            if op is not None:
                by_id[op["operationId"]] = (path, method, op)
    missing = [op_id for op_id in OPERATIONS if op_id not in by_id]
    if missing:
        raise SystemExit(f"operations not in the spec any more: {missing}")

    operations: dict[str, Any] = {}
    wanted: set[str] = set(ENUMS)
    for op_id in OPERATIONS:
        path, method, op = by_id[op_id]
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        schema = body.get("schema")
        operations[op_id] = {"method": method.upper(), "path": path, "body": schema}
        _refs(schema, wanted)

    all_schemas = spec["components"]["schemas"]
    kept: dict[str, Any] = {}
    todo = sorted(wanted)
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept[name] = copy.deepcopy(all_schemas[name])
        more: set[str] = set()
        _refs(kept[name], more)
        todo.extend(sorted(more - set(kept)))

    errata = []
    for name, pointer, value, why in ERRATA:
        _set_pointer(kept[name], pointer, value)
        errata.append({"schema": name, "at": pointer, "why": why})

    return {
        "generated_by": "tools/extract_discord_spec.py; do not edit by hand",
        "source": {
            "file": "tests/data/discord-openapi/openapi.json",
            "title": spec["info"]["title"],
            "version": spec["info"]["version"],
            "sha256": hashlib.sha256(spec_bytes).hexdigest(),
        },
        "errata": errata,
        "operations": operations,
        "components": {"schemas": {name: kept[name] for name in sorted(kept)}},
    }


def render(extract: dict[str, Any]) -> str:
    return json.dumps(extract, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def expected_text() -> str:
    raw = SPEC.read_bytes()
    return render(build_extract(json.loads(raw), raw))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when the extract is stale")
    args = parser.parse_args(argv)
    text = expected_text()
    if args.check:
        current = EXTRACT.read_text(encoding="utf-8") if EXTRACT.exists() else ""
        if current != text:
            print(f"{EXTRACT.relative_to(ROOT)} is out of date; run {__file__}", file=sys.stderr)  # noqa: T201
            return 1
        return 0
    EXTRACT.write_text(text, encoding="utf-8")
    print(f"wrote {EXTRACT.relative_to(ROOT)} ({len(text.encode())} bytes)")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
