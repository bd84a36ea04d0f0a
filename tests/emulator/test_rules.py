"""The documented rules the emulator checks beyond the schema (docs/discord-facts.md).

Each case is a body the schema accepts and Discord refuses; the expected path and code are
what Discord's 50035 answer names (the rules module's own sections cite the facts).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalyst_interactions.emulator.enums import IS_COMPONENTS_V2
from catalyst_interactions.emulator.rules import (
    EDIT_FLAGS,
    RESPONSE_FLAGS,
    callback_problems,
    command_list_problems,
    message_problems,
)
from catalyst_interactions.emulator.spec import spec

from .test_spec import GOOD as GOOD_BODIES

ROW = {"type": 1, "components": [{"type": 2, "style": 1, "label": "1D", "custom_id": "a"}]}
SELECT = {"type": 3, "custom_id": "s", "options": [{"label": "A", "value": "a"}]}


def _found(problems: list[Any]) -> set[tuple[tuple[Any, ...], str]]:
    return {(p.path, p.code) for p in problems}


def _response(message: dict[str, Any]) -> set[tuple[tuple[Any, ...], str]]:
    """Problems of a new message, after checking that the schema itself accepts it."""
    assert spec().problems("execute_webhook", message) == [], message
    return _found(message_problems(message, allowed_flags=RESPONSE_FLAGS, partial=False))


MESSAGE_CASES: list[tuple[str, dict[str, Any], set[tuple[tuple[Any, ...], str]]]] = [
    (
        "all embeds together over 6000 characters (§8)",
        {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]},
        {(("embeds",), "BASE_TYPE_MAX_LENGTH")},
    ),
    (
        "LOADING is Discord's to set (§3, §6)",
        {"content": "x", "flags": 128},
        {(("flags",), "MESSAGE_FLAGS_INVALID")},
    ),
    (
        "a select beside a button (§7)",
        {"components": [{"type": 1, "components": [ROW["components"][0], SELECT]}]},
        {(("components", 0, "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED")},
    ),
    (
        "a link button with a custom_id and no url (§7)",
        {
            "components": [
                {"type": 1, "components": [{"type": 2, "style": 5, "label": "l", "custom_id": "x"}]}
            ]
        },
        {
            (("components", 0, "components", 0, "custom_id"), "BUTTON_COMPONENT_INVALID"),
            (("components", 0, "components", 0, "url"), "BASE_TYPE_REQUIRED"),
        },
    ),
    (
        "a button with neither label nor emoji (§7)",
        {"components": [{"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "x"}]}]},
        {(("components", 0, "components", 0), "BUTTON_COMPONENT_INVALID")},
    ),
    (
        "one custom_id twice in a message (§7)",
        {"components": [ROW, ROW]},
        {(("components", 1, "components", 0, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED")},
    ),
    (
        "six action rows (§7)",
        {
            "components": [
                {
                    "type": 1,
                    "components": [{"type": 2, "style": 1, "label": "b", "custom_id": str(i)}],
                }
                for i in range(6)
            ]
        },
        {(("components",), "BASE_TYPE_MAX_LENGTH")},
    ),
    (
        "a V2 component without IS_COMPONENTS_V2 (§7)",
        {"components": [{"type": 10, "content": "hello"}]},
        {(("components", 0, "type"), "COMPONENT_TYPE_INVALID")},
    ),
    (
        "content beside IS_COMPONENTS_V2 (§6)",
        {"flags": 32768, "content": "x", "components": [{"type": 10, "content": "hello"}]},
        {(("content",), "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2")},
    ),
    (
        "41 V2 components, nested ones counted (§7)",
        {
            "flags": 32768,
            "components": [
                {"type": 17, "components": [{"type": 10, "content": "x"}] * 20},
                {"type": 17, "components": [{"type": 10, "content": "x"}] * 19},
            ],
        },
        {(("components",), "BASE_TYPE_MAX_LENGTH")},
    ),
    (
        "parse names users and users is set (§5)",
        {"content": "x", "allowed_mentions": {"parse": ["users"], "users": ["1"]}},
        {(("allowed_mentions", "parse"), "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE")},
    ),
    ("blank content is an empty message (50006)", {"content": "   "}, {((), "EMPTY_MESSAGE")}),
]


@pytest.mark.parametrize(
    ("message", "expected"),
    [case[1:] for case in MESSAGE_CASES],
    ids=[case[0] for case in MESSAGE_CASES],
)
def test_message_rules(message: dict[str, Any], expected: set[Any]) -> None:
    assert _response(message) == expected


def test_messages_at_the_limits_pass() -> None:
    assert (
        _response({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2000}]}) == set()
    )
    every_flag_but_v2 = RESPONSE_FLAGS & ~IS_COMPONENTS_V2
    assert _response({"content": "x", "flags": every_flag_but_v2}) == set()
    v2 = {
        "flags": 32768,
        "components": [{"type": 17, "components": [{"type": 10, "content": "x"}] * 39}],
    }
    assert _response(v2) == set()
    assert _response({"components": [{"type": 1, "components": [SELECT]}]}) == set()


def test_an_edit_sets_only_suppress_embeds_and_components_v2() -> None:
    for flags, codes in ((4, set()), (32768, set()), (64, {(("flags",), "MESSAGE_FLAGS_INVALID")})):
        found = message_problems({"flags": flags}, allowed_flags=EDIT_FLAGS, partial=True)
        assert _found(found) == codes
    assert message_problems({}, allowed_flags=EDIT_FLAGS, partial=True) == []


@pytest.mark.parametrize(
    ("body", "interaction_type", "from_component", "expected"),
    [
        # §3: which callback answers which interaction.
        ({"type": 1}, 2, False, {(("type",), "INTERACTION_RESPONSE_TYPE_INVALID")}),
        (
            {"type": 8, "data": {"choices": []}},
            2,
            False,
            {(("type",), "INTERACTION_RESPONSE_TYPE_INVALID")},
        ),
        (
            {
                "type": 9,
                "data": {
                    "custom_id": "m",
                    "title": "t",
                    "components": [{"type": 10, "content": "x"}],
                },
            },
            5,
            True,
            {(("type",), "INTERACTION_RESPONSE_TYPE_INVALID")},
        ),
        (
            {"type": 7, "data": {"content": "x"}},
            5,
            False,
            {(("type",), "INTERACTION_RESPONSE_TYPE_INVALID")},
        ),
        ({"type": 7, "data": {"content": "x"}}, 5, True, set()),
        ({"type": 6}, 3, True, set()),
        # §3: a deferred response carries only the EPHEMERAL flag.
        ({"type": 5, "data": {"flags": 64}}, 2, False, set()),
        (
            {"type": 5, "data": {"flags": 4}},
            2,
            False,
            {(("data", "flags"), "MESSAGE_FLAGS_INVALID")},
        ),
        (
            {"type": 5, "data": {"content": "x"}},
            2,
            False,
            {(("data", "content"), "BASE_TYPE_BAD_VALUE")},
        ),
        # A message response follows the message rules under "data".
        (
            {"type": 4, "data": {"content": "x", "flags": 128}},
            2,
            False,
            {(("data", "flags"), "MESSAGE_FLAGS_INVALID")},
        ),
        ({"type": 4}, 2, False, {(("data",), "EMPTY_MESSAGE")}),
        ({"type": 7, "data": {}}, 3, True, set()),
        # §3: a modal has at most 5 top-level components.
        (
            {
                "type": 9,
                "data": {
                    "custom_id": "m",
                    "title": "t",
                    "components": [{"type": 10, "content": "x"}] * 6,
                },
            },
            2,
            False,
            {(("data", "components"), "BASE_TYPE_BAD_LENGTH")},
        ),
    ],
)
def test_callback_rules(
    body: dict[str, Any], interaction_type: int, from_component: bool, expected: set[Any]
) -> None:
    assert spec().problems("create_interaction_response", body) == [], body
    found = callback_problems(
        body, interaction_type=interaction_type, from_component=from_component
    )
    assert _found(found) == expected


CHART: dict[str, Any] = {
    "name": "chart",
    "description": "Show a price chart",
    "options": [
        {"type": 3, "name": "ticker", "description": "Symbol", "required": True},
        {"type": 3, "name": "timeframe", "description": "Range"},
    ],
}


def _commands(commands: list[dict[str, Any]]) -> set[Any]:
    assert spec().problems("bulk_set_application_commands", commands) == [], commands
    return _found(command_list_problems(commands))


def test_command_rules() -> None:
    assert _commands([CHART, {"name": "Add to watchlist", "type": 3}]) == set()
    assert _commands([{**CHART, "name": "Chart"}]) == {
        ((0, "name"), "APPLICATION_COMMAND_INVALID_NAME")
    }
    assert _commands([{**CHART, "name": "price chart"}]) == {
        ((0, "name"), "APPLICATION_COMMAND_INVALID_NAME")
    }
    assert _commands([{"name": "nodesc"}]) == {((0, "description"), "BASE_TYPE_REQUIRED")}
    assert _commands([{"name": "Look", "type": 2, "description": "x"}]) == {
        ((0, "description"), "BASE_TYPE_BAD_VALUE")
    }
    swapped = {**CHART, "options": [CHART["options"][1], CHART["options"][0]]}
    assert _commands([swapped]) == {
        ((0, "options", 1), "APPLICATION_COMMAND_OPTIONS_ORDER_INVALID")
    }
    assert _commands([CHART, CHART]) == {((1, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME")}
    both = {
        "type": 3,
        "name": "tf",
        "description": "Range",
        "autocomplete": True,
        "choices": [{"name": "1 day", "value": "1D"}],
    }
    assert _commands([{**CHART, "options": [both]}]) == {
        ((0, "options", 0, "autocomplete"), "BASE_TYPE_BAD_VALUE")
    }
    # §11: names, descriptions and choice values of one command together at most 8000.
    big_choices = [{"name": "n" * 100, "value": "v" * 100} for _ in range(25)]
    wide = [
        {"type": 3, "name": f"o{i}", "description": "d" * 100, "choices": big_choices}
        for i in range(2)
    ]
    assert _commands([{**CHART, "options": wide}]) == {((0,), "APPLICATION_COMMAND_TOO_LARGE")}
    many = [{"name": f"m{i}", "type": 3} for i in range(16)]
    assert _commands(many) == {((), "BASE_TYPE_MAX_LENGTH")}


# -- never a 500: any body gets a verdict -----------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*path, i))
    return out


@st.composite
def near_valid(draw: st.DrawFn) -> tuple[str, Any]:
    """A good body of some operation with one value replaced by arbitrary JSON: most pass the
    schema's other checks, so the rules run on unusual but schema-valid shapes."""
    op_id, body = draw(st.sampled_from(GOOD_BODIES))
    path = draw(st.sampled_from(_paths(body)))
    new = draw(json_values | st.sampled_from([64.0, 4.0, 32768.0, None, [], {}]))
    if not path:
        return op_id, new
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return op_id, body


def _verdict(op_id: str, body: Any, interaction_type: int, from_component: bool) -> list[Any]:
    problems = spec().problems(op_id, body)
    if problems:
        return problems
    if op_id == "create_interaction_response":
        return callback_problems(
            body, interaction_type=interaction_type, from_component=from_component
        )
    if op_id.startswith("bulk_set"):
        return command_list_problems(body or [])
    if op_id == "update_my_application":
        return []
    return message_problems(body, allowed_flags=RESPONSE_FLAGS, partial=False)


@settings(max_examples=400, deadline=None, database=None)
@given(near_valid(), st.integers(1, 5), st.booleans())
def test_any_body_gets_a_list_of_problems_never_an_exception(
    case: tuple[str, Any], interaction_type: int, from_component: bool
) -> None:
    op_id, body = case
    problems = _verdict(op_id, body, interaction_type, from_component)
    assert isinstance(problems, list)
    assert all(isinstance(p.path, tuple) and p.code and p.message for p in problems)


def test_integers_spelt_as_floats_and_null_flags_are_judged_not_raised() -> None:
    """JSON has one number type: 64.0 is the integer 64 to the schema, so the rules that do
    bit arithmetic on it must take it too (a TypeError here was a 500)."""
    assert _verdict("execute_webhook", {"content": "x", "flags": 64.0}, 2, False) == []
    refused = _verdict("execute_webhook", {"content": "x", "flags": 128.0}, 2, False)
    assert _found(refused) == {(("flags",), "MESSAGE_FLAGS_INVALID")}
    assert (
        _verdict("create_interaction_response", {"type": 5, "data": {"flags": 64.0}}, 2, False)
        == []
    )
    assert (
        _verdict("create_interaction_response", {"type": 5, "data": {"flags": None}}, 2, False)
        == []
    )
    assert (
        _verdict("create_interaction_response", {"type": 4.0, "data": {"content": "x"}}, 2, False)
        == []
    )
