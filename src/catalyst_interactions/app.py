"""Composition root: builds the edge, queue, workers and their resources from Settings.

Nothing here runs at import time; ``build_edge`` is called by the CLI (and by tests) with
explicit settings, so every resource can be swapped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from . import __version__
from .bot import build_registry
from .discord.verify import SignatureVerifier
from .edge.asgi import EdgeApp, Hook, ReadinessCheck
from .edge.endpoint import InteractionEndpoint, JobSink
from .edge.metrics import Metrics
from .edge.replay import MemoryReplayGuard
from .framework.context import AccessPolicy
from .framework.dispatch import Dispatcher
from .framework.registry import Registry
from .settings import Settings

log = logging.getLogger("catalyst_interactions.app")


@dataclass(slots=True)
class Runtime:
    """What one process runs: the ASGI app plus handles tests and the CLI may need."""

    app: EdgeApp
    settings: Settings
    registry: Registry
    dispatcher: Dispatcher
    metrics: Metrics
    extras: dict[str, Any] = field(default_factory=dict)


def build_edge(
    settings: Settings,
    *,
    registry: Registry | None = None,
    state: Any = None,
    jobs: JobSink | None = None,
    readiness: dict[str, ReadinessCheck] | None = None,
    on_startup: list[Hook] | None = None,
    on_shutdown: list[Hook] | None = None,
    metrics: Metrics | None = None,
) -> Runtime:
    """The edge for ``settings``; raises ConfigError when the public key is missing or bad."""
    verifier = SignatureVerifier(settings.public_key(), window_s=settings.timestamp_window_s)
    registry = registry or build_registry()
    metrics = metrics or Metrics()
    access = AccessPolicy(settings.admin_user_ids, settings.admin_role_ids)
    dispatcher = Dispatcher(registry, state=state, access=access,
                            auto_budget_s=settings.auto_budget_s)
    endpoint = InteractionEndpoint(
        verifier=verifier,
        dispatcher=dispatcher,
        replay=MemoryReplayGuard(settings.timestamp_window_s),
        metrics=metrics,
        jobs=jobs,
    )
    app = EdgeApp(
        endpoint,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        readiness=readiness,
        on_startup=on_startup or [],
        on_shutdown=on_shutdown or [],
        info={"version": __version__, "application id": settings.application_id or "not set",
              "commands": str(sum(1 for _ in registry.commands()))},
    )
    return Runtime(app, settings, registry, dispatcher, metrics)
