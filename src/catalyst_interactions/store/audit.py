"""An append-only record of who did what, including refused attempts (``allowed=False``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ._db import Repository, positive_limit, record_of
from .models import AuditRow
from .records import AuditEntry, JSONObject

AuditList = list[AuditEntry]


class Audit(Repository):
    async def record(
        self,
        actor_id: str,
        action: str,
        *,
        target: str | None = None,
        allowed: bool = True,
        detail: JSONObject | None = None,
        interaction_id: str | None = None,
    ) -> AuditEntry:
        """Append one entry; ``detail`` must be JSON-serialisable and never hold a secret.

        With ``interaction_id``, the entry is written once per interaction and action: a
        second delivery of the same interaction returns the first entry and adds nothing.
        """
        values = {
            "at": self._db.clock(),
            "actor_id": actor_id,
            "action": action,
            "target": target,
            "allowed": allowed,
            "detail": detail or {},
            "interaction_id": interaction_id,
        }
        async with self._db.write() as session:
            if interaction_id is None:
                row = AuditRow(**values)
                session.add(row)
                await session.flush()
                return record_of(AuditEntry, row)
            new_id = await session.scalar(
                self._db.insert_ignoring_conflicts(AuditRow)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["interaction_id", "action"])
                .returning(AuditRow.id)
            )
            found = await session.scalar(
                select(AuditRow).where(
                    AuditRow.id == new_id
                    if new_id is not None
                    else (AuditRow.interaction_id == interaction_id) & (AuditRow.action == action)
                )
            )
            assert found is not None
            return record_of(AuditEntry, found)

    async def list(
        self,
        *,
        actor_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> AuditList:
        """Entries matching every given filter, newest first."""
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(positive_limit(limit))
        if actor_id is not None:
            query = query.where(AuditRow.actor_id == actor_id)
        if action is not None:
            query = query.where(AuditRow.action == action)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        async with self._db.read() as session:
            return [record_of(AuditEntry, row) for row in await session.scalars(query)]

    async def counts_since(self, since: datetime) -> tuple[int, int]:
        """``(allowed, refused)`` entries at or after ``since``, counted by the database."""
        query = (
            select(AuditRow.allowed, func.count())
            .where(AuditRow.at >= since)
            .group_by(AuditRow.allowed)
        )
        async with self._db.read() as session:
            found = {bool(allowed): int(n) for allowed, n in await session.execute(query)}
        return found.get(True, 0), found.get(False, 0)
