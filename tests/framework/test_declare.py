"""Declared once: module-level features and groups, option types that carry their own
conversion and suggestions, group checks, @cooldown with overrides by name, and the start-up
validation that refuses a set of handlers which cannot all work."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest

from catalyst_interactions.discord.custom_id import CustomIdTemplate
from catalyst_interactions.discord.messages import Choice, Message
from catalyst_interactions.discord.payloads import decode_interaction
from catalyst_interactions.framework.context import (
    AutocompleteContext,
    CommandContext,
    ComponentContext,
    Context,
    ModalContext,
)
from catalyst_interactions.framework.cooldowns import Cooldowns, cooldown
from catalyst_interactions.framework.dispatch import Dispatcher, Respond
from catalyst_interactions.framework.errors import CheckFailure, RegistrationError, UserFacingError
from catalyst_interactions.framework.options import Param
from catalyst_interactions.framework.overlap import common_match
from catalyst_interactions.framework.registry import Feature, Group, Registry
from catalyst_interactions.framework.throttle import MemoryThrottleStore
from support.discord_rules import answer_problems
from support.signing import command, component, member, modal_submit

# -- an option type, declared once -------------------------------------------------------------


def parse_code(text: str) -> str:
    code = text.strip().upper()
    if not code.isalpha() or len(code) > 4:
        raise UserFacingError(f"`{text}` is not a code.")
    return code


async def suggest_codes(ctx: AutocompleteContext, typed: str) -> list[Choice]:
    return [Choice(c, c) for c in ("ABC", "ABD", "XYZ") if c.startswith(typed.upper())]


Code = Annotated[str, Param("A code", max_length=8, convert=parse_code, autocomplete=suggest_codes)]

# -- a feature module, declared at import ------------------------------------------------------

seen: list[str] = []


async def members_only(ctx: Context) -> None:
    seen.append("feature check")


async def group_gate(ctx: Context) -> None:
    seen.append("group check")
    if ctx.user.id == "13":
        raise CheckFailure("Not for you.")


commands = Feature(checks=(members_only,))
codes = commands.group("codes", "Work with codes", checks=(group_gate,))


@commands.command("look", "Look a code up")
@cooldown(30)
async def look(ctx: CommandContext, code: Code) -> Message:
    seen.append(f"look {code}")
    return Message(content=f"looked {code}")


@codes.command("short", "A short code only")
async def short(ctx: CommandContext, code: Annotated[Code, Param(max_length=3)]) -> Message:
    return Message(content=code)


@codes.component("codes:v1:{code}", checks=())
async def press(ctx: ComponentContext, code: str) -> Message:
    seen.append(f"press {code}")
    return Message(content=f"pressed {code}")


@codes.modal("codes:form:{code}")
async def submitted(ctx: ModalContext, code: str) -> Message:
    return Message(content=f"{code}={ctx.values['v']}")


clicks = cooldown(5, name="code-buttons")


@commands.component("tap:{n}")
@clicks
async def tap(ctx: ComponentContext, n: str) -> Message:
    return Message(content=f"tap {n}")


@clicks
@commands.component("poke:{n}")  # the cooldown may sit above or below the declaration
async def poke(ctx: ComponentContext, n: str) -> Message:
    return Message(content=f"poke {n}")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def build(overrides: dict[str, float] | None = None, clock: Clock | None = None) -> Dispatcher:
    registry = Registry()
    registry.include(commands)
    store = MemoryThrottleStore(clock=clock or Clock())
    limits = Cooldowns(overrides or {}, store=store)
    registry.cooldowns_from(lambda ctx: limits)
    registry.validate()
    return Dispatcher(registry)


async def respond(d: Dispatcher, payload: dict[str, Any]) -> dict[str, Any]:
    outcome = await d.handle(decode_interaction(json.dumps(payload).encode()))
    assert isinstance(outcome, Respond)
    assert answer_problems(outcome.body, payload) == []
    return outcome.body


def code_option(value: Any) -> list[dict[str, Any]]:
    return [{"name": "code", "type": 3, "value": value}]


# -- tests ---------------------------------------------------------------------------------------


async def test_handlers_stay_plain_functions_a_test_can_call() -> None:
    reply = await look(CommandContext(interaction=None, resources=None), "QQ")  # type: ignore[arg-type]
    assert reply.content == "looked QQ"


async def test_the_option_type_converts_before_the_handler_runs() -> None:
    seen.clear()
    body = await respond(build(), command("look", code_option(" abc ")))
    assert body["data"]["content"] == "looked ABC"
    assert seen == ["feature check", "look ABC"]


async def test_a_value_the_type_refuses_is_a_private_answer_and_the_handler_never_runs() -> None:
    seen.clear()
    body = await respond(build(), command("look", code_option("12345")))
    assert body["data"] == {
        "content": "`12345` is not a code.",
        "flags": 64,
        "allowed_mentions": {"parse": []},
    }
    assert seen == []


async def test_the_option_type_answers_its_own_autocomplete_everywhere_it_is_used() -> None:
    d = build()
    for path, options in (
        ("look", [{"name": "code", "type": 3, "value": "ab", "focused": True}]),
        (
            "codes",
            [
                {
                    "name": "short",
                    "type": 1,
                    "options": [{"name": "code", "type": 3, "value": "x", "focused": True}],
                }
            ],
        ),
    ):
        body = await respond(d, command(path, options, type_=4))
        expected = ["ABC", "ABD"] if path == "look" else ["XYZ"]
        assert [c["value"] for c in body["data"]["choices"]] == expected


def test_a_refined_type_keeps_its_conversion_and_suggestions_and_overrides_one_limit() -> None:
    registry = Registry()
    registry.include(commands)
    by_name = {c["name"]: c for c in registry.commands_json()}
    look_code = by_name["look"]["options"][0]
    short_code = by_name["codes"]["options"][0]["options"][0]
    assert look_code == {
        "type": 3,
        "name": "code",
        "description": "A code",
        "required": True,
        "max_length": 8,
        "autocomplete": True,
    }
    assert short_code == {**look_code, "max_length": 3}


async def test_group_checks_cover_subcommands_components_and_forms() -> None:
    d = build()
    outsider = member("13")
    for payload in (
        command(
            "codes", [{"name": "short", "type": 1, "options": code_option("ab")}], user=outsider
        ),
        component("codes:v1:AB", user=outsider),
        modal_submit("codes:form:AB", {"v": "1"}, user=outsider),
    ):
        seen.clear()
        body = await respond(d, payload)
        assert body["data"]["content"] == "Not for you."
        assert seen == ["feature check", "group check"]  # the feature's first, then the group's
    seen.clear()
    body = await respond(d, component("codes:v1:AB"))
    assert body["data"]["content"] == "pressed AB"
    assert seen == ["feature check", "group check", "press AB"]


async def test_a_declared_cooldown_refuses_the_second_use_until_it_passes() -> None:
    clock = Clock()
    d = build(clock=clock)
    first = await respond(d, command("look", code_option("abc")))
    second = await respond(d, command("look", code_option("abc")))
    assert first["data"]["content"] == "looked ABC"
    assert second["data"]["content"] == "Slow down: try `/look` again in 30 s."
    other_member = await respond(d, command("look", code_option("abc"), user=member("7")))
    assert other_member["data"]["content"] == "looked ABC"
    clock.now += 30
    assert (await respond(d, command("look", code_option("abc"))))["data"][
        "content"
    ] == "looked ABC"


async def test_settings_override_a_cooldown_by_name_and_star_covers_the_rest() -> None:
    clock = Clock()
    d = build({"look": 0.0}, clock)
    for _ in range(3):
        assert (await respond(d, command("look", code_option("a"))))["data"][
            "content"
        ] == "looked A"
    d = build({"look": 2.0}, clock)
    await respond(d, command("look", code_option("a")))
    refused = await respond(d, command("look", code_option("a")))
    assert refused["data"]["content"] == "Slow down: try `/look` again in 2 s."
    d = build({"*": 0.0}, clock)
    for payload in (component("tap:1"), component("tap:2"), command("look", code_option("a"))):
        await respond(d, payload)
    assert (await respond(d, command("look", code_option("a"))))["data"]["content"] == "looked A"


async def test_a_named_cooldown_is_one_bucket_for_every_handler_it_decorates() -> None:
    d = build()
    assert (await respond(d, component("tap:1")))["data"]["content"] == "tap 1"
    refused = await respond(d, component("poke:1"))
    assert refused["data"]["content"] == "Slow down: try again in 5 s."


async def test_a_failed_check_does_not_use_up_the_cooldown() -> None:
    registry = Registry()
    gated = Group("gated", "Gated", checks=(group_gate,), cooldown=cooldown(60))

    @gated.command("one", "One")
    async def one(ctx: CommandContext) -> Message:
        return Message(content="one")

    @gated.command("two", "Two")
    async def two(ctx: CommandContext) -> Message:
        return Message(content="two")

    registry.include(gated)
    limits = Cooldowns({}, store=MemoryThrottleStore(clock=Clock()))
    registry.cooldowns_from(lambda ctx: limits)
    d = Dispatcher(registry)
    sub = [{"name": "one", "type": 1, "options": []}]
    assert (await respond(d, command("gated", sub, user=member("13"))))["data"]["content"] == (
        "Not for you."
    )
    assert (await respond(d, command("gated", sub)))["data"]["content"] == "one"
    # The group's cooldown is one bucket for its subcommands, named after the group.
    other = [{"name": "two", "type": 1, "options": []}]
    refused = await respond(d, command("gated", other))
    assert refused["data"]["content"] == "Slow down: try `/gated` again in 60 s."


def test_an_autocomplete_option_without_a_source_stops_start_up() -> None:
    registry = Registry()

    @registry.command("find", "Find")
    async def find(
        ctx: CommandContext, what: Annotated[str, Param("What", autocomplete=True)]
    ) -> Message:
        return Message(content=what)

    with pytest.raises(RegistrationError) as info:
        registry.validate()
    assert "/find option 'what' is marked for autocomplete but has no source" in str(info.value)


def test_a_source_for_an_option_that_is_not_marked_stops_start_up() -> None:
    registry = Registry()

    @registry.command("find", "Find")
    async def find(ctx: CommandContext, what: str) -> Message:
        return Message(content=what)

    @registry.autocomplete("find", "what")
    async def guesses(ctx: AutocompleteContext, typed: str) -> list[Choice]:
        return []

    @registry.autocomplete("find", "nothing")
    async def more(ctx: AutocompleteContext, typed: str) -> list[Choice]:
        return []

    with pytest.raises(RegistrationError) as info:
        registry.validate()
    message = str(info.value)
    assert "is for /find 'what', which is not marked for autocomplete" in message
    assert "is for /find 'nothing', which has no such option" in message


def test_a_source_declared_on_the_option_and_again_by_path_is_refused_naming_both() -> None:
    registry = Registry()
    registry.include(commands)
    with pytest.raises(RegistrationError) as info:

        @registry.autocomplete("look", "code")
        async def again(ctx: AutocompleteContext, typed: str) -> list[Choice]:
            return []

    assert str(info.value) == (
        "autocomplete for /look code is declared twice: "
        f"{__name__}.suggest_codes (option) and "
        f"{__name__}.test_a_source_declared_on_the_option_and_again_by_path_is_refused_naming_both"
        ".<locals>.again (registry.autocomplete)"
    )


def test_two_templates_that_can_match_one_custom_id_stop_start_up_naming_both() -> None:
    registry = Registry()

    @registry.component("item:{id}")
    async def item(ctx: ComponentContext, id: str) -> Message:
        return Message(content=id)

    @registry.component(CustomIdTemplate("item:{n}", n=r"\d+"))
    async def numbered(ctx: ComponentContext, n: str) -> Message:
        return Message(content=n)

    with pytest.raises(RegistrationError) as info:
        registry.validate()
    prefix = f"{__name__}.test_two_templates_that_can_match_one_custom_id_stop_start_up_naming_both"
    assert str(info.value) == (
        "the declared handlers cannot all work:\n"
        f"- component templates 'item:{{id}}' ({prefix}.<locals>.item) and 'item:{{n}}' "
        f"({prefix}.<locals>.numbered) can both match the custom_id 'item:0'"
    )


def test_a_cooldown_with_nothing_to_keep_it_stops_start_up() -> None:
    registry = Registry()
    registry.include(commands)
    with pytest.raises(RegistrationError) as info:
        registry.validate()
    assert "cooldowns ['code-buttons', 'look'] are declared but the registry has no Cooldowns" in (
        str(info.value)
    )


def test_a_component_cooldown_needs_a_name() -> None:
    registry = Registry()
    with pytest.raises(RegistrationError, match="needs name="):

        @registry.component("x:{n}")
        @cooldown(1)
        async def x(ctx: ComponentContext, n: str) -> Message:
            return Message(content=n)


@pytest.mark.parametrize(
    ("first", "second", "example"),
    [
        # The old bot's two chart buttons: a ticker cannot contain "toggle_" (lower case, _).
        (
            CustomIdTemplate("chart_{t}_{tf}", t=r"[A-Z0-9.\-]{1,12}", tf="1D|5D"),
            CustomIdTemplate("chart_toggle_{t}_{tf}", t=r"[A-Z0-9.\-]{1,12}", tf="1D|5D"),
            None,
        ),
        # Loosen the ticker to any text without ':' and one id fits both.
        (
            CustomIdTemplate("chart_{t}_{tf}", t="[^:]+", tf="1D"),
            CustomIdTemplate("chart_toggle_{t}_{tf}", t=r"[A-Z0-9.\-]{1,12}", tf="1D"),
            "chart_toggle_A_1D",
        ),
        (CustomIdTemplate("p:{n}"), CustomIdTemplate("p:{a}:{b}"), None),
        (
            CustomIdTemplate("v:{n}", n=r"\d{2,3}|ab*"),
            CustomIdTemplate("v:{n}", n="[0-9]9+"),
            "v:09",
        ),
        (
            CustomIdTemplate("v:{n}", n=r"\d{2,3}|ab*"),
            CustomIdTemplate("v:{n}", n="[^a-z0-9]"),
            None,
        ),
        (CustomIdTemplate("w:{n}", n=r"\w+"), CustomIdTemplate("w:{n}", n="-+"), None),
        (
            CustomIdTemplate("w:{n}", n=r"a(?:bc)*"),
            CustomIdTemplate("w:{n}", n="[a-c]{5}"),
            "w:abcbc",
        ),
    ],
)
def test_common_match_finds_the_shortest_id_both_templates_accept(
    first: CustomIdTemplate, second: CustomIdTemplate, example: str | None
) -> None:
    assert common_match(first.regex, second.regex) == example
    if example is not None:
        assert first.match(example) is not None and second.match(example) is not None


def test_a_field_pattern_start_up_cannot_reason_about_is_refused() -> None:
    with pytest.raises(RegistrationError, match="cannot check for overlaps"):
        common_match(CustomIdTemplate("b:{n}", n=r"(?=a)a").regex, "b:a")


def test_a_component_whose_parameters_are_not_its_templates_fields_is_refused() -> None:
    registry = Registry()
    with pytest.raises(RegistrationError) as info:

        @registry.component("row:{ticker}:{tf}")
        async def row(ctx: ComponentContext, ticker: str, timeframe: str) -> Message:
            return Message(content=ticker)

    assert "missing ['tf'], not in the template ['timeframe']" in str(info.value)


def split_words(text: str) -> frozenset[str]:
    return frozenset(text.split())


Words = Annotated[frozenset[str], Param("Some words", sent_as=str, convert=split_words)]


async def test_an_option_type_may_hand_the_handler_another_type_than_discord_sends() -> None:
    registry = Registry()

    @registry.command("count", "Count distinct words")
    async def count(ctx: CommandContext, words: Words) -> Message:
        return Message(content=str(len(words)))

    assert registry.commands_json()[0]["options"] == [
        {"type": 3, "name": "words", "description": "Some words", "required": True}
    ]
    body = await respond(
        Dispatcher(registry), command("count", [{"name": "words", "type": 3, "value": "a b a c"}])
    )
    assert body["data"]["content"] == "3"
    with pytest.raises(RegistrationError, match="sent_as= but no convert="):

        @registry.command("bad", "Bad")
        async def bad(
            ctx: CommandContext, w: Annotated[frozenset[str], Param(sent_as=str)]
        ) -> Message:
            return Message(content="")
