"""What validating one request costs the local Discord: its schema walker and rules, against
``jsonschema`` (the reference JSON Schema 2020-12 implementation) on the same extract.

    PYTHONPATH=src python tools/measure_emulator_validation.py

Needs the dev dependencies (jsonschema). The bodies are the tests' typical replies: a chart
message as an interaction response, the same as an edit, and a bulk overwrite of one command.
Figures are in docs/decisions.md (D28).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from jsonschema import Draft202012Validator  # noqa: E402
from referencing import Registry, Resource  # noqa: E402
from referencing.jsonschema import DRAFT202012  # noqa: E402

from catalyst_interactions.emulator.rules import (  # noqa: E402
    EDIT_FLAGS,
    callback_problems,
    command_list_problems,
    message_problems,
)
from catalyst_interactions.emulator.spec import spec  # noqa: E402
from emulator.test_spec import COMMAND, MESSAGE  # noqa: E402


def per_call_us(fn: Any, seconds: float = 1.0) -> float:
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        n += 1
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    walker = spec()
    document = json.loads(
        (ROOT / "src/catalyst_interactions/emulator/discord_api.json").read_text()
    )
    registry: Registry[Any] = Registry().with_resource(
        "urn:x", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    cases = [
        ("create_interaction_response", {"type": 4, "data": MESSAGE}),
        (
            "update_original_webhook_message",
            {k: v for k, v in MESSAGE.items() if k not in ("flags", "tts")},
        ),
        ("bulk_set_application_commands", [COMMAND]),
    ]
    for op_id, body in cases:
        reference = Draft202012Validator(
            {"$ref": f"urn:x#/operations/{op_id}/body"}, registry=registry
        )
        assert reference.is_valid(body)
        assert walker.problems(op_id, body) == []

        def ours(op_id: str = op_id, body: Any = body) -> None:
            walker.problems(op_id, body)
            if op_id == "create_interaction_response":
                callback_problems(body, interaction_type=2, from_component=False)
            elif op_id == "bulk_set_application_commands":
                command_list_problems(body)
            else:
                message_problems(body, allowed_flags=EDIT_FLAGS, partial=True)

        them = per_call_us(lambda r=reference, b=body: list(r.iter_errors(b)), 2.0)
        print(f"{op_id:34} walker+rules {per_call_us(ours):8.0f} µs   jsonschema {them:8.0f} µs")  # noqa: T201


if __name__ == "__main__":
    main()
