"""Table definitions (SQLAlchemy 2 typed ORM); the scripts in ``migrations/`` build the same.

Conventions: Discord ids are strings (snowflakes arrive as JSON strings and exceed what a
JSON number holds exactly); every timestamp is timezone-aware UTC on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .records import ReportStatus

# Stable constraint names, so later migrations can address them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ReportStatusColumn(TypeDecorator[ReportStatus]):
    """A :class:`ReportStatus` stored as its value (``"partially_applied"``), so repository
    code compares and returns enum members, never the strings."""

    impl = String(20)
    cache_ok = True

    def process_bind_param(self, value: ReportStatus | None, dialect: Dialect) -> str | None:
        return None if value is None else ReportStatus(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> ReportStatus | None:
        return None if value is None else ReportStatus(value)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no zone support, so values are stored as
    UTC and given their zone back on load. Naive datetimes are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: the store only accepts timezone-aware values")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class WatchlistRow(Base):
    __tablename__ = "watchlist_entries"

    # The composite primary key is the "one row per user and ticker" constraint.
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ticker: Mapped[str] = mapped_column(String(16), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_ticker_posted_at", "ticker", "posted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticker: Mapped[str] = mapped_column(String(16))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    price: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[float | None] = mapped_column(Float)
    title: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    # sha256 of (ticker, posted_at, title): re-importing the same log adds nothing.
    natural_key: Mapped[str] = mapped_column(String(64), unique=True)


class ReportRow(Base):
    __tablename__ = "admin_reports"

    report_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[ReportStatus] = mapped_column(ReportStatusColumn(), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_id: Mapped[str | None] = mapped_column(String(32))


class ParameterRow(Base):
    __tablename__ = "parameters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    type: Mapped[str] = mapped_column(String(8))
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(32))


class ParameterChangeRow(Base):
    __tablename__ = "parameter_history"
    __table_args__ = (
        Index("ix_parameter_history_parameter_id", "parameter", "id"),
        Index(
            "uq_parameter_history_interaction_id_parameter",
            "interaction_id",
            "parameter",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    parameter: Mapped[str] = mapped_column(String(64), ForeignKey("parameters.name"))
    old_value: Mapped[Any] = mapped_column(JSON)
    new_value: Mapped[Any] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # No foreign key: a change may cite a report from the old bot that was never imported.
    report_id: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    rolled_back: Mapped[bool] = mapped_column(Boolean, default=False)
    rollback_of: Mapped[int | None] = mapped_column(Integer, ForeignKey("parameter_history.id"))
    # The interaction that made the change: one change per parameter per interaction.
    interaction_id: Mapped[str | None] = mapped_column(String(32))


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("uq_audit_log_interaction_id_action", "interaction_id", "action", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[str] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    allowed: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    # One entry per action per interaction, however often the interaction is delivered.
    interaction_id: Mapped[str | None] = mapped_column(String(32))


class InteractionEffectRow(Base):
    """An interaction whose state changes were committed, with the answer it produced: the
    idempotency key of every state change, written in the same transaction as the change."""

    __tablename__ = "interaction_effects"

    interaction_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    handler: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ComponentStateRow(Base):
    __tablename__ = "component_state"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
