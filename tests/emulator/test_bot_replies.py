"""Whatever the bot's reply builders produce, the emulator accepts: the two readings of
Discord's rules (discord/messages.py for the bot, emulator/spec.py + rules.py for the local
Discord) agree on every reply the builders let through.

The strategies draw arbitrary arguments; a builder that refuses them (LimitError) is the bot's
side doing its job, and the draw is skipped. The refusals the other way round (replies the
emulator refuses) are in test_emulator_api.py and test_rules.py.
"""

from __future__ import annotations

import json
from typing import Any

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
from catalyst_interactions.emulator.rules import (
    EDIT_FLAGS,
    RESPONSE_FLAGS,
    callback_problems,
    message_problems,
)
from catalyst_interactions.emulator.spec import spec

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
short = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)
COMMAND, COMPONENT, AUTOCOMPLETE = 2, 3, 4


def _built(draw: st.DrawFn, strategy: st.SearchStrategy[Any]) -> Any:
    try:
        return draw(strategy)
    except LimitError:
        return None


@st.composite
def embeds(draw: st.DrawFn) -> Embed:
    fields = draw(
        st.lists(st.builds(EmbedField, name=text, value=text, inline=st.booleans()), max_size=4)
    )
    return Embed(
        title=draw(st.none() | text),
        description=draw(st.none() | st.text(max_size=300)),
        url=draw(st.none() | st.just("https://finance.yahoo.com/quote/AAPL")),
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
        select = StringSelect(
            draw(short),
            options,
            placeholder=draw(st.none() | text),
            min_values=draw(st.integers(0, 3)),
            max_values=draw(st.integers(1, 4)),
        )
        return ActionRow([select])
    buttons = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            url = "https://x.test/" + draw(short)
            buttons.append(Button(label=draw(text), style=ButtonStyle.LINK, url=url))
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


@st.composite
def messages(draw: st.DrawFn) -> Message | None:
    built_embeds = [
        e for e in (_built(draw, embeds()) for _ in range(draw(st.integers(0, 3)))) if e
    ]
    built_rows = [r for r in (_built(draw, rows()) for _ in range(draw(st.integers(0, 6)))) if r]
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


def _wire(value: Any) -> Any:
    return json.loads(json.dumps(value))  # exactly what goes on the wire


def _answer_problems(
    body: Any, interaction_type: int, *, from_component: bool = False
) -> list[Any]:
    problems = spec().problems("create_interaction_response", body)
    return problems or callback_problems(
        body, interaction_type=interaction_type, from_component=from_component
    )


def _message_problems(operation_id: str, body: Any, *, allowed: int, partial: bool) -> list[Any]:
    problems = spec().problems(operation_id, body)
    return problems or message_problems(body, allowed_flags=allowed, partial=partial)


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(messages())
def test_every_built_message_is_accepted_on_every_route(msg: Message | None) -> None:
    if msg is None:
        return
    body, edit = _wire(msg.to_dict()), _wire(msg.to_dict(edit=True))
    assert _answer_problems({"type": 4, "data": body}, COMMAND) == []
    assert _answer_problems({"type": 7, "data": edit}, COMPONENT, from_component=True) == []
    assert _message_problems("execute_webhook", body, allowed=RESPONSE_FLAGS, partial=False) == []
    for op in ("update_original_webhook_message", "update_webhook_message"):
        assert _message_problems(op, edit, allowed=EDIT_FLAGS, partial=True) == []


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


# Mostly one value type per list (an option has one type); sometimes strings and numbers
# mixed, which Discord's schema refuses and so must the builder (it raises LimitError).
choice_values = (text, st.integers(-(2**53), 2**53), st.floats())
choice_lists = st.one_of(
    *(st.lists(st.tuples(text, values), max_size=27) for values in choice_values),
    st.lists(st.tuples(short, st.one_of(*choice_values)), min_size=2, max_size=5),
)


@settings(max_examples=100, deadline=None, database=None)
@given(modals(), choice_lists)
def test_every_built_modal_and_choice_list_is_accepted(
    modal: Modal | None, raw_choices: list[tuple[str, Any]]
) -> None:
    if modal is not None:
        assert _answer_problems(_wire({"type": 9, "data": modal.to_dict()}), COMMAND) == []
    try:
        choices = autocomplete_choices([Choice(n, v) for n, v in raw_choices])
    except LimitError:
        return
    body = _wire({"type": 8, "data": {"choices": choices}})
    assert _answer_problems(body, AUTOCOMPLETE) == []
