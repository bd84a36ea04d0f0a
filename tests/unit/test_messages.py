"""Reply builders: every Discord limit at its boundary, and the exact JSON they produce."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

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
    truncate,
)

Make = Callable[[str], object]


def _button(label: str) -> object:
    return Button(label=label, custom_id="b")


def _option(text: str, field: str) -> object:
    texts: dict[str, str | None] = {"label": "l", "value": "v", "description": None, field: text}
    return SelectOption(str(texts["label"]), str(texts["value"]), texts["description"])


# (limit, builder taking the text under test, field path expected in the error)
TEXT_LIMITS: list[tuple[int, Make, str]] = [
    (2000, lambda s: Message(content=s), "message.content"),
    (256, lambda s: Embed(title=s), "embed.title"),
    (4096, lambda s: Embed(description=s), "embed.description"),
    (2048, lambda s: Embed(footer=s), "embed.footer"),
    (256, lambda s: Embed(author=s), "embed.author"),
    (256, lambda s: EmbedField(name=s, value="v"), "embed.field.name"),
    (1024, lambda s: EmbedField(name="n", value=s), "embed.field.value"),
    (80, _button, "button.label"),
    (100, lambda s: _option(s, "label"), "select.option.label"),
    (100, lambda s: _option(s, "value"), "select.option.value"),
    (100, lambda s: _option(s, "description"), "select.option.description"),
    (
        150,
        lambda s: StringSelect("s", [SelectOption("a", "a")], placeholder=s),
        "select.placeholder",
    ),
    (45, lambda s: TextInput("t", label=s), "text_input.label"),
    (100, lambda s: TextInput("t", "l", placeholder=s), "text_input.placeholder"),
    (4000, lambda s: TextInput("t", "l", value=s), "text_input.value"),
    (45, lambda s: Modal("m", s, [TextInput("t", "l")]), "modal.title"),
    (100, lambda s: Choice(name=s, value="v"), "choice.name"),
    (100, lambda s: Choice(name="n", value=s), "choice.value"),
    (1024, lambda s: File("a.png", b"", description=s), "file.description"),
]


@pytest.mark.parametrize(("limit", "make", "path"), TEXT_LIMITS, ids=[t[2] for t in TEXT_LIMITS])
def test_text_limit_is_inclusive(limit: int, make: Make, path: str) -> None:
    make("x" * limit)


@pytest.mark.parametrize(("limit", "make", "path"), TEXT_LIMITS, ids=[t[2] for t in TEXT_LIMITS])
def test_text_one_over_the_limit_names_field_and_limit(limit: int, make: Make, path: str) -> None:
    with pytest.raises(LimitError) as info:
        make("x" * (limit + 1))
    assert str(info.value) == (f"{path} is {limit + 1} characters; Discord allows at most {limit}")


@pytest.mark.parametrize(("limit", "make", "path"), TEXT_LIMITS, ids=[t[2] for t in TEXT_LIMITS])
def test_surrounding_whitespace_is_not_counted(limit: int, make: Make, path: str) -> None:
    make("  \n" + "x" * limit + " \t ")


def test_error_message_matches_the_documented_example() -> None:
    with pytest.raises(
        LimitError, match=r"^embed\.title is 300 characters; Discord allows at most 256$"
    ):
        Embed(title="t" * 300)


def test_limit_error_is_a_value_error() -> None:
    assert issubclass(LimitError, ValueError)


# custom_id and URLs are identifiers: counted as sent, 1..100 / ..512.
ID_LIMITS: list[tuple[int, Make, str]] = [
    (100, lambda s: Button(label="b", custom_id=s), "button.custom_id"),
    (100, lambda s: StringSelect(s, [SelectOption("a", "a")]), "select.custom_id"),
    (100, lambda s: TextInput(s, "l"), "text_input.custom_id"),
    (100, lambda s: Modal(s, "t", [TextInput("t", "l")]), "modal.custom_id"),
    (512, lambda s: Button(label="b", style=ButtonStyle.LINK, url=s), "button.url"),
]


@pytest.mark.parametrize(("limit", "make", "path"), ID_LIMITS, ids=[t[2] for t in ID_LIMITS])
def test_identifier_limits(limit: int, make: Make, path: str) -> None:
    make("i" * limit)
    with pytest.raises(LimitError, match=rf"^{path} is {limit + 1} characters"):
        make("i" * (limit + 1))
    with pytest.raises(LimitError, match=rf"^{path} is empty"):
        make("")


@pytest.mark.parametrize(
    "make",
    [
        lambda: EmbedField(name=" ", value="v"),
        lambda: EmbedField(name="n", value="\n"),
        lambda: Button(label="  ", custom_id="b"),
        lambda: SelectOption(label=" ", value="v"),
        lambda: TextInput("t", label="   "),
        lambda: Modal("m", "  ", [TextInput("t", "l")]),
        lambda: Choice(name=" ", value=1),
    ],
)
def test_required_text_that_is_only_whitespace_is_refused(make: Callable[[], object]) -> None:
    with pytest.raises(LimitError):
        make()


# --- counts -------------------------------------------------------------------------------

FIELD = EmbedField("n", "v")
OPTION = SelectOption("a", "a")


def _options(n: int) -> list[SelectOption]:
    return [SelectOption(f"o{i}", f"v{i}") for i in range(n)]


def _buttons(n: int, prefix: str = "b") -> list[Button]:
    return [Button(label="x", custom_id=f"{prefix}{i}") for i in range(n)]


def _rows(n: int) -> list[ActionRow]:
    return [ActionRow([Button(label="x", custom_id=f"r{i}")]) for i in range(n)]


COUNT_LIMITS: list[tuple[int, Callable[[int], object]]] = [
    (10, lambda n: Message(embeds=[Embed(title="t")] * n)),
    (25, lambda n: Embed(fields=[FIELD] * n)),
    (5, lambda n: Message(components=_rows(n))),
    (5, lambda n: ActionRow(_buttons(n))),
    (25, lambda n: StringSelect("s", _options(n))),
    (5, lambda n: Modal("m", "t", [TextInput(f"t{i}", "l") for i in range(n)])),
    (25, lambda n: autocomplete_choices([Choice(f"c{i}", i) for i in range(n)])),
    (10, lambda n: Message(files=[File(f"f{i}.png", b"x") for i in range(n)])),
]


@pytest.mark.parametrize(("limit", "make"), COUNT_LIMITS)
def test_count_limits(limit: int, make: Callable[[int], object]) -> None:
    make(limit)
    with pytest.raises(LimitError, match=rf"has {limit + 1} \w+.*at most {limit}"):
        make(limit + 1)


def test_empty_collections_that_need_one_item() -> None:
    with pytest.raises(LimitError, match="at least 1"):
        ActionRow([])
    with pytest.raises(LimitError, match="at least 1"):
        StringSelect("s", [])
    with pytest.raises(LimitError, match="at least 1"):
        Modal("m", "t", [])


def test_select_must_be_alone_in_its_row() -> None:
    select = StringSelect("s", [OPTION])
    ActionRow([select])
    with pytest.raises(LimitError, match="select must be alone"):
        ActionRow([select, Button(label="b", custom_id="b")])


def test_select_values_ranges() -> None:
    opts = _options(25)
    StringSelect("s", opts, min_values=0, max_values=25)
    with pytest.raises(LimitError, match=r"min_values is -1; Discord allows 0 to 25"):
        StringSelect("s", opts, min_values=-1)
    with pytest.raises(LimitError, match=r"max_values is 26; Discord allows 1 to 25"):
        StringSelect("s", opts, max_values=26)
    with pytest.raises(LimitError, match=r"max_values is 0"):
        StringSelect("s", opts, min_values=0, max_values=0)
    with pytest.raises(LimitError, match="greater than"):
        StringSelect("s", opts, min_values=3, max_values=2)
    with pytest.raises(LimitError, match="exceeds its 2 option"):
        StringSelect("s", _options(2), max_values=3)
    with pytest.raises(LimitError, match="unique"):
        StringSelect("s", [SelectOption("a", "same"), SelectOption("b", "same")])


def test_text_input_length_ranges() -> None:
    TextInput("t", "l", min_length=0, max_length=4000)
    TextInput("t", "l", min_length=4000, max_length=4000)
    for kwargs, fragment in [
        ({"min_length": -1}, "min_length is -1; Discord allows 0 to 4000"),
        ({"min_length": 4001}, "min_length is 4001"),
        ({"max_length": 0}, "max_length is 0; Discord allows 1 to 4000"),
        ({"max_length": 4001}, "max_length is 4001"),
        ({"min_length": 10, "max_length": 5}, "greater than"),
        (
            {"max_length": 3, "value": "abcd"},
            "text_input.value is 4 characters; Discord allows at most 3",
        ),
    ]:
        with pytest.raises(LimitError, match=fragment):
            TextInput("t", "l", **kwargs)  # type: ignore[arg-type]


def test_color_range() -> None:
    Embed(color=0)
    Embed(color=0xFFFFFF)
    with pytest.raises(LimitError, match=r"embed\.color is 16777216; Discord allows 0 to 16777215"):
        Embed(color=0x1000000)
    with pytest.raises(LimitError, match=r"embed\.color"):
        Embed(color=-1)


# --- the 6000 total ------------------------------------------------------------------------


def test_total_of_6000_across_several_embeds() -> None:
    # 3 embeds of 2000 counted characters each = 6000, exactly the limit.
    a = Embed(title="t" * 200, description="d" * 1800)
    b = Embed(fields=[EmbedField("n" * 250, "v" * 750)] * 2)  # 2 * 1000
    c = Embed(footer="f" * 1744, author="a" * 256)
    assert (a.text_length(), b.text_length(), c.text_length()) == (2000, 2000, 2000)
    Message(embeds=[a, b, c])
    one_more = dataclasses.replace(c, footer="f" * 1745)
    with pytest.raises(
        LimitError, match=r"^message\.embeds total 6001 characters; Discord allows at most 6000"
    ):
        Message(embeds=[a, b, one_more])


def test_total_ignores_surrounding_whitespace_and_untouched_fields() -> None:
    padded = Embed(
        title="  " + "t" * 256 + "  ", description="d" * 2744, url="https://x.test/" + "p" * 500
    )
    assert padded.text_length() == 3000
    Message(embeds=[padded, padded])


def test_a_single_embed_over_6000_is_refused() -> None:
    # 4096 + (256 + 1024) + 624 = 6000
    ok = Embed(description="d" * 4096, fields=[EmbedField("n" * 256, "v" * 1024)], footer="f" * 624)
    assert ok.text_length() == 6000
    with pytest.raises(LimitError, match="embed text is 6001 characters"):
        dataclasses.replace(ok, footer="f" * 625)


# --- buttons --------------------------------------------------------------------------------


def test_button_rules() -> None:
    with pytest.raises(LimitError, match="url is required"):
        Button(label="Docs", style=ButtonStyle.LINK)
    with pytest.raises(LimitError, match="custom_id is not allowed"):
        Button(label="Docs", style=ButtonStyle.LINK, url="https://x.test", custom_id="c")
    with pytest.raises(LimitError, match="custom_id is required for a PRIMARY button"):
        Button(label="Go", style=ButtonStyle.PRIMARY)
    with pytest.raises(LimitError, match="url is only allowed"):
        Button(label="Go", custom_id="c", url="https://x.test")
    with pytest.raises(LimitError, match="label or an emoji"):
        Button(custom_id="c")
    with pytest.raises(LimitError, match="not a button style"):
        Button(label="x", custom_id="c", style=9)  # type: ignore[arg-type]
    assert Button(emoji="🔥", custom_id="c").to_dict() == {
        "type": 2,
        "style": 2,
        "emoji": {"name": "🔥"},
        "custom_id": "c",
    }


def test_button_custom_emoji_and_link_shape() -> None:
    assert Button(
        label="Up",
        custom_id="u",
        emoji="<a:rocket:123456>",
        style=ButtonStyle.PRIMARY,
        disabled=True,
    ).to_dict() == {
        "type": 2,
        "style": 1,
        "label": "Up",
        "emoji": {"name": "rocket", "id": "123456", "animated": True},
        "custom_id": "u",
        "disabled": True,
    }
    assert Button(
        label="TradingView", style=ButtonStyle.LINK, url="https://tv.test/AAPL"
    ).to_dict() == {
        "type": 2,
        "style": 5,
        "label": "TradingView",
        "url": "https://tv.test/AAPL",
    }


def test_custom_ids_must_be_unique_within_a_message() -> None:
    with pytest.raises(LimitError, match="'dup' is used twice"):
        ActionRow([Button(label="a", custom_id="dup"), Button(label="b", custom_id="dup")])
    rows = [
        ActionRow([Button(label="a", custom_id="dup")]),
        ActionRow([StringSelect("dup", [OPTION])]),
    ]
    with pytest.raises(LimitError, match=r"message\.components: custom_id 'dup' is used twice"):
        Message(components=rows)


# --- messages -----------------------------------------------------------------------------


def test_message_must_not_be_empty() -> None:
    with pytest.raises(LimitError, match="50006"):
        Message()
    with pytest.raises(LimitError, match="50006"):
        Message(content="   ", ephemeral=True)
    Message(files=[File("a.png", b"x")])
    Message(components=_rows(1))
    Message(embeds=[Embed(color=1)])


def test_full_message_to_dict() -> None:
    stamp = datetime(2026, 8, 6, 14, 30, tzinfo=UTC)
    msg = Message(
        content="AAPL chart",
        embeds=[
            Embed(
                title="AAPL",
                description="Apple Inc.",
                url="https://x.test/AAPL",
                color=0x00FF00,
                fields=[EmbedField("Price", "$200.00", inline=True), EmbedField("Change", "+1.2%")],
                footer="Catalyst",
                author="bot",
                image_url="attachment://chart.png",
                thumbnail_url="https://x.test/logo.png",
                timestamp=stamp,
            )
        ],
        components=[
            ActionRow(
                [
                    Button(label="1D", custom_id="chart:v1:AAPL:1D", style=ButtonStyle.PRIMARY),
                    Button(label="5D", custom_id="chart:v1:AAPL:5D"),
                ]
            ),
            ActionRow(
                [
                    StringSelect(
                        "ind:AAPL",
                        [
                            SelectOption(
                                "VWAP", "vwap", description="Volume-weighted", default=True
                            ),
                            SelectOption("RSI", "rsi", emoji="📈"),
                        ],
                        placeholder="Indicators",
                        min_values=0,
                        max_values=2,
                    )
                ]
            ),
        ],
        files=[File("chart.png", b"\x89PNG", description="1D chart"), File("data.csv", b"a,b")],
        ephemeral=True,
        suppress_embeds=True,
    )
    assert msg.to_dict() == {
        "content": "AAPL chart",
        "embeds": [
            {
                "title": "AAPL",
                "description": "Apple Inc.",
                "url": "https://x.test/AAPL",
                "color": 65280,
                "fields": [
                    {"name": "Price", "value": "$200.00", "inline": True},
                    {"name": "Change", "value": "+1.2%"},
                ],
                "footer": {"text": "Catalyst"},
                "author": {"name": "bot"},
                "image": {"url": "attachment://chart.png"},
                "thumbnail": {"url": "https://x.test/logo.png"},
                "timestamp": "2026-08-06T14:30:00+00:00",
            }
        ],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 1, "label": "1D", "custom_id": "chart:v1:AAPL:1D"},
                    {"type": 2, "style": 2, "label": "5D", "custom_id": "chart:v1:AAPL:5D"},
                ],
            },
            {
                "type": 1,
                "components": [
                    {
                        "type": 3,
                        "custom_id": "ind:AAPL",
                        "options": [
                            {
                                "label": "VWAP",
                                "value": "vwap",
                                "description": "Volume-weighted",
                                "default": True,
                            },
                            {"label": "RSI", "value": "rsi", "emoji": {"name": "📈"}},
                        ],
                        "min_values": 0,
                        "max_values": 2,
                        "placeholder": "Indicators",
                    }
                ],
            },
        ],
        "attachments": [
            {"id": "0", "filename": "chart.png", "description": "1D chart"},
            {"id": "1", "filename": "data.csv"},
        ],
        "allowed_mentions": {"parse": []},
        "flags": 4 | 64,
    }
    assert msg.files == (
        File("chart.png", b"\x89PNG", description="1D chart"),
        File("data.csv", b"a,b"),
    )


def test_minimal_message_omits_empty_fields_and_mutes_mentions() -> None:
    assert Message(content="@everyone hi").to_dict() == {
        "content": "@everyone hi",
        "allowed_mentions": {"parse": []},
    }


def test_allowed_mentions_given_and_frozen() -> None:
    mentions: dict[str, object] = {"parse": ["users"], "replied_user": False}
    msg = Message(content="hi", allowed_mentions=mentions)
    mentions["parse"] = ["everyone"]  # later mutation of the caller's dict must not leak in
    body = msg.to_dict()
    assert body["allowed_mentions"] == {"parse": ["users"], "replied_user": False}
    body["allowed_mentions"]["parse"].append("roles")
    assert msg.to_dict()["allowed_mentions"] == {"parse": ["users"], "replied_user": False}
    with pytest.raises(LimitError, match="exclude each other"):
        Message(content="hi", allowed_mentions={"parse": ["users"], "users": ["1"]})
    with pytest.raises(LimitError, match="'channels'"):
        Message(content="hi", allowed_mentions={"parse": ["channels"]})


@pytest.mark.parametrize(
    ("mentions", "fragment"),
    [
        ({"parse": [], "channels": []}, "allowed_mentions.channels is not a field"),
        ({"parse": "users"}, "allowed_mentions.parse must be an array"),
        ({"users": "1"}, "allowed_mentions.users must be an array"),
        ({"roles": [str(i) for i in range(101)]}, "roles has 101 ids; Discord allows at most 100"),
        ({"parse": ["roles"], "roles": ["1"]}, "exclude each other"),
        ({"replied_user": "yes"}, "replied_user must be a boolean"),
    ],
)
def test_allowed_mentions_discord_would_refuse(mentions: dict[str, object], fragment: str) -> None:
    with pytest.raises(LimitError, match=fragment):
        Message(content="hi", allowed_mentions=mentions)
    at_the_limit = {"users": [str(i) for i in range(100)], "replied_user": True}
    assert Message(content="hi", allowed_mentions=at_the_limit).to_dict()["allowed_mentions"] == (
        at_the_limit
    )


def test_edit_body_replaces_the_whole_message() -> None:
    msg = Message(embeds=[Embed(title="t")], ephemeral=True, suppress_embeds=True)
    assert msg.to_dict(edit=True) == {
        "content": "",
        "embeds": [{"title": "t"}],
        "components": [],
        "attachments": [],
        "allowed_mentions": {"parse": []},
        "flags": 4,
    }


def test_duplicate_filenames_are_refused() -> None:
    with pytest.raises(LimitError, match="filenames must be unique"):
        Message(files=[File("a.png", b"1"), File("a.png", b"2")])


def test_file_rules_and_repr_hides_data() -> None:
    with pytest.raises(LimitError, match=r"file\.filename is empty"):
        File("", b"x")
    assert "secretbytes" not in repr(File("a.bin", b"secretbytes"))


def test_timestamp_must_be_aware() -> None:
    with pytest.raises(LimitError, match="timezone-aware"):
        Embed(title="t", timestamp=datetime(2026, 1, 1))
    tz = timezone(timedelta(hours=-5))
    assert Embed(timestamp=datetime(2026, 1, 1, 9, tzinfo=tz)).to_dict() == {
        "timestamp": "2026-01-01T09:00:00-05:00"
    }


# --- immutability and copies ---------------------------------------------------------------


def test_builders_are_frozen_and_store_tuples() -> None:
    fields = [FIELD]
    embed = Embed(fields=fields)
    fields.append(EmbedField("x", "y"))
    assert embed.fields == (FIELD,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        embed.title = "x"  # type: ignore[misc]


def test_replace_and_with_fields_revalidate() -> None:
    embed = Embed(title="t", fields=[FIELD] * 24)
    assert len(embed.with_fields(FIELD).fields) == 25
    assert embed.with_fields(FIELD).fields[-1] == FIELD
    with pytest.raises(LimitError, match="26 fields"):
        embed.with_fields(FIELD, FIELD)
    with pytest.raises(LimitError, match=r"embed\.title"):
        dataclasses.replace(embed, title="x" * 257)


# --- modals and autocomplete ---------------------------------------------------------------


def test_modal_to_dict_wraps_inputs_in_labels() -> None:
    modal = Modal(
        "admin_modal_42",
        "Custom values",
        [
            TextInput("min_score", "Minimum score", min_length=1, max_length=5, value="0.5"),
            TextInput(
                "reason",
                "Reason",
                style=TextInputStyle.PARAGRAPH,
                required=False,
                placeholder="Why?",
            ),
        ],
    )
    assert modal.to_dict() == {
        "custom_id": "admin_modal_42",
        "title": "Custom values",
        "components": [
            {
                "type": 18,
                "label": "Minimum score",
                "component": {
                    "type": 4,
                    "custom_id": "min_score",
                    "style": 1,
                    "required": True,
                    "min_length": 1,
                    "max_length": 5,
                    "value": "0.5",
                },
            },
            {
                "type": 18,
                "label": "Reason",
                "component": {
                    "type": 4,
                    "custom_id": "reason",
                    "style": 2,
                    "required": False,
                    "placeholder": "Why?",
                },
            },
        ],
    }
    with pytest.raises(LimitError, match="'x' is used twice"):
        Modal("m", "t", [TextInput("x", "a"), TextInput("x", "b")])


def test_choices() -> None:
    assert autocomplete_choices([Choice("Apple", "AAPL"), Choice("Tesla", "TSLA")]) == [
        {"name": "Apple", "value": "AAPL"},
        {"name": "Tesla", "value": "TSLA"},
    ]
    # A NUMBER option's choices may be whole or not; a string among them is another type.
    assert autocomplete_choices([Choice("Ten", 10), Choice("Half", 0.5)]) == [
        {"name": "Ten", "value": 10},
        {"name": "Half", "value": 0.5},
    ]
    with pytest.raises(LimitError, match="mixes string and number values"):
        autocomplete_choices([Choice("Apple", "AAPL"), Choice("Ten", 10)])
    assert autocomplete_choices([]) == []
    Choice("max", 2**53 - 1)
    with pytest.raises(LimitError, match="2\\^53"):
        Choice("big", 2**53)
    with pytest.raises(LimitError, match="finite"):
        Choice("nan", float("nan"))
    with pytest.raises(LimitError, match="string or a number"):
        Choice("b", True)


# --- truncate -------------------------------------------------------------------------------


def test_truncate() -> None:
    assert truncate("hello", 5) == "hello"
    assert truncate("hello!", 5) == "hell…"
    assert truncate("hello world", 7) == "hello…"  # no dangling space before the ellipsis
    assert truncate("abc", 1) == "…"
    assert len(truncate("x" * 5000, 4096)) == 4096
    Embed(description=truncate("x" * 5000, 4096))
    with pytest.raises(ValueError, match="at least 1"):
        truncate("abc", 0)
