"""Alembic environment: runs only on a connection handed in by ``store.migrate``.

The store configures Alembic in code (no alembic.ini); the caller owns the connection and
its transaction, so a migration and its lock commit or roll back together.
"""

from __future__ import annotations

from alembic import context

from catalyst_interactions.store.models import Base


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with catalyst_interactions.store.migrate(url)")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
