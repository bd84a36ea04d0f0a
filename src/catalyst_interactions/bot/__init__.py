"""The Catalyst command set: one module per feature, each with ``register(registry)``."""

from __future__ import annotations

from ..framework.registry import Registry
from . import admin, backtest, chart, check, research, sentiment, stats, watchlist
from . import help as help_feature
from .services import services, user_rate


def build_registry() -> Registry:
    registry = Registry()
    for feature in (
        help_feature,
        watchlist,
        check,
        stats,
        backtest,
        sentiment,
        research,
        admin,
        chart,
    ):
        feature.register(registry)
    # Fair use: no member may flood the bot, whatever they click or type.
    registry.check_all(user_rate)
    registry.cooldowns_from(lambda ctx: services(ctx).cooldowns)
    registry.validate()  # a set of handlers that cannot all work stops the start here
    return registry
