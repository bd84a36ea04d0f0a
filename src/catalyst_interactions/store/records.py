"""Plain, immutable values the repositories return.

Repositories never hand out ORM objects: a record is detached from any session, so it can
cross task boundaries and be logged or rendered without touching the database again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
JSONObject: TypeAlias = dict[str, JSONValue]
ParameterValue: TypeAlias = bool | int | float | str


class ReportStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PARTIALLY_APPLIED = "partially_applied"

    @property
    def label(self) -> str:
        """The status as a sentence says it: ``"partially applied"``."""
        return self.value.replace("_", " ")


class ParameterType(enum.StrEnum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STR = "str"


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    user_id: str
    ticker: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert to store; ``posted_at`` must be timezone-aware."""

    ticker: str
    posted_at: datetime
    title: str
    price: float | None = None
    score: float | None = None
    sentiment: float | None = None
    reason: str | None = None
    source: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    ticker: str
    posted_at: datetime
    title: str
    price: float | None
    score: float | None
    sentiment: float | None
    reason: str | None
    source: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class AlertStats:
    count: int
    unique_tickers: int
    average_score: float | None  # None when no alert in the window has a score


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    value: ParameterValue
    type: ParameterType
    minimum: float | None
    maximum: float | None
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class ParameterChange:
    """One entry of a parameter's history; ``rollback_of`` names the change it reverted."""

    id: int
    parameter: str
    old_value: ParameterValue
    new_value: ParameterValue
    changed_by: str
    changed_at: datetime
    report_id: str | None
    reason: str | None
    rolled_back: bool
    rollback_of: int | None


@dataclass(frozen=True, slots=True)
class Report:
    report_id: str
    created_at: datetime
    payload: JSONObject
    status: ReportStatus
    decided_by: str | None
    decided_at: datetime | None
    channel_id: str | None
    message_id: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: str
    action: str
    target: str | None
    allowed: bool
    detail: JSONObject = field(default_factory=dict)
