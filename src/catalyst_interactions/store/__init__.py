"""Database access for Catalyst: watchlists, alerts, parameters and their history, admin
reports, the audit log and component state; SQLite by default, PostgreSQL by URL.

Build a :class:`Store` from a URL, ``await store.migrate()`` at startup, then use its
repositories (``store.watchlists``, ``store.alerts``, …). Every failure is a
:class:`StoreError`; see :mod:`catalyst_interactions.store.errors` for the tree.
"""

from __future__ import annotations

from .errors import (
    AlreadyRolledBack,
    AlreadyWatching,
    ChangeNotFound,
    ChangeSuperseded,
    ConfigurationError,
    Conflict,
    DuplicateAlert,
    DuplicateReport,
    InvalidParameterValue,
    InvalidTicker,
    InvalidValue,
    MigrationError,
    NotFound,
    NotWatching,
    ReportAlreadyDecided,
    ReportNotFound,
    StoreError,
    StoreUnavailable,
    UnknownParameter,
    WatchlistFull,
)
from .migrate import head_revision, migrate
from .records import (
    Alert,
    AlertStats,
    AuditEntry,
    JSONObject,
    JSONValue,
    NewAlert,
    Parameter,
    ParameterChange,
    ParameterType,
    ParameterValue,
    Report,
    ReportStatus,
    WatchlistEntry,
)
from .store import Store
from .tickers import normalize_ticker
from .url import database_url, default_database_url, normalize_url, redacted

__all__ = [
    "Alert",
    "AlertStats",
    "AlreadyRolledBack",
    "AlreadyWatching",
    "AuditEntry",
    "ChangeNotFound",
    "ChangeSuperseded",
    "ConfigurationError",
    "Conflict",
    "DuplicateAlert",
    "DuplicateReport",
    "InvalidParameterValue",
    "InvalidTicker",
    "InvalidValue",
    "JSONObject",
    "JSONValue",
    "MigrationError",
    "NewAlert",
    "NotFound",
    "NotWatching",
    "Parameter",
    "ParameterChange",
    "ParameterType",
    "ParameterValue",
    "Report",
    "ReportAlreadyDecided",
    "ReportNotFound",
    "ReportStatus",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UnknownParameter",
    "WatchlistEntry",
    "WatchlistFull",
    "database_url",
    "default_database_url",
    "head_revision",
    "migrate",
    "normalize_ticker",
    "normalize_url",
    "redacted",
]
