"""Engine, transactions and error translation shared by every repository.

Concurrency model:

* **PostgreSQL** runs at READ COMMITTED. A check-then-write (count a watchlist, then
  insert) is serialised with ``lock()``: a transaction-scoped advisory lock on a key
  derived from the logical resource, released at commit or rollback.
* **SQLite** allows one writer at a time. Write transactions start with
  ``BEGIN IMMEDIATE`` so they take the write lock *before* reading; without it, two
  transactions could both read and then fail upgrading to a write lock ("database is
  locked"). Reads use a plain ``BEGIN`` and, in WAL mode, never wait for writers.
  ``lock()`` is then a no-op: the write lock already serialises every writer.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import CursorResult, Result, event, exc, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ..fileperms import private_sqlite
from .errors import Conflict, InvalidValue, StoreError, StoreUnavailable
from .models import Base
from .url import SQLITE_DRIVER, normalize_url, parse_url

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Clock = Callable[[], datetime]
_Record = TypeVar("_Record", bound="DataclassInstance")

_WRITE_OPTION = "catalyst_write"
_SQLITE_BUSY_TIMEOUT_S = 10.0
_PG_CONNECT_TIMEOUT_S = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE (``session.execute`` types it as a plain Result)."""
    return cast(CursorResult[Any], result).rowcount


def record_of(kind: type[_Record], row: object, **converted: Any) -> _Record:
    """The plain record of an ORM row: each field of ``kind`` is the row's attribute of the
    same name, unless ``converted`` gives it (a renamed column, a value to convert)."""
    values = {
        f.name: converted[f.name] if f.name in converted else getattr(row, f.name)
        for f in dataclasses.fields(kind)
    }
    return kind(**values)


def positive_limit(limit: int) -> int:
    """``limit`` of a listing; :class:`InvalidValue` unless it is at least 1."""
    if limit < 1:
        raise InvalidValue("limit must be at least 1")
    return limit


def lock_key(namespace: str, key: str) -> int:
    """A stable signed 64-bit advisory-lock key (Python's ``hash`` is salted per process)."""
    digest = hashlib.blake2b(f"{namespace}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Database:
    """Owns the async engine and hands out read and write transactions.

    Inside :meth:`unit` (one interaction's effects), every ``read()`` and ``write()`` of the
    same task joins that one transaction; each ``write()`` is then a SAVEPOINT, so a failing
    step (a value refused) undoes only itself while the whole unit commits or rolls back at
    once.
    """

    def __init__(self, url: str, *, clock: Clock = utc_now) -> None:
        self.url = normalize_url(url)
        parsed = parse_url(self.url)
        self.backend = parsed.get_backend_name()
        self.clock = clock
        if parsed.drivername == SQLITE_DRIVER:
            assert parsed.database is not None
            # The file is made 0600 before SQLite opens it (its WAL/SHM inherit the mode).
            private_sqlite(Path(parsed.database))
            self.engine = create_async_engine(
                self.url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S}
            )
            _install_sqlite_hooks(self.engine)
        else:
            self.engine = create_async_engine(
                self.url,
                pool_pre_ping=True,
                connect_args={"connect_timeout": _PG_CONNECT_TIMEOUT_S},
            )
        # Shares the pool; only marks its transactions as writes (BEGIN IMMEDIATE on SQLite).
        self.write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._readers = async_sessionmaker(self.engine, expire_on_commit=False)
        # Per task (and per Database): the open unit of work, if any.
        self._unit: ContextVar[AsyncSession | None] = ContextVar(
            f"catalyst_unit_{id(self):x}", default=None
        )
        self._writers = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction; database errors leave as :class:`StoreError`."""
        unit = self._unit.get()
        if unit is not None:
            async with _translated():
                yield unit
            return
        async with _translated(), self._readers() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits on success and rolls back on any exception."""
        unit = self._unit.get()
        if unit is not None:
            async with _translated(), unit.begin_nested():
                yield unit
            return
        async with _translated(), self._writers() as session, session.begin():
            yield session

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncSession]:
        """One write transaction that every store call of this task joins until it ends."""
        if self._unit.get() is not None:
            raise RuntimeError("units of work do not nest")
        async with _translated(), self._writers() as session, session.begin():
            token = self._unit.set(session)
            try:
                yield session
            finally:
                self._unit.reset(token)

    async def lock(self, session: AsyncSession, namespace: str, key: str) -> None:
        """Serialise writers of one logical resource until the transaction ends."""
        if self.backend == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(namespace, key)}
            )

    def insert_ignoring_conflicts(self, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
        """``INSERT … ON CONFLICT DO NOTHING`` in this backend's dialect."""
        if self.backend == "postgresql":
            return postgresql.insert(model)
        return sqlite.insert(model)

    async def dispose(self) -> None:
        await self.engine.dispose()


class Repository:
    """One of the store's repositories (``store.watchlists``, ``store.alerts``, ...): its
    operations run in transactions of the store's one :class:`Database`."""

    def __init__(self, database: Database) -> None:
        self._db = database


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module so that we can choose IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    """Turn SQLAlchemy/driver exceptions into the store's tree at the boundary."""
    try:
        yield
    except StoreError:
        raise
    except exc.IntegrityError as error:
        raise Conflict(f"constraint violated ({_driver_error_name(error)})") from error
    except (exc.OperationalError, exc.InterfaceError, exc.TimeoutError) as error:
        raise StoreUnavailable(f"database unavailable ({_driver_error_name(error)})") from error
    except exc.StatementError as error:
        if isinstance(error.orig, ValueError):
            raise InvalidValue(str(error.orig)) from error
        raise StoreError(f"database operation failed ({_driver_error_name(error)})") from error
    except exc.SQLAlchemyError as error:
        raise StoreError(f"database operation failed ({type(error).__name__})") from error
    except OSError as error:
        raise StoreUnavailable(f"database unavailable ({type(error).__name__})") from error


def _driver_error_name(error: exc.SQLAlchemyError) -> str:
    # The driver's class name is informative; its message may hold SQL and parameters.
    orig = getattr(error, "orig", None)
    return type(orig if orig is not None else error).__name__
