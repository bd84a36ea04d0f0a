"""The store's exception tree: every failure a caller can see is a :class:`StoreError`.

Database driver and SQLAlchemy exceptions are translated at the repository boundary
(see ``_db.Database``); callers never need to import SQLAlchemy to handle errors.
Messages are safe to show to an operator: they never hold a password or a full URL.
"""

from __future__ import annotations

from ..tickers import TickerError


class StoreError(Exception):
    """Base class of every error raised by the store."""


class StoreUnavailable(StoreError):
    """The database could not be reached or refused the operation (connection, lock timeout)."""


class ConfigurationError(StoreError):
    """The database URL is malformed or names an unsupported backend."""


class MigrationError(StoreError):
    """Bringing the schema to the head revision failed."""


class InvalidValue(StoreError, ValueError):
    """An argument was rejected before reaching the database."""


class InvalidTicker(InvalidValue, TickerError):
    """A ticker symbol is not one :func:`catalyst_interactions.tickers.parse` accepts; also a
    :class:`TickerError`, so code that parses with either layer catches one type."""


class InvalidParameterValue(InvalidValue):
    """A parameter value has the wrong type or lies outside the parameter's bounds."""


class NotFound(StoreError, LookupError):
    """The addressed row does not exist."""


class NotWatching(NotFound):
    """The user's watchlist does not hold the ticker."""


class UnknownParameter(NotFound):
    """No parameter of that name has been defined."""


class ChangeNotFound(NotFound):
    """No parameter history entry has that id."""


class ReportNotFound(NotFound):
    """No admin report has that id."""


class Conflict(StoreError):
    """The operation contradicts the current state of the data."""


class AlreadyWatching(Conflict):
    """The user's watchlist already holds the ticker."""


class WatchlistFull(Conflict):
    """The user's watchlist already holds ``max_size`` tickers."""

    def __init__(self, max_size: int) -> None:
        super().__init__(f"watchlist is full ({max_size} tickers)")
        self.max_size = max_size


class DuplicateAlert(Conflict):
    """An alert with the same natural key (ticker, time, title) is already stored."""


class DuplicateReport(Conflict):
    """An admin report with that id already exists."""


class ReportAlreadyDecided(Conflict):
    """The report is no longer pending; a decision is final."""


class AlreadyRolledBack(Conflict):
    """The parameter change was already rolled back."""


class ChangeSuperseded(Conflict):
    """A later change of the same parameter exists; roll that one back first."""


class ImportFailed(StoreError):
    """An import source could not be read at all (missing file, not a directory)."""
