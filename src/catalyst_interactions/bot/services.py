"""Checks shared by Catalyst's features: the per-user rate and admins only; and where the
declared cooldowns keep their waiting.

They read the process's :class:`~.resources.Resources` from ``ctx.resources``.
"""

from __future__ import annotations

import logging

from ..framework.context import Context
from ..framework.cooldowns import Cooldowns, wait_text
from ..framework.errors import CheckFailure
from .resources import Resources

log = logging.getLogger("catalyst_interactions.bot")


def cooldowns_of(ctx: Context[Resources]) -> Cooldowns:
    """Where the registry's declared cooldowns keep their waiting (``cooldowns_from``)."""
    return ctx.resources.cooldowns


async def user_rate(ctx: Context[Resources]) -> None:
    """Every user's interactions (commands, components, forms) within CATALYST_USER_RATE."""
    cooldowns = ctx.resources.cooldowns
    if cooldowns.rate is None:  # switched off: no user to look up, no store to ask
        return
    wait = await cooldowns.rate_wait(ctx.user.id, ctx.interaction.id)
    if wait > 0:
        raise CheckFailure(
            f"Slow down: you are sending requests faster than we can serve everyone; "
            f"try again in {wait_text(wait)}."
        )


ADMIN_REFUSAL = "Only Catalyst admins can do that."
"""The one answer every admin path gives an outsider (commands, buttons, forms, menus)."""


async def admin_only(ctx: Context[Resources]) -> None:
    """Admins only: listed user ids anywhere; listed roles or ADMINISTRATOR in a home server.
    Refusals are audited."""
    if ctx.is_admin:
        return
    try:
        store = await ctx.resources.store.get()
        await store.audit.record(
            ctx.user.id,
            "admin.refused",
            target=_target(ctx)[:200],
            allowed=False,
            interaction_id=ctx.interaction.id,
        )
    except Exception:  # the refusal stands even if the audit write fails
        log.exception("audit write failed", extra={"interaction_id": ctx.interaction.id})
    raise CheckFailure(ADMIN_REFUSAL)


def _target(ctx: Context[Resources]) -> str:
    path = getattr(ctx, "path", None)
    if path:
        return "/" + " ".join(path)
    component = getattr(ctx, "component", None) or getattr(ctx, "modal", None)
    return str(getattr(component, "custom_id", "")) or "unknown"
