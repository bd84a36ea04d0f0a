"""The raw-JSON validator: each class of problem is caught, builder output always passes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalyst_interactions.discord.enums import ButtonStyle, TextInputStyle
from catalyst_interactions.discord.messages import (
    ActionRow,
    Button,
    Choice,
    Embed,
    EmbedField,
    File,
    LimitError,
    Message,
    Modal,
    SelectOption,
    StringSelect,
    TextInput,
    autocomplete_choices,
)
from catalyst_interactions.discord.validation import (
    validate_callback,
    validate_command,
    validate_message_payload,
)

GOOD_MESSAGE: dict[str, Any] = {
    "content": "hi",
    "embeds": [{"title": "t", "fields": [{"name": "n", "value": "v", "inline": True}]}],
    "components": [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 1, "label": "1D", "custom_id": "a"},
                {"type": 2, "style": 5, "label": "web", "url": "https://x.test"},
            ],
        },
        {
            "type": 1,
            "components": [
                {"type": 3, "custom_id": "s", "options": [{"label": "A", "value": "a"}]}
            ],
        },
    ],
    "attachments": [{"id": 0, "filename": "c.png"}],
    "allowed_mentions": {"parse": []},
    "flags": 64,
}

GOOD_MODAL: dict[str, Any] = {
    "custom_id": "m",
    "title": "Title",
    "components": [
        {
            "type": 18,
            "label": "Reason",
            "component": {"type": 4, "custom_id": "r", "style": 2},
        }
    ],
}


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with the dotted ``path`` (list indexes as numbers) set."""
    out = copy.deepcopy(base)
    target: Any = out
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return out


def test_good_bodies_pass() -> None:
    assert validate_message_payload(GOOD_MESSAGE) == []
    assert validate_callback({"type": 4, "data": GOOD_MESSAGE}) == []
    assert validate_callback({"type": 9, "data": GOOD_MODAL}) == []
    assert validate_callback({"type": 1}) == []
    assert validate_callback({"type": 5}) == []
    assert validate_callback({"type": 5, "data": {"flags": 64}}) == []
    assert validate_callback({"type": 6}) == []
    assert validate_callback({"type": 8, "data": {"choices": []}}) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"type": 2}, "type 2 is not an interaction callback type"),
        ({"type": "4", "data": {"content": "x"}}, "type must be an integer"),
        ({"type": 10}, "deprecated"),
        ({"type": 1, "data": {"content": "x"}}, "takes no data"),
        ({"type": 6, "data": {}}, "takes no data"),
        ({"type": 4}, "data is required"),
        ({"type": 5, "data": {"flags": 4}}, "may only be 64 (EPHEMERAL)"),
        ({"type": 5, "data": {"flags": 64 | 32768}}, "may only be 64"),
        ({"type": 5, "data": {"content": "thinking"}}, "data.content is ignored"),
        ({"type": 4, "data": GOOD_MESSAGE, "extra": 1}, "extra is not a field"),
        ([], "body must be an object"),
    ],
)
def test_callback_problems(body: Any, fragment: str) -> None:
    problems = validate_callback(body)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("callback", "interaction", "legal"),
    [
        (1, 1, True),
        (1, 2, False),
        (4, 2, True),
        (4, 4, False),
        (6, 2, False),
        (6, 3, True),
        (7, 5, True),
        (8, 4, True),
        (8, 2, False),
        (9, 2, True),
        (9, 3, True),
        (9, 5, False),
        (9, 4, False),
    ],
)
def test_callback_legality_per_interaction_type(
    callback: int, interaction: int, legal: bool
) -> None:
    data: dict[int, Any] = {
        4: {"content": "x"},
        7: {"content": "x"},
        8: {"choices": []},
        9: GOOD_MODAL,
    }
    body: dict[str, Any] = {"type": callback}
    if callback in data:
        body["data"] = data[callback]
    problems = validate_callback(body, interaction_type=interaction)
    assert (problems == []) is legal, problems


MESSAGE_PROBLEMS: list[tuple[str, Any, str]] = [
    ("content", "x" * 2001, "content is 2001 characters; Discord allows at most 2000"),
    ("content", 5, "content must be a string"),
    ("embeds", [{"title": "t"}] * 11, "embeds has 11 embeds"),
    ("embeds.0.title", "x" * 257, "embeds[0].title is 257 characters; Discord allows at most 256"),
    ("embeds.0.description", "x" * 4097, "embeds[0].description is 4097"),
    ("embeds.0.fields", [{"name": "n", "value": "v"}] * 26, "fields has 26 fields"),
    ("embeds.0.fields.0.name", "x" * 257, "fields[0].name is 257"),
    ("embeds.0.fields.0.value", "x" * 1025, "fields[0].value is 1025"),
    ("embeds.0.fields.0.value", " ", "fields[0].value is empty"),
    ("embeds.0.footer", {"text": "x" * 2049}, "footer.text is 2049"),
    ("embeds.0.author", {"name": "x" * 257}, "author.name is 257"),
    ("embeds.0.color", 0x1000000, "color is 16777216"),
    ("embeds.0.timestamp", "yesterday", "ISO 8601"),
    ("embeds.0.colour", 1, "colour is not a field"),
    ("embed", [], "embed is not a field"),
    (
        "embeds",
        [{"description": "d" * 4000}, {"description": "d" * 2001}],
        "embeds total 6001 characters; Discord allows at most 6000",
    ),
    ("components", [GOOD_MESSAGE["components"][0]] * 6, "components has 6 action rows"),
    ("components.1.components.0.custom_id", "a", "'a' is used twice"),
    (
        "components.0.components",
        [{"type": 2, "style": 1, "label": "x", "custom_id": f"b{i}"} for i in range(6)],
        "has 6 buttons",
    ),
    ("components.0.components", [], "has 0 buttons; Discord requires at least 1"),
    (
        "components.1.components",
        [
            {"type": 3, "custom_id": "s", "options": [{"label": "A", "value": "a"}]},
            {"type": 2, "style": 1, "label": "x", "custom_id": "z"},
        ],
        "a select must be alone",
    ),
    ("components.0.type", 2, "must be 1 (ACTION_ROW)"),
    ("components.0.components.0.label", "x" * 81, "label is 81 characters"),
    ("components.0.components.0.custom_id", "c" * 101, "custom_id is 101 characters"),
    ("components.0.components.0.custom_id", None, "custom_id is required"),
    ("components.0.components.1.custom_id", "link", "not allowed on a link button"),
    ("components.0.components.1.url", "https://" + "x" * 505, "url is 513 characters"),
    ("components.0.components.0.url", "https://x.test", "only allowed on a link button"),
    ("components.0.components.0.label", None, "needs a label or an emoji"),
    ("components.0.components.0.style", 7, "style is 7"),
    ("components.0.components.0.type", 4, "cannot be placed in a message action row"),
    (
        "components.1.components.0.options",
        [{"label": "A", "value": str(i)} for i in range(26)],
        "26 options",
    ),
    ("components.1.components.0.options", [], "0 options"),
    ("components.1.components.0.options.0.label", "x" * 101, "options[0].label is 101"),
    ("components.1.components.0.options.0.description", "x" * 101, "description is 101"),
    ("components.1.components.0.placeholder", "x" * 151, "placeholder is 151"),
    ("components.1.components.0.min_values", 26, "min_values is 26; Discord allows 0 to 25"),
    ("components.1.components.0.max_values", 0, "max_values is 0; Discord allows 1 to 25"),
    ("attachments", [{"id": 0, "filename": "a"}] * 2, "id 0 is used twice"),
    ("attachments.0.description", "x" * 1025, "description is 1025"),
    ("attachments", [{"id": i} for i in range(11)], "11 attachments"),
    ("allowed_mentions", {"parse": ["users"], "users": ["1"]}, "exclude each other"),
    ("allowed_mentions", {"parse": ["here"]}, "'here'"),
    ("allowed_mentions", {"roles": [str(i) for i in range(101)]}, "roles has 101 ids"),
    ("flags", 128, "sets 128 (LOADING)"),
    ("flags", -1, "non-negative"),
]


@pytest.mark.parametrize(("path", "value", "fragment"), MESSAGE_PROBLEMS)
def test_message_problems(path: str, value: Any, fragment: str) -> None:
    problems = validate_message_payload(_with(GOOD_MESSAGE, path, value))
    assert any(fragment in p for p in problems), problems


def test_problems_inside_a_callback_carry_the_data_prefix() -> None:
    problems = validate_callback({"type": 4, "data": _with(GOOD_MESSAGE, "content", "x" * 2001)})
    assert problems == ["data.content is 2001 characters; Discord allows at most 2000"]


def test_min_values_greater_than_max() -> None:
    select = {"type": 3, "custom_id": "s", "options": [{"label": "A", "value": "a"}] * 1}
    body = {
        "components": [{"type": 1, "components": [{**select, "min_values": 3, "max_values": 2}]}]
    }
    assert any("greater than" in p for p in validate_message_payload(body))


def test_text_limits_are_inclusive_and_trimmed() -> None:
    assert validate_message_payload({"content": "x" * 2000}) == []
    assert validate_message_payload({"content": " \n" + "x" * 2000 + "  "}) == []
    total_6000 = [{"description": "d" * 4000}, {"title": "t" * 256, "description": "d" * 1744}]
    assert validate_message_payload({"embeds": total_6000}) == []


def test_empty_message_is_refused_but_an_empty_edit_is_not() -> None:
    assert any("50006" in p for p in validate_message_payload({}))
    assert any("50006" in p for p in validate_message_payload({"content": "  ", "embeds": []}))
    assert validate_message_payload({}, edit=True) == []
    assert validate_message_payload({"components": []}, edit=True) == []


def test_flags_allowed_on_create_vs_edit() -> None:
    for flag in (4, 64, 4096, 8192):
        assert validate_message_payload({"content": "x", "flags": flag}) == []
    assert validate_message_payload({"content": "x", "flags": 4}, edit=True) == []
    problems = validate_message_payload({"content": "x", "flags": 64}, edit=True)
    assert problems == ["flags sets 64 (EPHEMERAL), which an edit cannot set"]
    problems = validate_message_payload({"content": "x", "flags": 4096}, edit=True)
    assert problems == ["flags sets 4096 (SUPPRESS_NOTIFICATIONS), which an edit cannot set"]
    # UPDATE_MESSAGE takes a partial body under the response flag rules.
    assert validate_callback({"type": 7, "data": {"components": []}}) == []
    assert validate_callback({"type": 7, "data": {"content": "x", "flags": 4}}) == []
    assert validate_callback({"type": 7, "data": {"content": "x", "flags": 128}}) != []


def test_components_v2_rules() -> None:
    v2 = {"flags": 32768, "components": [{"type": 10, "content": "hello"}]}
    assert validate_message_payload(v2) == []
    assert validate_message_payload(v2, edit=True) == []
    with_content = {**v2, "content": "x"}
    assert any("content must be null" in p for p in validate_message_payload(with_content))
    with_embeds = {**v2, "embeds": [{"title": "t"}]}
    assert any("embeds must be empty" in p for p in validate_message_payload(with_embeds))
    many = {"flags": 32768, "components": [{"type": 10, "content": "x"}] * 41}
    assert any("41 components" in p for p in validate_message_payload(many))
    container = {
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
                    {
                        "type": 1,
                        "components": [{"type": 2, "style": 1, "label": "x", "custom_id": "c"}],
                    },
                ],
            }
        ],
    }
    assert any("'c' is used twice" in p for p in validate_message_payload(container))


MODAL_PROBLEMS: list[tuple[str, Any, str]] = [
    ("title", "x" * 46, "data.title is 46 characters; Discord allows at most 45"),
    ("title", "", "data.title is empty"),
    ("custom_id", "x" * 101, "data.custom_id is 101"),
    ("components", [], "0 components; Discord requires at least 1"),
    ("components", [GOOD_MODAL["components"][0]] * 6, "6 components"),
    ("components.0.label", "x" * 46, "label is 46"),
    ("components.0.description", "x" * 101, "description is 101"),
    ("components.0.component.label", "Reason", "label is not allowed inside a Label"),
    ("components.0.component.type", 2, "cannot be placed inside a modal Label"),
    ("components.0.component.style", 3, "style must be 1 (SHORT) or 2 (PARAGRAPH)"),
    ("components.0.component.min_length", 4001, "min_length is 4001"),
    ("components.0.component.max_length", 0, "max_length is 0"),
    ("components.0.component.value", "x" * 4001, "value is 4001"),
    ("components.0.component.placeholder", "x" * 101, "placeholder is 101"),
    ("components.0.component", None, "component must be an object"),
    ("components.0.type", 2, "cannot be placed at the top level of a modal"),
    (
        "components.0",
        {"type": 1, "components": [{"type": 4, "custom_id": "r", "style": 1}]},
        "label is required",
    ),
]


@pytest.mark.parametrize(("path", "value", "fragment"), MODAL_PROBLEMS)
def test_modal_problems(path: str, value: Any, fragment: str) -> None:
    problems = validate_callback({"type": 9, "data": _with(GOOD_MODAL, path, value)})
    assert any(fragment in p for p in problems), problems


def test_modal_duplicate_custom_ids() -> None:
    modal = _with(GOOD_MODAL, "components", [GOOD_MODAL["components"][0]] * 2)
    assert any("'r' is used twice" in p for p in validate_callback({"type": 9, "data": modal}))


def test_legacy_action_row_modal_is_still_accepted() -> None:
    row = {"type": 1, "components": [{"type": 4, "custom_id": "r", "style": 1, "label": "Reason"}]}
    assert validate_callback({"type": 9, "data": _with(GOOD_MODAL, "components", [row])}) == []


@pytest.mark.parametrize(
    ("choices", "fragment"),
    [
        ([{"name": f"c{i}", "value": i} for i in range(26)], "26 choices"),
        ([{"name": "", "value": "v"}], "name is empty"),
        ([{"name": "x" * 101, "value": "v"}], "name is 101"),
        ([{"name": "n", "value": "v" * 101}], "value is 101"),
        ([{"name": "n", "value": True}], "must be a string or a number"),
        ([{"name": "n", "value": 2**53}], "outside"),
        ([{"name": "n"}], "must be a string or a number, not null"),
    ],
)
def test_autocomplete_problems(choices: list[Any], fragment: str) -> None:
    problems = validate_callback({"type": 8, "data": {"choices": choices}})
    assert any(fragment in p for p in problems), problems


def test_autocomplete_at_the_limits() -> None:
    choices = [{"name": "n" * 100, "value": "v" * 100}] * 25
    assert validate_callback({"type": 8, "data": {"choices": choices}}) == []
    assert any("required" in p for p in validate_callback({"type": 8, "data": {}}))


# --- application commands ------------------------------------------------------------------

GOOD_COMMAND: dict[str, Any] = {
    "name": "chart",
    "description": "Show a price chart",
    "options": [
        {
            "type": 3,
            "name": "ticker",
            "description": "Symbol",
            "required": True,
            "autocomplete": True,
        },
        {
            "type": 3,
            "name": "timeframe",
            "description": "Range",
            "choices": [{"name": "1 day", "value": "1D"}, {"name": "1 year", "value": "1Y"}],
        },
        {"type": 4, "name": "bars", "description": "Bars", "min_value": 1, "max_value": 500},
    ],
    "contexts": [0, 1],
    "integration_types": [0],
}


def test_good_commands_pass() -> None:
    assert validate_command(GOOD_COMMAND) == []
    assert validate_command({"type": 2, "name": "Show Profile", "description": ""}) == []
    assert validate_command({"name": "café", "description": "unicode letters"}) == []
    assert validate_command({"name": "नमस्ते", "description": "Devanagari marks"}) == []
    group = {
        "name": "admin",
        "description": "Admin",
        "options": [
            {
                "type": 2,
                "name": "params",
                "description": "Parameters",
                "options": [{"type": 1, "name": "rollback", "description": "Roll back"}],
            },
            {"type": 1, "name": "reports", "description": "Reports"},
        ],
    }
    assert validate_command(group) == []


COMMAND_PROBLEMS: list[tuple[str, Any, str]] = [
    ("name", "Chart", "must be lowercase"),
    ("name", "my chart", "characters Discord does not allow"),
    ("name", "c" * 33, "name is 33 characters; Discord allows at most 32"),
    ("name", "", "name is empty"),
    ("description", "d" * 101, "description is 101"),
    ("description", "", "description is empty"),
    (
        "options",
        [{"type": 5, "name": f"o{i}", "description": "d"} for i in range(26)],
        "26 options",
    ),
    ("options.2.required", True, "required but follows an optional"),
    ("options.1.choices", [{"name": f"c{i}", "value": str(i)} for i in range(26)], "26 choices"),
    ("options.1.autocomplete", True, "autocomplete must not be true when choices"),
    ("options.1.choices.0.value", 1, "must be a string"),
    ("options.0.name", "Ticker", "must be lowercase"),
    ("options.1.name", "ticker", "used twice"),
    ("options.0.type", 12, "option type 1..11"),
    ("options.0.min_length", 6001, "min_length is 6001"),
    ("options.2.min_length", 1, "only allowed on STRING"),
    ("options.2.max_value", 2**53, "within ±(2^53-1)"),
    ("options.2.choices", [{"name": "a", "value": 1.5}], "must be an integer"),
    ("options.2.autocomplete", "yes", "must be a boolean"),
    ("contexts", [3], "contexts holds 3"),
    ("default_member_permissions", 8, "string of decimal digits"),
    ("type", 9, "type must be"),
]


@pytest.mark.parametrize(("path", "value", "fragment"), COMMAND_PROBLEMS)
def test_command_problems(path: str, value: Any, fragment: str) -> None:
    problems = validate_command(_with(GOOD_COMMAND, path, value))
    assert any(fragment in p for p in problems), problems


def test_command_option_structure() -> None:
    mixed = {
        "name": "x",
        "description": "x",
        "options": [
            {"type": 1, "name": "sub", "description": "d"},
            {"type": 3, "name": "plain", "description": "d"},
        ],
    }
    assert any("mixes subcommands" in p for p in validate_command(mixed))
    nested = {
        "name": "x",
        "description": "x",
        "options": [
            {
                "type": 1,
                "name": "sub",
                "description": "d",
                "options": [{"type": 1, "name": "deeper", "description": "d"}],
            }
        ],
    }
    assert any("cannot nest a subcommand" in p for p in validate_command(nested))
    user_with_options = {"type": 3, "name": "Report", "description": "", "options": []}
    assert any("only allowed on CHAT_INPUT" in p for p in validate_command(user_with_options))
    user_with_description = {"type": 2, "name": "Profile", "description": "d"}
    assert any("must be empty" in p for p in validate_command(user_with_description))


def test_command_total_of_8000_characters() -> None:
    # name 1 + description 99 = 100; 25 options of 32 + 100 = 3300; 3400 so far.
    options: list[dict[str, Any]] = [
        {"type": 3, "name": f"{i:0>32}", "description": "d" * 100} for i in range(25)
    ]
    cmd = {"name": "x", "description": "d" * 99, "options": options}
    assert validate_command(cmd) == []
    # 23 choices of 100 + 100 characters: 4600 more, exactly 8000.
    options[0]["choices"] = [{"name": "n" * 100, "value": "v" * 100}] * 23
    assert validate_command(cmd) == []
    problems = validate_command({**cmd, "description": "d" * 100})
    assert problems == [
        "command has 8001 characters in names, descriptions and values; Discord allows at most 8000"
    ]
    # Only the longest of a field's localizations counts: 98 -> 100 makes 8001.
    localized = {**cmd, "description": "d" * 98, "description_localizations": {"de": "d" * 100}}
    assert validate_command(localized) == problems
    assert validate_command({**localized, "description_localizations": {"de": "d" * 99}}) == []


# --- builders' output always passes the validator -----------------------------------------

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
short = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)


@st.composite
def embeds(draw: st.DrawFn) -> Embed:
    fields = draw(
        st.lists(st.builds(EmbedField, name=text, value=text, inline=st.booleans()), max_size=4)
    )
    return Embed(
        title=draw(st.none() | text),
        description=draw(st.none() | st.text(max_size=300)),
        color=draw(st.none() | st.integers(-5, 0x1000005)),
        fields=fields,
        footer=draw(st.none() | text),
        author=draw(st.none() | text),
        image_url=draw(st.none() | st.just("attachment://chart.png")),
    )


@st.composite
def rows(draw: st.DrawFn) -> ActionRow:
    if draw(st.booleans()):
        options = draw(
            st.lists(
                st.builds(SelectOption, label=text, value=short, description=st.none() | text),
                min_size=1,
                max_size=4,
            )
        )
        return ActionRow(
            [
                StringSelect(
                    draw(short),
                    options,
                    placeholder=draw(st.none() | text),
                    min_values=draw(st.integers(0, 3)),
                    max_values=draw(st.integers(1, 4)),
                )
            ]
        )
    buttons = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            buttons.append(
                Button(
                    label=draw(text), style=ButtonStyle.LINK, url="https://x.test/" + draw(short)
                )
            )
        else:
            buttons.append(
                Button(
                    label=draw(st.none() | text),
                    custom_id=draw(short),
                    style=draw(st.sampled_from([ButtonStyle(i) for i in (1, 2, 3, 4)])),
                    emoji=draw(st.none() | st.sampled_from(["🔥", "<:up:1>", "<a:x2:99>"])),
                    disabled=draw(st.booleans()),
                )
            )
    return ActionRow(buttons)


def _build(draw: st.DrawFn, strategy: st.SearchStrategy[Any]) -> Any:
    """Draw a built object, or None when the drawn arguments break a limit."""
    try:
        return draw(strategy)
    except LimitError:
        return None


@st.composite
def messages(draw: st.DrawFn) -> Message | None:
    built_embeds = [
        e for e in (_build(draw, embeds()) for _ in range(draw(st.integers(0, 3)))) if e
    ]
    built_rows = [r for r in (_build(draw, rows()) for _ in range(draw(st.integers(0, 6)))) if r]
    files = [
        File(f"f{i}.png", b"x", description=draw(st.none() | text))
        for i in range(draw(st.integers(0, 2)))
    ]
    try:
        return Message(
            content=draw(st.none() | st.text(max_size=120)),
            embeds=built_embeds,
            components=built_rows,
            files=files,
            ephemeral=draw(st.booleans()),
            suppress_embeds=draw(st.booleans()),
            allowed_mentions=draw(
                st.none() | st.just({"parse": ["users"]}) | st.just({"users": ["1"]})
            ),
        )
    except LimitError:
        return None


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(messages())
def test_built_messages_always_pass_the_validator(msg: Message | None) -> None:
    if msg is None:
        return
    body = json.loads(json.dumps(msg.to_dict()))  # exactly what goes on the wire
    assert validate_callback({"type": 4, "data": body}, interaction_type=2) == []
    assert validate_message_payload(body) == []
    assert validate_message_payload(json.loads(json.dumps(msg.to_dict(edit=True))), edit=True) == []
    assert validate_callback({"type": 7, "data": msg.to_dict(edit=True)}) == []


@st.composite
def modals(draw: st.DrawFn) -> Modal | None:
    inputs = []
    for i in range(draw(st.integers(1, 5))):
        try:
            inputs.append(
                TextInput(
                    f"in{i}",
                    draw(text),
                    style=draw(st.sampled_from(list(TextInputStyle))),
                    min_length=draw(st.none() | st.integers(0, 4000)),
                    max_length=draw(st.none() | st.integers(1, 4000)),
                    required=draw(st.booleans()),
                    value=draw(st.none() | text),
                    placeholder=draw(st.none() | text),
                )
            )
        except LimitError:
            continue
    try:
        return Modal(draw(short), draw(text), inputs)
    except LimitError:
        return None


@settings(max_examples=100, deadline=None, database=None)
@given(
    modals(),
    st.lists(
        st.tuples(text, st.one_of(text, st.integers(-(2**53), 2**53), st.floats())), max_size=27
    ),
)
def test_built_modals_and_choices_always_pass_the_validator(
    modal: Modal | None, raw_choices: list[tuple[str, Any]]
) -> None:
    if modal is not None:
        assert validate_callback({"type": 9, "data": modal.to_dict()}, interaction_type=3) == []
    try:
        choices = autocomplete_choices([Choice(n, v) for n, v in raw_choices])
    except LimitError:
        return
    assert validate_callback({"type": 8, "data": {"choices": choices}}, interaction_type=4) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)
keys = st.sampled_from(
    [
        "type",
        "data",
        "content",
        "embeds",
        "components",
        "custom_id",
        "options",
        "title",
        "flags",
        "label",
        "component",
        "choices",
        "name",
        "value",
        "style",
        "fields",
        "attachments",
        "url",
    ]
)
structured = st.recursive(
    json_values,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None, database=None)
@given(structured, st.sampled_from([1, 4, 5, 6, 7, 8, 9, 12]))
def test_validators_never_raise_on_garbage(value: Any, kind: int) -> None:
    assert isinstance(validate_callback(value), list)
    assert isinstance(validate_callback({"type": kind, "data": value}), list)
    assert isinstance(validate_message_payload(value), list)
    assert isinstance(validate_command(value), list)


ODD_VALUES: list[Any] = [[1], {"a": 1}, True, None, "3", 3.0, -1, 2**70]


@pytest.mark.parametrize("odd", ODD_VALUES)
def test_odd_values_in_nested_positions_are_reported_not_raised(odd: Any) -> None:
    paths = [
        "components.0.type",
        "components.0.components.0.type",
        "components.1.components.0.type",
        "components.0.components.0.style",
        "components.1.components.0.options",
        "components.1.components.0.min_values",
        "embeds.0.color",
        "embeds.0.fields",
        "embeds.0.footer",
        "flags",
        "attachments.0.id",
        "allowed_mentions.parse",
    ]
    for path in paths:
        assert isinstance(validate_message_payload(_with(GOOD_MESSAGE, path, odd)), list)
    for path in ["components.0.type", "components.0.component.type", "components.0.component"]:
        problems = validate_callback({"type": 9, "data": _with(GOOD_MODAL, path, odd)})
        assert problems, path
    for path in ["options.0.type", "options.1.choices", "options.0.name", "type"]:
        assert isinstance(validate_command(_with(GOOD_COMMAND, path, odd)), list)
    problems = validate_callback({"type": 4, "data": GOOD_MESSAGE}, interaction_type=odd)
    assert (problems == []) is (odd is None), problems
