"""Schema migrations with Alembic, configured in code: no alembic.ini is needed at run time.

The revision scripts ship inside the package (``store/migrations/versions``). New revisions
are written by hand or generated with :func:`alembic_config` and ``alembic.command.revision``.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ._db import Database, lock_key
from .errors import MigrationError, StoreError, StoreUnavailable

SCRIPT_LOCATION = "catalyst_interactions.store:migrations"

# Two processes starting at once must not both run the same migration on PostgreSQL.
_MIGRATION_LOCK = lock_key("catalyst", "migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configured for the packaged scripts, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError("no migration scripts found")
    return head


async def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: the newest). Idempotent."""
    database = Database(url)
    try:
        await upgrade(database.write_engine, revision)
    finally:
        await database.dispose()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Run the upgrade in one transaction on ``engine`` (all or nothing on both backends)."""
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, revision)
    except StoreError:
        raise
    except (exc.OperationalError, exc.InterfaceError) as error:
        raise StoreUnavailable(f"database unavailable ({type(error.orig).__name__})") from error
    except CommandError as error:
        raise MigrationError(f"migration failed: {error}") from error
    except Exception as error:
        # Alembic and the drivers raise many types here; the caller needs one.
        raise MigrationError(f"migration failed ({type(error).__name__})") from error


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    command.upgrade(alembic_config(connection), revision)
