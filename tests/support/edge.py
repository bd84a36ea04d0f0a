"""The edge as tests build it: :func:`build_edge` with the real :class:`Resources` of the
settings (``build_resources``, no workers). Nothing in them connects before a handler uses
it, so this is as cheap as the edge alone; they are closed when the app shuts down."""

from __future__ import annotations

from typing import Any

from catalyst_interactions.app import Runtime, build_edge, build_resources
from catalyst_interactions.settings import Settings


def edge_runtime(settings: Settings, **kw: Any) -> Runtime:
    resources = build_resources(settings, workers=False)
    on_shutdown = [*kw.pop("on_shutdown", []), resources.aclose]
    return build_edge(settings, resources=resources, on_shutdown=on_shutdown, **kw)
