"""Per-member cooldowns, declared on the handler and enforced after its checks.

``@cooldown(3)`` on a command (or ``cooldown=cooldown(15)`` on a group) declares the default;
the operator overrides any of them by name (``CATALYST_COOLDOWNS=chart=5,research=0``, ``*``
for every cooldown). The name is the command's top-level name, the group's name, or the
``name=`` given (components must give one: ``cooldown(1, name="chart-buttons")``, shared by
every handler it decorates, so one bucket covers a chart's buttons and menu).

The waiting is a :class:`~.throttle.ThrottleStore` (memory, SQLite or Redis: see
``throttle.py``) held by :class:`Cooldowns`, which the application builds once at start and
names to its registry with ``registry.cooldowns_from(...)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from .context import Context
from .errors import CheckFailure, RegistrationError
from .throttle import MemoryThrottleStore, ThrottleStore

F = TypeVar("F", bound=Callable[..., object])
R = TypeVar("R")

_ATTRIBUTE = "__catalyst_cooldown__"
EVERY = "*"
"""The override name that applies to every cooldown not named on its own."""


@dataclass(frozen=True, slots=True)
class Cooldown:
    """One use per ``seconds`` per member, in the bucket ``name`` (None: the command's
    top-level name, or the group's). Also a decorator: ``@cooldown(3)``."""

    seconds: float
    name: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.seconds) or self.seconds < 0:
            raise RegistrationError(f"a cooldown needs 0 or more seconds, not {self.seconds!r}")
        if self.name is not None and not self.name.strip():
            raise RegistrationError("a cooldown's name must not be empty")

    def __call__(self, func: F) -> F:
        """Declare this cooldown on a handler (in any order with its other decorators)."""
        setattr(func, _ATTRIBUTE, self)
        return func

    def named(self, name: str) -> Cooldown:
        return self if self.name is not None else Cooldown(self.seconds, name)


def cooldown(seconds: float, *, name: str | None = None) -> Cooldown:
    """A per-member cooldown of ``seconds`` (the default; settings override it by name)."""
    return Cooldown(float(seconds), name)


def declared_cooldown(func: Callable[..., object]) -> Cooldown | None:
    """The cooldown ``@cooldown`` put on ``func``, if any."""
    found = getattr(func, _ATTRIBUTE, None)
    return found if isinstance(found, Cooldown) else None


class Cooldowns:
    """Cooldowns and the per-member rate of one application, kept in a
    :class:`~.throttle.ThrottleStore`: memory for one process by default, or the store given
    (SQLite on one host, Redis across hosts).

    ``seconds`` are the operator's overrides by name (``CATALYST_COOLDOWNS``); a name not
    listed keeps the default its declaration gives. The interaction that was last admitted is
    remembered with each limit: the same interaction delivered again (handed over after an
    inline run, a job retried) is neither refused by its own cooldown nor counted twice.
    """

    def __init__(
        self,
        seconds: Mapping[str, float],
        *,
        rate: tuple[int, float] | None = None,
        store: ThrottleStore | None = None,
    ) -> None:
        self._seconds = dict(seconds)
        self.rate = rate
        # Not `store or ...`: an empty MemoryThrottleStore has a length of 0, so is falsy.
        self.store: ThrottleStore = store if store is not None else MemoryThrottleStore()

    def seconds(self, name: str, declared: float = 0.0) -> float:
        """The period in force for ``name``: its override, else ``*``'s, else ``declared``."""
        if name in self._seconds:
            return self._seconds[name]
        return self._seconds.get(EVERY, declared)

    async def remaining(
        self, name: str, user_id: str, interaction_id: str = "", *, declared: float = 0.0
    ) -> float:
        """0 when the user may use ``name`` now (and starts the cooldown), else seconds."""
        period = self.seconds(name, declared)
        if period <= 0:
            return 0.0
        return await self.store.admit(f"cd:{name}:{user_id}", period, 1, interaction_id)

    async def rate_wait(self, user_id: str, interaction_id: str = "") -> float:
        """0 when the user is within the per-user rate (and counts this one), else seconds."""
        if self.rate is None:
            return 0.0
        count, per_s = self.rate
        return await self.store.admit(f"rate:{user_id}", per_s / count, count, interaction_id)

    async def close(self) -> None:
        await self.store.close()


CooldownSource = Callable[[Context[R]], Cooldowns]
"""Where a handler's context finds the application's :class:`Cooldowns`."""


class CooldownCheck(Generic[R]):
    """The check a declared cooldown becomes: run after every other check of the handler,
    so a refusal for another reason never uses up the member's cooldown."""

    __slots__ = ("command", "cooldown", "source")

    def __init__(
        self,
        declared: Cooldown,
        source: Callable[[], CooldownSource[R] | None],
        *,
        command: str | None,
    ) -> None:
        if declared.name is None:
            raise RegistrationError("a cooldown check needs its bucket's name")
        self.cooldown = declared
        self.source = source
        self.command = command
        """The top-level command shown in the refusal (None for components and forms)."""

    def __repr__(self) -> str:
        return f"CooldownCheck({self.cooldown!r})"

    async def __call__(self, ctx: Context[R]) -> None:
        source = self.source()
        if source is None:  # validate() refuses this at start; never silently unlimited
            raise RegistrationError(f"cooldown {self.cooldown.name!r} has no Cooldowns to use")
        name = self.cooldown.name or ""
        wait = await source(ctx).remaining(
            name, ctx.user.id, ctx.interaction.id, declared=self.cooldown.seconds
        )
        if wait > 0:
            again = f"try `/{self.command}` again" if self.command else "try again"
            raise CheckFailure(f"Slow down: {again} in {wait_text(wait)}.")


def wait_text(wait: float) -> str:
    """Seconds to wait as members read them: whole seconds, at least 1."""
    return f"{max(1, math.ceil(wait))} s"


__all__ = [
    "EVERY",
    "Cooldown",
    "CooldownCheck",
    "CooldownSource",
    "Cooldowns",
    "cooldown",
    "declared_cooldown",
    "wait_text",
]
