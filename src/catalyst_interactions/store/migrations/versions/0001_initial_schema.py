"""Initial schema: watchlists, alerts, reports, parameters + history, audit, component state.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Migrations spell their types out instead of importing the models, which will change later.
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "watchlist_entries",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("ticker", sa.String(length=16), nullable=False),
        sa.Column("added_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "ticker", name=op.f("pk_watchlist_entries")),
    )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticker", sa.String(length=16), nullable=False),
        sa.Column("posted_at", UTC_DATETIME, nullable=False),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("natural_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("natural_key", name=op.f("uq_alerts_natural_key")),
    )
    op.create_index(op.f("ix_alerts_posted_at"), "alerts", ["posted_at"])
    op.create_index("ix_alerts_ticker_posted_at", "alerts", ["ticker", "posted_at"])

    op.create_table(
        "admin_reports",
        sa.Column("report_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_admin_reports")),
    )
    op.create_index(op.f("ix_admin_reports_status"), "admin_reports", ["status"])

    op.create_table(
        "parameters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_parameters")),
    )

    op.create_table(
        "parameter_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("parameter", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=False),
        sa.Column("new_value", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(length=32), nullable=False),
        sa.Column("changed_at", UTC_DATETIME, nullable=False),
        sa.Column("report_id", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rolled_back", sa.Boolean(), nullable=False),
        sa.Column("rollback_of", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parameter"],
            ["parameters.name"],
            name=op.f("fk_parameter_history_parameter_parameters"),
        ),
        sa.ForeignKeyConstraint(
            ["rollback_of"],
            ["parameter_history.id"],
            name=op.f("fk_parameter_history_rollback_of_parameter_history"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parameter_history")),
    )
    op.create_index("ix_parameter_history_parameter_id", "parameter_history", ["parameter", "id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_actor_id"), "audit_log", ["actor_id"])
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])

    op.create_table(
        "component_state",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_state")),
    )
    op.create_index(op.f("ix_component_state_expires_at"), "component_state", ["expires_at"])


def downgrade() -> None:
    op.drop_table("component_state")
    op.drop_table("audit_log")
    op.drop_table("parameter_history")
    op.drop_table("parameters")
    op.drop_table("admin_reports")
    op.drop_table("alerts")
    op.drop_table("watchlist_entries")
