"""Tunable bot parameters with validated values, a full change history and rollback.

Rollback rule: only the **latest** change of a parameter can be rolled back, and only once.
Rolling back change *C* sets the value back to ``C.old_value``, marks *C* ``rolled_back``
and records a new history entry (``rollback_of = C.id``). A change that is not the
parameter's latest (a later ``set`` or rollback exists) raises :class:`ChangeSuperseded`:
undoing it would silently discard the later change. Rollbacks are changes too, so the
latest rollback can itself be rolled back (that re-applies the value it removed).
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ._db import Repository, positive_limit, record_of
from .errors import (
    AlreadyRolledBack,
    ChangeNotFound,
    ChangeSuperseded,
    InvalidParameterValue,
    InvalidValue,
    UnknownParameter,
)
from .models import ParameterChangeRow, ParameterRow
from .records import Parameter, ParameterChange, ParameterType, ParameterValue

ParameterList = list[Parameter]
ChangeList = list[ParameterChange]
MAX_NAME_LENGTH = 64


class Parameters(Repository):
    async def define(
        self,
        name: str,
        type: ParameterType,
        default: ParameterValue,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        actor: str = "system",
    ) -> Parameter:
        """Create the parameter with ``default`` unless it exists; returns the stored one.

        Existing parameters keep their value, type and bounds: defining is seeding, not
        setting, so a restart never undoes an approved change.
        """
        if not name or len(name) > MAX_NAME_LENGTH:
            raise InvalidValue(f"parameter name must be 1-{MAX_NAME_LENGTH} characters")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise InvalidValue("minimum is greater than maximum")
        if (minimum is not None or maximum is not None) and type not in _NUMERIC:
            raise InvalidValue("bounds apply to int and float parameters only")
        value = _validated(name, type, default, minimum, maximum)
        async with self._db.write() as session:
            await session.execute(
                self._db.insert_ignoring_conflicts(ParameterRow)
                .values(
                    name=name,
                    value=value,
                    type=type.value,
                    min_value=minimum,
                    max_value=maximum,
                    updated_at=self._db.clock(),
                    updated_by=actor,
                )
                .on_conflict_do_nothing(index_elements=["name"])
            )
            row = await session.get(ParameterRow, name)
            assert row is not None
            return _parameter(row)

    async def get(self, name: str) -> Parameter:
        """Raises :class:`UnknownParameter` if ``name`` was never defined."""
        async with self._db.read() as session:
            row = await session.get(ParameterRow, name)
            if row is None:
                raise UnknownParameter(f"unknown parameter {name[:MAX_NAME_LENGTH]!r}")
            return _parameter(row)

    async def all(self) -> ParameterList:
        """Every parameter, by name."""
        async with self._db.read() as session:
            rows = await session.scalars(select(ParameterRow).order_by(ParameterRow.name))
            return [_parameter(row) for row in rows]

    async def set(
        self,
        name: str,
        value: ParameterValue,
        actor: str,
        *,
        report_id: str | None = None,
        reason: str | None = None,
        interaction_id: str | None = None,
    ) -> ParameterChange:
        """Validate and store ``value``, recording the change; returns the history entry.

        ``interaction_id`` (the interaction that asked for it) is kept with the change; one
        interaction changes a parameter at most once.

        Raises :class:`UnknownParameter` or :class:`InvalidParameterValue`.
        """
        async with self._db.write() as session:
            row = await _locked(session, name)
            new_value = _validated(
                name, ParameterType(row.type), value, row.min_value, row.max_value
            )
            return await self._apply(
                session, row, new_value, actor, report_id, reason, None, interaction_id
            )

    async def history(self, name: str | None = None, limit: int = 50) -> ChangeList:
        """Changes of one parameter (or all), newest first."""
        query = (
            select(ParameterChangeRow, ParameterRow.type)
            .join(ParameterRow, ParameterRow.name == ParameterChangeRow.parameter)
            .order_by(ParameterChangeRow.id.desc())
            .limit(positive_limit(limit))
        )
        if name is not None:
            query = query.where(ParameterChangeRow.parameter == name)
        async with self._db.read() as session:
            rows = await session.execute(query)
            return [_change(row, ParameterType(kind)) for row, kind in rows]

    async def changes_since(self, since: datetime) -> int:
        """How many changes (rollbacks included) were made at or after ``since``."""
        query = select(func.count()).select_from(ParameterChangeRow)
        async with self._db.read() as session:
            return int(
                await session.scalar(query.where(ParameterChangeRow.changed_at >= since)) or 0
            )

    async def rollback(
        self,
        change_id: int,
        actor: str,
        *,
        reason: str | None = None,
        interaction_id: str | None = None,
    ) -> ParameterChange:
        """Undo ``change_id`` (see the module docstring); returns the new history entry.

        Raises :class:`ChangeNotFound`, :class:`AlreadyRolledBack` or :class:`ChangeSuperseded`.
        """
        async with self._db.write() as session:
            name = await session.scalar(
                select(ParameterChangeRow.parameter).where(ParameterChangeRow.id == change_id)
            )
            if name is None:
                raise ChangeNotFound(f"no parameter change #{change_id}")
            # Lock first, then read the change: a concurrent rollback may just have committed.
            row = await _locked(session, name)
            target = await session.get(ParameterChangeRow, change_id, populate_existing=True)
            assert target is not None
            if target.rolled_back:
                raise AlreadyRolledBack(f"change #{change_id} was already rolled back")
            latest = await session.scalar(
                select(ParameterChangeRow.id)
                .where(ParameterChangeRow.parameter == target.parameter)
                .order_by(ParameterChangeRow.id.desc())
                .limit(1)
            )
            if latest != change_id:
                raise ChangeSuperseded(
                    f"change #{change_id} was superseded by #{latest}; roll that back first"
                )
            await session.execute(
                update(ParameterChangeRow)
                .where(ParameterChangeRow.id == change_id)
                .values(rolled_back=True)
            )
            return await self._apply(
                session,
                row,
                target.old_value,
                actor,
                None,
                reason or f"rollback of change #{change_id}",
                change_id,
                interaction_id,
            )

    async def _apply(
        self,
        session: AsyncSession,
        row: ParameterRow,
        new_value: ParameterValue,
        actor: str,
        report_id: str | None,
        reason: str | None,
        rollback_of: int | None,
        interaction_id: str | None = None,
    ) -> ParameterChange:
        now = self._db.clock()
        change = ParameterChangeRow(
            parameter=row.name,
            old_value=row.value,
            new_value=new_value,
            changed_by=actor,
            changed_at=now,
            report_id=report_id,
            reason=reason,
            rolled_back=False,
            rollback_of=rollback_of,
            interaction_id=interaction_id,
        )
        row.value, row.updated_at, row.updated_by = new_value, now, actor
        session.add(change)
        await session.flush()
        return _change(change, ParameterType(row.type))


_NUMERIC = (ParameterType.INT, ParameterType.FLOAT)


async def _locked(session: AsyncSession, name: str) -> ParameterRow:
    """The parameter's row, locked until commit (FOR UPDATE; SQLite's write lock suffices)."""
    row = await session.scalar(
        select(ParameterRow).where(ParameterRow.name == name).with_for_update()
    )
    if row is None:
        raise UnknownParameter(f"unknown parameter {name[:MAX_NAME_LENGTH]!r}")
    return row


def _validated(
    name: str,
    type: ParameterType,
    value: object,
    minimum: float | None,
    maximum: float | None,
) -> ParameterValue:
    """``value`` as the parameter's type, or :class:`InvalidParameterValue`.

    ``bool`` is refused where a number is expected (``True`` is an ``int`` in Python), and an
    int is accepted for a float parameter and stored as a float.
    """
    checked: ParameterValue
    if (
        (type is ParameterType.BOOL and isinstance(value, bool))
        or (type is ParameterType.STR and isinstance(value, str))
        or (type is ParameterType.INT and isinstance(value, int) and not isinstance(value, bool))
    ):
        checked = value
    elif (
        type is ParameterType.FLOAT
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    ):
        checked = float(value)
    else:
        raise InvalidParameterValue(f"{name} needs a {type.value}, got {value!r:.40}")
    if isinstance(checked, int | float) and not isinstance(checked, bool):
        if minimum is not None and checked < minimum:
            raise InvalidParameterValue(f"{name} must be at least {minimum:g}")
        if maximum is not None and checked > maximum:
            raise InvalidParameterValue(f"{name} must be at most {maximum:g}")
    return checked


def _loaded(kind: ParameterType, value: ParameterValue) -> ParameterValue:
    """Undo SQLite's numeric affinity, which stores the JSON text ``1.0`` as the integer 1."""
    if kind is ParameterType.FLOAT and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _parameter(row: ParameterRow) -> Parameter:
    kind = ParameterType(row.type)
    return record_of(
        Parameter,
        row,
        value=_loaded(kind, row.value),
        type=kind,
        minimum=row.min_value,
        maximum=row.max_value,
    )


def _change(row: ParameterChangeRow, kind: ParameterType) -> ParameterChange:
    return record_of(
        ParameterChange,
        row,
        old_value=_loaded(kind, row.old_value),
        new_value=_loaded(kind, row.new_value),
    )
