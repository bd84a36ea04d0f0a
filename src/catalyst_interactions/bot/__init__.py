"""The Catalyst command set: one module per feature, each with ``register(registry)``."""

from __future__ import annotations

from ..framework.registry import Registry
from . import admin, backtest, chart, check, research, sentiment, stats, watchlist
from . import help as help_feature


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
    return registry
