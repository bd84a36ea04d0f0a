from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from catalyst_interactions.store import Store, head_revision, migrate, normalize_url
from catalyst_interactions.store.models import Base


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_empty_database_migrates_to_the_models_schema(empty_url: str) -> None:
    await migrate(empty_url)
    await migrate(empty_url)  # a second run is a no-op

    engine = create_async_engine(normalize_url(empty_url))
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            assert version == [(head_revision(),)]
            # The comparison can see a difference: drop an index and it must report one.
            await conn.execute(text("DROP INDEX ix_audit_log_at"))
            diff = await conn.run_sync(_diff)
            assert [entry[0] for entry in diff] == ["add_index"]
            await conn.rollback()
    finally:
        await engine.dispose()


async def test_store_migrate_then_ping(empty_url: str) -> None:
    store = Store(empty_url)
    try:
        await store.migrate()
        assert await store.ping()
    finally:
        await store.close()
