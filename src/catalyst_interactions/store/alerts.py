"""The catalyst alerts the bot has posted: recent ones, per-ticker history and window stats."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from ._db import Repository, positive_limit, record_of
from .errors import DuplicateAlert, InvalidValue
from .models import AlertRow
from .records import Alert, AlertStats, NewAlert
from .tickers import normalize_ticker

AlertList = list[Alert]
_BATCH = 500  # rows per INSERT: well under SQLite's 32,766 bound parameters


def natural_key(ticker: str, posted_at: datetime, title: str) -> str:
    """The identity of an alert across imports: the same ticker, instant and headline.

    Computed on the normalised ticker and the UTC instant, so ``2024-01-02T15:00:00Z`` and
    ``2024-01-02T10:00:00-05:00`` are the same alert.
    """
    instant = posted_at.astimezone(UTC).isoformat()
    return hashlib.sha256(f"{ticker}\x1f{instant}\x1f{title.strip()}".encode()).hexdigest()


class Alerts(Repository):
    async def add(self, alert: NewAlert) -> Alert:
        """Store a posted alert; raises :class:`DuplicateAlert` if its natural key exists."""
        values = _row_values(alert)
        async with self._db.write() as session:
            new_id = await session.scalar(
                self._db.insert_ignoring_conflicts(AlertRow)
                .values(values)
                .on_conflict_do_nothing(index_elements=["natural_key"])
                .returning(AlertRow.id)
            )
            if new_id is None:
                raise DuplicateAlert(f"alert already stored: {values['ticker']}")
        return _alert_from_values(new_id, values)

    async def add_many(self, alerts: Sequence[NewAlert]) -> tuple[int, int]:
        """Store alerts, skipping natural-key duplicates; returns (added, skipped)."""
        rows = list({v["natural_key"]: v for v in map(_row_values, alerts)}.values())
        added = 0
        async with self._db.write() as session:
            for start in range(0, len(rows), _BATCH):
                statement = (
                    self._db.insert_ignoring_conflicts(AlertRow)
                    .values(rows[start : start + _BATCH])
                    .on_conflict_do_nothing(index_elements=["natural_key"])
                    .returning(AlertRow.id)
                )
                added += len((await session.scalars(statement)).all())
        return added, len(alerts) - added

    async def recent(self, ticker: str | None = None, limit: int = 10) -> AlertList:
        """The newest alerts, for one ticker or all, newest first."""
        query = select(AlertRow).order_by(AlertRow.posted_at.desc(), AlertRow.id.desc())
        if ticker is not None:
            query = query.where(AlertRow.ticker == normalize_ticker(ticker))
        async with self._db.read() as session:
            rows = await session.scalars(query.limit(positive_limit(limit)))
            return [record_of(Alert, row) for row in rows]

    async def for_ticker(self, ticker: str, since: datetime) -> AlertList:
        """Every alert of ``ticker`` posted at or after ``since``, newest first."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(AlertRow)
                .where(AlertRow.ticker == normalize_ticker(ticker), AlertRow.posted_at >= since)
                .order_by(AlertRow.posted_at.desc(), AlertRow.id.desc())
            )
            return [record_of(Alert, row) for row in rows]

    async def stats(self, since: datetime) -> AlertStats:
        """Alerts posted at or after ``since``: count, distinct tickers, mean score."""
        async with self._db.read() as session:
            row = (
                await session.execute(
                    select(
                        func.count(AlertRow.id),
                        func.count(AlertRow.ticker.distinct()),
                        func.avg(AlertRow.score),
                    ).where(AlertRow.posted_at >= since)
                )
            ).one()
        count, unique, average = row
        return AlertStats(
            count=int(count),
            unique_tickers=int(unique),
            average_score=None if average is None else float(average),
        )


def _row_values(alert: NewAlert) -> dict[str, Any]:
    ticker = normalize_ticker(alert.ticker)
    if alert.posted_at.tzinfo is None:
        raise InvalidValue("posted_at must be timezone-aware")
    title = alert.title.strip()
    if not title:
        raise InvalidValue("an alert needs a title")
    return {
        "ticker": ticker,
        "posted_at": alert.posted_at.astimezone(UTC),
        "price": alert.price,
        "score": alert.score,
        "sentiment": alert.sentiment,
        "title": title,
        "reason": alert.reason,
        "source": alert.source,
        "url": alert.url,
        "natural_key": natural_key(ticker, alert.posted_at, title),
    }


def _alert_from_values(alert_id: int, values: dict[str, Any]) -> Alert:
    fields = {k: v for k, v in values.items() if k != "natural_key"}
    return Alert(id=alert_id, **fields)
