"""The REST client's metrics hook; the application wires it to Prometheus."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NullMetrics", "RestMetrics"]


class RestMetrics(Protocol):
    """Receives one observation per HTTP attempt. ``route`` is the template, never a URL."""

    def observe(self, route: str, status: int, seconds: float) -> None:
        """An attempt finished; ``status`` is 0 when no response arrived (network error)."""
        ...

    def ratelimited(self, route: str, scope: str) -> None:
        """Discord answered 429; ``scope`` is ``user``, ``global`` or ``shared``."""
        ...


class NullMetrics:
    def observe(self, route: str, status: int, seconds: float) -> None:
        pass

    def ratelimited(self, route: str, scope: str) -> None:
        pass
