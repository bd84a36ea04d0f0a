"""Exactly-once effects: the interaction id as the idempotency key of every state change.

``interaction_effects`` holds each interaction whose changes were committed (and the answer
it gave); parameter history and audit rows carry the interaction id, unique per parameter
and per action.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "interaction_effects",
        sa.Column("interaction_id", sa.String(length=32), nullable=False),
        sa.Column("handler", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("interaction_id", name=op.f("pk_interaction_effects")),
    )
    op.create_index(
        op.f("ix_interaction_effects_created_at"), "interaction_effects", ["created_at"]
    )
    # Plain ADD COLUMN (nullable, no constraint) works on SQLite without a table rebuild.
    op.add_column(
        "parameter_history", sa.Column("interaction_id", sa.String(length=32), nullable=True)
    )
    op.create_index(
        "uq_parameter_history_interaction_id_parameter",
        "parameter_history",
        ["interaction_id", "parameter"],
        unique=True,
    )
    op.add_column("audit_log", sa.Column("interaction_id", sa.String(length=32), nullable=True))
    op.create_index(
        "uq_audit_log_interaction_id_action",
        "audit_log",
        ["interaction_id", "action"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_audit_log_interaction_id_action", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("interaction_id")
    op.drop_index("uq_parameter_history_interaction_id_parameter", table_name="parameter_history")
    with op.batch_alter_table("parameter_history") as batch:
        batch.drop_column("interaction_id")
    op.drop_index(op.f("ix_interaction_effects_created_at"), table_name="interaction_effects")
    op.drop_table("interaction_effects")
