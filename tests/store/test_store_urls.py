"""URL handling and failure translation: no database needed, or one that is unreachable."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from catalyst_interactions.store import (
    ConfigurationError,
    Store,
    StoreUnavailable,
    database_url,
    migrate,
    normalize_url,
    redacted,
)

# Port 1 on loopback: nothing listens there, so connecting fails at once.
UNREACHABLE = "postgresql://postgres:hunter2@127.0.0.1:1/test"


def test_default_url_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    expected = f"sqlite+aiosqlite:///{tmp_path.resolve()}/catalyst.db"
    assert database_url(None, tmp_path) == expected
    assert database_url("  ", tmp_path) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/catalyst", "postgresql+psycopg://u:p@db:5432/catalyst"),
        ("postgres://u@db/catalyst", "postgresql+psycopg://u@db/catalyst"),
        ("postgresql+psycopg://u@db/c", "postgresql+psycopg://u@db/c"),
        (
            "sqlite:////var/lib/catalyst/catalyst.db",
            "sqlite+aiosqlite:////var/lib/catalyst/catalyst.db",
        ),
        ("sqlite:///relative.db", "sqlite+aiosqlite:///relative.db"),
    ],
)
def test_urls_are_normalised_to_async_drivers(given: str, expected: str) -> None:
    assert database_url(given, Path("unused")) == expected


@pytest.mark.parametrize(
    "bad",
    ["mysql://root:hunter2@db/catalyst", "sqlite://", "sqlite:///:memory:", "not a url"],
)
def test_unsupported_urls_are_refused_without_echoing_secrets(bad: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        normalize_url(bad)
    assert "hunter2" not in str(caught.value)


def test_redacted_hides_the_password() -> None:
    assert "hunter2" not in redacted(UNREACHABLE)
    assert "127.0.0.1:1" in redacted(UNREACHABLE)


async def test_unreachable_database_is_a_store_error_not_a_sqlalchemy_one() -> None:
    store = Store(UNREACHABLE)
    try:
        assert await store.ping(timeout=5) is False
        with pytest.raises(StoreUnavailable) as caught:
            await store.watchlists.list("1")
        assert not isinstance(caught.value, SQLAlchemyError)
        assert "hunter2" not in str(caught.value)
    finally:
        await store.close()
    with pytest.raises(StoreUnavailable):
        await migrate(UNREACHABLE)
