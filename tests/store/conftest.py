"""One store suite, two backends: a temporary SQLite file and a PostgreSQL schema of our own.

PostgreSQL is shared with other engineers, so everything happens in schemas named after this
session (reached through ``search_path`` in the URL) and dropped when they are done with.

Speed: migrating costs ~150 ms per database, so the repository tests start from a database
migrated once per session — a copied SQLite file, or the session's PostgreSQL schema emptied
with TRUNCATE. The migration tests themselves get a truly empty database (``empty_url``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import LiteralString
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from store_support import FakeClock

from catalyst_interactions.store import Store, migrate
from catalyst_interactions.store.models import Base

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _pg_url(schema: str) -> str:
    return f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"


def _pg_execute(template: LiteralString, *names: str) -> None:
    """Run DDL whose {} placeholders are filled with quoted identifiers."""
    statement = sql.SQL(template).format(*(sql.Identifier(name) for name in names))
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture(scope="session")
def pg_session_prefix() -> Iterator[str]:
    prefix = f"store_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield prefix
    # Safety net: drop anything a failed fixture left behind under this session's prefix.
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (prefix + "%",)
        ).fetchall()
        for (name,) in rows:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store-template") / "catalyst.db"
    asyncio.run(migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_migrated_schema(pg_session_prefix: str) -> Iterator[str]:
    schema = f"{pg_session_prefix}_shared"
    _pg_execute("CREATE SCHEMA {}", schema)
    try:
        asyncio.run(migrate(_pg_url(schema)))
        yield schema
    finally:
        _pg_execute("DROP SCHEMA IF EXISTS {} CASCADE", schema)


@pytest.fixture(params=BACKENDS)
def empty_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_session_prefix: str
) -> Iterator[str]:
    """A URL to an empty, never migrated database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"{pg_session_prefix}_{uuid.uuid4().hex[:8]}"
    _pg_execute("CREATE SCHEMA {}", schema)
    try:
        yield _pg_url(schema)
    finally:
        _pg_execute("DROP SCHEMA IF EXISTS {} CASCADE", schema)


@pytest.fixture(params=BACKENDS)
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to a migrated database holding no rows."""
    if request.param == "sqlite":
        path = tmp_path / "catalyst.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    schema: str = request.getfixturevalue("pg_migrated_schema")
    tables = sql.SQL(", ").join(
        sql.Identifier(schema, table.name) for table in Base.metadata.sorted_tables
    )
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))
    return _pg_url(schema)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2024, 3, 4, 12, 0, tzinfo=UTC))


@pytest.fixture
async def store(migrated_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    store = Store(migrated_url, clock=clock)
    await store.migrate()  # what startup does; a no-op on an up-to-date database
    try:
        yield store
    finally:
        await store.close()
