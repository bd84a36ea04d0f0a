"""Admin tuning reports and their one-time decision (approve / reject / partially apply)."""

from __future__ import annotations

from sqlalchemy import func, select, update

from ._db import Repository, positive_limit, record_of, rowcount
from .errors import DuplicateReport, InvalidValue, ReportAlreadyDecided, ReportNotFound
from .models import ReportRow
from .records import JSONObject, Report, ReportStatus

ReportList = list[Report]
MAX_REPORT_ID_LENGTH = 100


class Reports(Repository):
    async def create(
        self,
        report_id: str,
        payload: JSONObject,
        *,
        channel_id: str | None = None,
        message_id: str | None = None,
    ) -> Report:
        """Store a pending report; raises :class:`DuplicateReport` if the id exists."""
        if not report_id or len(report_id) > MAX_REPORT_ID_LENGTH:
            raise InvalidValue(f"report id must be 1-{MAX_REPORT_ID_LENGTH} characters")
        report = Report(
            report_id=report_id,
            created_at=self._db.clock(),
            payload=payload,
            status=ReportStatus.PENDING,
            decided_by=None,
            decided_at=None,
            channel_id=channel_id,
            message_id=message_id,
        )
        async with self._db.write() as session:
            inserted = await session.scalar(
                self._db.insert_ignoring_conflicts(ReportRow)
                .values(
                    report_id=report_id,
                    created_at=report.created_at,
                    payload=payload,
                    status=report.status,
                    channel_id=channel_id,
                    message_id=message_id,
                )
                .on_conflict_do_nothing(index_elements=["report_id"])
                .returning(ReportRow.report_id)
            )
            if inserted is None:
                raise DuplicateReport(f"report {report_id!r} already exists")
        return report

    async def get(self, report_id: str) -> Report:
        """Raises :class:`ReportNotFound`."""
        async with self._db.read() as session:
            row = await session.get(ReportRow, report_id)
            if row is None:
                raise _not_found(report_id)
            return record_of(Report, row)

    async def list(self, status: ReportStatus | None = None, limit: int = 25) -> ReportList:
        """Reports, newest first, optionally only those with ``status``."""
        query = select(ReportRow).order_by(ReportRow.created_at.desc()).limit(positive_limit(limit))
        if status is not None:
            query = query.where(ReportRow.status == status)
        async with self._db.read() as session:
            return [record_of(Report, row) for row in await session.scalars(query)]

    async def counts(self) -> dict[ReportStatus, int]:
        """How many reports have each status (every status present, counted by the database)."""
        query = select(ReportRow.status, func.count()).group_by(ReportRow.status)
        async with self._db.read() as session:
            found = {ReportStatus(status): int(n) for status, n in await session.execute(query)}
        return {status: found.get(status, 0) for status in ReportStatus}

    async def decide(self, report_id: str, status: ReportStatus, actor: str) -> Report:
        """Record the decision on a pending report; the first decision wins.

        Raises :class:`ReportNotFound`, :class:`ReportAlreadyDecided`, or
        :class:`InvalidValue` when ``status`` is ``PENDING``. The check and the update are one
        conditional UPDATE, so two admins pressing buttons at once cannot both decide.
        """
        if status is ReportStatus.PENDING:
            raise InvalidValue("a decision must approve, reject or partially apply")
        async with self._db.write() as session:
            result = await session.execute(
                update(ReportRow)
                .where(
                    ReportRow.report_id == report_id,
                    ReportRow.status == ReportStatus.PENDING,
                )
                .values(status=status, decided_by=actor, decided_at=self._db.clock())
            )
            row = await session.get(ReportRow, report_id, populate_existing=True)
            if row is None:
                raise _not_found(report_id)
            if rowcount(result) == 0:
                raise ReportAlreadyDecided(f"report {report_id!r} was already {row.status.label}")
            return record_of(Report, row)

    async def mark_partially_applied(self, report_id: str) -> Report:
        """An approved report some of whose values failed when applied: say so. Only
        ``approved`` becomes ``partially_applied``; any other status is left as it is."""
        async with self._db.write() as session:
            await session.execute(
                update(ReportRow)
                .where(
                    ReportRow.report_id == report_id,
                    ReportRow.status == ReportStatus.APPROVED,
                )
                .values(status=ReportStatus.PARTIALLY_APPLIED)
            )
            row = await session.get(ReportRow, report_id, populate_existing=True)
            if row is None:
                raise _not_found(report_id)
            return record_of(Report, row)

    async def attach_message(self, report_id: str, channel_id: str, message_id: str) -> None:
        """Remember where the report was posted (set after the Discord message exists)."""
        async with self._db.write() as session:
            result = await session.execute(
                update(ReportRow)
                .where(ReportRow.report_id == report_id)
                .values(channel_id=channel_id, message_id=message_id)
            )
            if rowcount(result) == 0:
                raise _not_found(report_id)


def _not_found(report_id: str) -> ReportNotFound:
    # The id comes from a member's button or command: never echo more than an id's length.
    return ReportNotFound(f"no report {report_id[:MAX_REPORT_ID_LENGTH]!r}")
