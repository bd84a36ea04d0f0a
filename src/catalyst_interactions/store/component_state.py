"""Server-side state behind short ids, for component custom_ids that would exceed 100 chars.

The caller signs and embeds the short id; this table only maps it to JSON until it expires.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from ._db import Repository, rowcount
from .errors import Conflict, InvalidValue
from .models import ComponentStateRow
from .records import JSONObject

# 12 URL-safe characters = 72 random bits: collisions are negligible, and one is retried.
_ID_BYTES = 9
_ATTEMPTS = 3


class ComponentState(Repository):
    async def put(self, state: JSONObject, ttl: timedelta) -> str:
        """Store ``state`` for ``ttl``; returns its short id (12 URL-safe characters)."""
        if ttl <= timedelta(0):
            raise InvalidValue("ttl must be positive")
        for _ in range(_ATTEMPTS):
            short_id = secrets.token_urlsafe(_ID_BYTES)
            now = self._db.clock()
            async with self._db.write() as session:
                inserted = await session.scalar(
                    self._db.insert_ignoring_conflicts(ComponentStateRow)
                    .values(id=short_id, state=state, created_at=now, expires_at=now + ttl)
                    .on_conflict_do_nothing(index_elements=["id"])
                    .returning(ComponentStateRow.id)
                )
            if inserted is not None:
                return short_id
        raise Conflict("could not allocate a component state id")

    async def get(self, short_id: str) -> JSONObject | None:
        """The stored state, or None when the id is unknown or its time is up."""
        async with self._db.read() as session:
            row = await session.scalar(
                select(ComponentStateRow).where(
                    ComponentStateRow.id == short_id,
                    ComponentStateRow.expires_at > self._db.clock(),
                )
            )
            return None if row is None else row.state

    async def purge_expired(self) -> int:
        """Delete expired entries; returns how many. Run it now and then, not on each get."""
        async with self._db.write() as session:
            result = await session.execute(
                delete(ComponentStateRow).where(ComponentStateRow.expires_at <= self._db.clock())
            )
            return rowcount(result)
