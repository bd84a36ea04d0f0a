"""The bot's handlers declared once: what the registry holds, and handlers called directly.

No edge and no dispatcher: each test imports a handler (or the registry built at start) and
looks at it or calls it with a context built the way the dispatcher builds one, over a real
SQLite store and the demo market data.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from catalyst_interactions.app import build_resources
from catalyst_interactions.bot import backtest, build_registry, chart, check, watchlist
from catalyst_interactions.bot import help as help_feature
from catalyst_interactions.bot._shared import parse_ticker, suggest_tickers
from catalyst_interactions.bot.resources import Resources
from catalyst_interactions.discord.custom_id import CustomIdTemplate
from catalyst_interactions.discord.enums import CommandType
from catalyst_interactions.discord.messages import Message
from catalyst_interactions.discord.payloads import command_data, decode_interaction
from catalyst_interactions.framework.context import (
    AccessPolicy,
    AutocompleteContext,
    CommandContext,
    ComponentContext,
)
from catalyst_interactions.framework.cooldowns import Cooldowns
from catalyst_interactions.framework.errors import RegistrationError, UserFacingError
from catalyst_interactions.framework.registry import Feature, Registry
from catalyst_interactions.settings import Settings
from support.signing import command, member

ADMIN_ID = "4242"
ACCESS = AccessPolicy(admin_user_ids=frozenset({ADMIN_ID}))


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Resources]:
    svc = build_resources(Settings(data_dir=tmp_path, market_provider="demo"), workers=False)
    try:
        yield svc
    finally:
        await svc.aclose()


def context(
    services: Resources | None,
    name: str,
    options: list[dict[str, Any]] | None = None,
    user: str = "100",
) -> CommandContext[Resources | None]:
    found = decode_interaction(json.dumps(command(name, options, user=member(user))).encode())
    return CommandContext(
        interaction=found,
        resources=services,
        access=ACCESS,
        registry=build_registry(),
        command=command_data(found),
        path=(name,),
    )


def suggesting(
    services: Resources | None, user: str = "100"
) -> AutocompleteContext[Resources | None]:
    found = decode_interaction(json.dumps(command("x", user=member(user), type_=4)).encode())
    return AutocompleteContext(
        interaction=found, resources=services, access=ACCESS, registry=build_registry()
    )


def test_declared_cooldowns_are_the_documented_ones() -> None:
    # docs/security.md, "Fairness": /chart 3 s, /compare 5 s, /backtest 15 s, /research and
    # /ask 30 s, a chart's buttons and menu 1 s, /compare's buttons 1 s; /check, /stats and
    # /sentiment none unless the operator sets one.
    declared = {
        spec.key: (spec.cooldown.name, spec.cooldown.seconds)
        for spec in build_registry().handlers()
        if spec.cooldown is not None
    }
    assert declared == {
        "command:check": ("check", 0.0),
        "command:stats": ("stats", 0.0),
        "command:backtest": ("backtest", 15.0),
        "command:sentiment": ("sentiment", 0.0),
        "command:research": ("research", 30.0),
        "command:ask": ("ask", 30.0),
        "command:chart": ("chart", 3.0),
        "command:compare": ("compare", 5.0),
        "component:chart:v1:{ticker}:{tf}:{ind}": ("chart-buttons", 1.0),
        "component:chart:v1:ind:{ticker}:{tf}": ("chart-buttons", 1.0),
        "component:chart_{ticker}_{tf}": ("chart-buttons", 1.0),
        "component:chart_toggle_{ticker}_{tf}": ("chart-buttons", 1.0),
        "component:compare:v1:{a}:{b}:{tf}": ("compare-buttons", 1.0),
    }
    # The operator's setting wins by name; what it leaves out keeps the declaration.
    limits = Cooldowns(
        Settings.from_env({"CATALYST_COOLDOWNS": "chart=0"}, env_file=None).cooldowns
    )
    assert limits.seconds("chart", 3.0) == 0.0 and limits.seconds("research", 30.0) == 30.0


def test_every_ticker_option_is_the_one_ticker_type() -> None:
    registry = build_registry()
    found = {}
    for spec in registry.commands():
        if spec.kind is not CommandType.CHAT_INPUT:
            continue
        for option in spec.options:
            if option.name.startswith("ticker"):
                source = registry.find_autocomplete(spec.path, option.name)
                found[f"/{' '.join(spec.path)} {option.name}"] = (
                    option.converter,
                    source.func if source else None,
                )
    by_ticker = (parse_ticker, suggest_tickers)
    assert found == {
        "/watchlist add ticker": by_ticker,
        "/watchlist remove ticker": (parse_ticker, watchlist.suggest_watched),
        "/check ticker": by_ticker,
        "/backtest ticker": by_ticker,
        "/sentiment ticker": by_ticker,
        "/research ticker": by_ticker,
        "/chart ticker": by_ticker,
        "/compare ticker1": by_ticker,
        "/compare ticker2": by_ticker,
    }


async def test_help_lists_only_the_asked_command_and_hides_admin_tools() -> None:
    one = await help_feature.help_command(context(None, "help"), "watchlist")
    assert [f.name for f in one.embeds[0].fields] == [
        "/watchlist add",
        "/watchlist remove",
        "/watchlist list",
        "/watchlist clear",
    ]
    with pytest.raises(UserFacingError, match="There is no command called `/admin`"):
        await help_feature.help_command(context(None, "help"), "admin")
    names = await help_feature.command_names(suggesting(None), "")
    assert "admin" not in [c.value for c in names] and "chart" in [c.value for c in names]
    admin_names = await help_feature.command_names(suggesting(None, ADMIN_ID), "ad")
    assert [c.value for c in admin_names] == ["admin"]


async def test_check_answers_with_the_demo_quote_and_no_alerts(services: Resources) -> None:
    reply = await check.check(context(services, "check"), "AAPL")
    embed = reply.embeds[0]
    assert embed.title is not None and embed.title.startswith("AAPL $")
    assert [f.value for f in embed.fields][-1] == "No alerts for this ticker."


async def test_backtest_without_stored_alerts_says_so(services: Resources) -> None:
    with pytest.raises(UserFacingError) as info:
        await backtest.backtest(context(services, "backtest"), "AAPL")
    assert info.value.message == "There are no stored alerts for **AAPL** to backtest."


async def test_watchlist_remove_suggests_only_the_members_own_tickers(
    services: Resources,
) -> None:
    store = await services.store.get()
    await store.watchlists.add("100", "MSFT", 50)
    await store.watchlists.add("100", "META", 50)
    await store.watchlists.add("200", "MU", 50)
    mine = await watchlist.suggest_watched(suggesting(services), "$m")
    assert sorted(c.value for c in mine) == ["META", "MSFT"]
    everything = await suggest_tickers(suggesting(services), "nvd")
    assert everything[0].value == "NVDA"


async def test_chart_indicator_suggestions_complete_the_last_item() -> None:
    choices = await chart.suggest_indicators(suggesting(None), "vwap, r")
    assert [c.value for c in choices] == ["vwap,rsi"]


def test_a_new_button_that_could_steal_the_old_bots_chart_clicks_stops_the_start() -> None:
    # A loose template (any text for the symbol) also matches what the old bot's alerts
    # carry, e.g. chart_toggle_A_1D: start-up names both handlers and that id.
    rogue = Feature()

    @rogue.component(CustomIdTemplate("chart_{name}_{tf}", name=".+", tf="1D"))
    async def rogue_button(ctx: ComponentContext, name: str, tf: str) -> Message:
        return Message(content=name)

    registry = Registry()
    registry.include(chart.commands, rogue)
    registry.cooldowns_from(lambda ctx: Cooldowns({}))
    with pytest.raises(RegistrationError) as info:
        registry.validate()
    problems = str(info.value).splitlines()[1:]
    rogue_where = f"{rogue_button.__module__}.{rogue_button.__qualname__}"
    assert sorted(problems) == [
        "- component templates 'chart_toggle_{ticker}_{tf}' "
        "(catalyst_interactions.bot.chart.legacy_toggle) and 'chart_{name}_{tf}' "
        f"({rogue_where}) can both match the custom_id 'chart_toggle_A_1D'",
        "- component templates 'chart_{ticker}_{tf}' "
        "(catalyst_interactions.bot.chart.legacy_chart) and 'chart_{name}_{tf}' "
        f"({rogue_where}) can both match the custom_id 'chart_A_1D'",
    ]
