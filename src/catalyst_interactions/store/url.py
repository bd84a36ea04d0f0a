"""Database URLs: the default location and normalisation to the async drivers the store uses."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigurationError

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+psycopg"

_ALIASES = {
    "sqlite": SQLITE_DRIVER,
    "sqlite+aiosqlite": SQLITE_DRIVER,
    "postgres": POSTGRES_DRIVER,
    "postgresql": POSTGRES_DRIVER,
    "postgresql+psycopg": POSTGRES_DRIVER,
    "postgresql+psycopg_async": POSTGRES_DRIVER,
}


def default_database_url(data_dir: Path) -> str:
    """The embedded default: ``catalyst.db`` in the data directory."""
    return f"{SQLITE_DRIVER}:///{(data_dir / 'catalyst.db').resolve()}"


def database_url(configured: str | None, data_dir: Path) -> str:
    """``CATALYST_DATABASE_URL`` if set (normalised), else the default SQLite file."""
    if configured is None or not configured.strip():
        return default_database_url(data_dir)
    return normalize_url(configured.strip())


def normalize_url(raw: str) -> str:
    """Map ``sqlite:///…`` and ``postgresql://…`` to the async drivers; refuse anything else.

    Raises :class:`ConfigurationError` (without echoing a password) for unparsable URLs,
    other backends and in-memory SQLite (each pooled connection would see its own database).
    """
    url = parse_url(raw)
    driver = _ALIASES.get(url.drivername)
    if driver is None:
        raise ConfigurationError(
            f"unsupported database URL scheme {url.drivername!r}: use sqlite:/// or postgresql://"
        )
    url = url.set(drivername=driver)
    if driver == SQLITE_DRIVER and (not url.database or url.database == ":memory:"):
        raise ConfigurationError("in-memory SQLite is not supported: give a file path")
    return url.render_as_string(hide_password=False)


def parse_url(raw: str) -> URL:
    try:
        return make_url(raw)
    except (ArgumentError, ValueError):
        raise ConfigurationError("malformed database URL") from None


def redacted(raw: str) -> str:
    """The URL with its password masked, for logs and error messages."""
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<malformed URL>"
