"""One store suite, two backends: a temporary SQLite file and a throwaway PostgreSQL schema.

PostgreSQL is shared with other engineers: every test gets its own schema (named after this
session), reached through ``search_path`` in the URL, and dropped when the test ends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from catalyst_interactions.store import Store

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
SAMPLES = Path(__file__).parent / "samples"


class FakeClock:
    """A settable UTC clock, injected into the store."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def pg_session_prefix() -> Iterator[str]:
    prefix = f"store_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield prefix
    # Safety net: drop anything a crashed test left behind under this session's prefix.
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (prefix + "%",)
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_session_prefix: str
) -> Iterator[str]:
    """A URL to an empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalyst.db'}"
        return
    schema = f"{pg_session_prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2024, 3, 4, 12, 0, tzinfo=UTC))


@pytest.fixture
async def store(database_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    store = Store(database_url, clock=clock)
    await store.migrate()
    try:
        yield store
    finally:
        await store.close()
