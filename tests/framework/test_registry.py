"""Declarations produce the registration JSON Discord expects; collisions are refused."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import pytest

from catalyst_interactions.discord.custom_id import CustomIdTemplate
from catalyst_interactions.discord.messages import Message
from catalyst_interactions.discord.payloads import Attachment, Channel, Role, User
from catalyst_interactions.framework.context import CommandContext, ComponentContext
from catalyst_interactions.framework.errors import RegistrationError
from catalyst_interactions.framework.options import Param
from catalyst_interactions.framework.registry import Registry
from support.discord_rules import command_problems


class Period(enum.Enum):
    TODAY = "today"
    WEEK = "7d"


def build() -> Registry:
    reg = Registry()

    @reg.command("demo", "Every option type")
    async def demo(
        ctx: CommandContext,
        text: Annotated[str, Param("Some text", min_length=2, max_length=10)],
        count: Annotated[int, Param("How many", min_value=1, max_value=5)],
        ratio: float,
        flag: bool,
        who: User,
        where: Channel,
        role: Role,
        file: Attachment,
        tf: Literal["1D", "5D"] = "1D",
        period: Period = Period.TODAY,
        ticker: Annotated[str | None, Param("Ticker", autocomplete=True)] = None,
    ) -> Message:
        return Message(content="x")

    watch = reg.group("watchlist", "Manage your watchlist")

    @watch.command("add", "Add a ticker")
    async def add(ctx: CommandContext, ticker: str) -> Message:
        return Message(content="added")

    params = reg.group("admin", "Operators only", default_member_permissions="8").group(
        "params", "Parameters"
    )

    @params.command("set", "Set one")
    async def set_(ctx: CommandContext, name: str, value: str) -> Message:
        return Message(content="set")

    @reg.user_command("Show watchlist")
    async def show(ctx: CommandContext, target: User) -> Message:
        return Message(content="w")

    return reg


def test_registration_json_matches_discords_shapes() -> None:
    commands = build().commands_json()
    by_name = {c["name"]: c for c in commands}
    demo = by_name["demo"]
    assert [o["type"] for o in demo["options"]] == [3, 4, 10, 5, 6, 7, 8, 11, 3, 3, 3]
    assert demo["options"][0] == {
        "type": 3,
        "name": "text",
        "description": "Some text",
        "required": True,
        "min_length": 2,
        "max_length": 10,
    }
    assert demo["options"][1]["min_value"] == 1 and demo["options"][1]["max_value"] == 5
    assert demo["options"][8]["choices"] == [
        {"name": "1D", "value": "1D"},
        {"name": "5D", "value": "5D"},
    ]
    assert demo["options"][9]["choices"] == [
        {"name": "today", "value": "today"},
        {"name": "7d", "value": "7d"},
    ]
    assert demo["options"][10]["autocomplete"] is True
    assert [o["required"] for o in demo["options"]] == [True] * 8 + [False] * 3
    assert by_name["watchlist"]["options"] == [
        {
            "type": 1,
            "name": "add",
            "description": "Add a ticker",
            "options": [{"type": 3, "name": "ticker", "description": "ticker", "required": True}],
        }
    ]
    admin = by_name["admin"]
    assert admin["default_member_permissions"] == "8"
    assert admin["options"][0]["type"] == 2 and admin["options"][0]["options"][0]["name"] == "set"
    assert by_name["Show watchlist"] == {"name": "Show watchlist", "type": 2, "description": ""}
    assert command_problems(commands) == []


def test_duplicates_are_refused() -> None:
    reg = build()
    with pytest.raises(RegistrationError, match="/demo is registered twice"):
        reg.command("demo", "again")(lambda ctx: None)  # type: ignore[arg-type,return-value]

    @reg.component(CustomIdTemplate("x:{a}"))
    async def first(ctx: ComponentContext, a: str) -> Message:
        return Message(content=a)

    with pytest.raises(RegistrationError, match="registered twice"):
        reg.component(CustomIdTemplate("x:{a}"))(first)


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda r: r.command("Bad", "d"), "name 'Bad' must be 1-32"),
        (lambda r: r.command("ok", ""), "description must be 1-100"),
        (lambda r: r.command("ok", "x" * 101), "description must be 1-100"),
    ],
)
def test_invalid_declarations_fail_at_start(declare, message) -> None:
    async def handler(ctx: CommandContext) -> Message:
        return Message(content="x")

    with pytest.raises(RegistrationError, match=message):
        declare(Registry())(handler)


def test_required_after_optional_and_unsupported_types_are_refused() -> None:
    reg = Registry()

    async def bad_order(ctx: CommandContext, a: str = "x", b: str = "") -> Message: ...
    async def bad_order2(ctx: CommandContext, a: int = 1, *, b: str) -> Message: ...
    async def bad_type(ctx: CommandContext, a: list[str]) -> Message: ...

    reg.command("fine", "ok")(bad_order)
    with pytest.raises(RegistrationError, match="required option 'b' follows an optional one"):
        reg.command("order", "d")(bad_order2)
    with pytest.raises(RegistrationError, match="unsupported type"):
        reg.command("kind", "d")(bad_type)


def test_legacy_and_new_templates_route_to_the_right_handler() -> None:
    reg = Registry()
    seen: list[str] = []

    @reg.component(
        CustomIdTemplate("chart_{ticker}_{tf}", ticker=r"[A-Z0-9.\-]{1,12}", tf="1D|5D|1M|3M|1Y")
    )
    async def chart(ctx: ComponentContext, ticker: str, tf: str) -> Message:
        seen.append("chart")
        return Message(content="c")

    @reg.component(
        CustomIdTemplate(
            "chart_toggle_{ticker}_{tf}", ticker=r"[A-Z0-9.\-]{1,12}", tf="1D|5D|1M|3M|1Y"
        )
    )
    async def toggle(ctx: ComponentContext, ticker: str, tf: str) -> Message:
        return Message(content="t")

    spec, fields = reg.route_component("chart_toggle_BRK.B_5D") or (None, None)
    assert spec is not None and spec.func is toggle and fields == {"ticker": "BRK.B", "tf": "5D"}
    spec, fields = reg.route_component("chart_AAPL_1Y") or (None, None)
    assert spec is not None and spec.func is chart and fields == {"ticker": "AAPL", "tf": "1Y"}
    assert reg.route_component("chart_AAPL_2Y") is None
    assert reg.route_component("unrelated") is None
