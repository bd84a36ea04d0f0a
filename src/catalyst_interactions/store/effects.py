"""Exactly-once effects: the interaction id is the idempotency key of every state change.

A state-changing handler runs inside :meth:`Effects.once`. The first thing that unit of work
does is claim the interaction id (``INSERT … ON CONFLICT DO NOTHING``); every change the
handler makes, and the answer it gives, are committed in that same transaction. A second
run of the same interaction — a replay, a hand-over after an inline run, a worker retrying
after a crash between the commit and the acknowledgement — finds the claim and gets the
first answer back, changing nothing. Two runs at once are serialised by the database (the
primary key on PostgreSQL, the single writer on SQLite): the second waits, then sees the
first one's row.

If the handler fails (a refusal, an error), the whole unit rolls back, claim included:
nothing happened, so running it again may decide afresh.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update

from ._db import Repository
from .models import InteractionEffectRow

# Interactions can be delivered again for at most the token's 15 minutes (a worker retry);
# a day of margin, then the rows are pruned.
KEEP = timedelta(days=1)
_PRUNE_EVERY = 200  # on average, one in this many claims prunes old rows


@dataclass(slots=True)
class Effect:
    """One run's view of an interaction's effects."""

    previous: dict[str, Any] | None
    """The answer of the run that already committed, or None: this run is the first."""
    repeated: bool
    outcome: dict[str, Any] | None = None
    """Set by the first run: its answer, stored with its changes."""


class Effects(Repository):
    @asynccontextmanager
    async def once(self, interaction_id: str, handler: str) -> AsyncIterator[Effect]:
        """A unit of work keyed by ``interaction_id``; see the module docstring."""
        db = self._db
        async with db.unit() as session:
            claimed = await session.scalar(
                db.insert_ignoring_conflicts(InteractionEffectRow)
                .values(
                    interaction_id=interaction_id,
                    handler=handler[:200],
                    outcome=None,
                    created_at=db.clock(),
                )
                .on_conflict_do_nothing(index_elements=["interaction_id"])
                .returning(InteractionEffectRow.interaction_id)
            )
            if claimed is None:
                row = await session.get(InteractionEffectRow, interaction_id)
                yield Effect(previous=row.outcome if row is not None else None, repeated=True)
                return
            effect = Effect(previous=None, repeated=False)
            yield effect
            await session.execute(
                update(InteractionEffectRow)
                .where(InteractionEffectRow.interaction_id == interaction_id)
                .values(outcome=effect.outcome)
            )
            if random.randrange(_PRUNE_EVERY) == 0:
                await session.execute(
                    delete(InteractionEffectRow).where(
                        InteractionEffectRow.created_at < db.clock() - KEEP
                    )
                )

    async def count(self) -> int:
        """Interactions with committed effects (for tests and operations)."""
        from sqlalchemy import func, select

        async with self._db.read() as session:
            return int(
                await session.scalar(select(func.count(InteractionEffectRow.interaction_id))) or 0
            )
