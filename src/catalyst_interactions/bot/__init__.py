"""The Catalyst command set: one module per feature, each declaring its handlers at import
on a module-level ``commands`` (a :class:`~..framework.registry.Feature`)."""

from __future__ import annotations

from ..framework.registry import Registry
from . import admin, backtest, chart, check, research, sentiment, stats, watchlist
from . import help as help_feature
from .resources import Resources
from .services import cooldowns_of, user_rate


def build_registry() -> Registry[Resources]:
    """Every feature, in the order ``/help`` lists them; validated before anything starts."""
    registry = Registry[Resources]()
    registry.include(
        help_feature.commands,
        watchlist.commands,
        check.commands,
        stats.commands,
        backtest.commands,
        sentiment.commands,
        research.commands,
        admin.commands,
        chart.commands,
    )
    # Fair use: no member may flood the bot, whatever they click or type.
    registry.check_all(user_rate)
    registry.cooldowns_from(cooldowns_of)
    registry.validate()  # a set of handlers that cannot all work stops the start here
    return registry
