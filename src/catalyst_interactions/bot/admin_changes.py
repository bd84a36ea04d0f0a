"""What the admin tools do to the store: parameter values checked, report decisions applied.

An admin types a value (``/admin set``, the Custom form) or a report proposes one; either
way :func:`coerce` turns it into the parameter's type and range, or a :class:`BadValue` the
admin is shown. Deciding a report (:func:`apply_report`) takes the decision first, so a
second admin's click finds it taken, then applies the values and audits what happened; the
handler calling it is ``exactly_once``, so all of it commits together, once.

The handlers that call these live in ``bot/admin.py``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..discord.limits import EMBED_FIELD_VALUE_MAX
from ..discord.messages import Message, quoted, truncate
from ..framework.context import Context
from ..framework.errors import UserFacingError
from ._shared import lines_within
from .admin_report import ReportFormatError, TuningReport, parse_report, report_message, show
from .resources import Resources

if TYPE_CHECKING:
    from ..store import Parameter, ParameterChange, Report, ReportStatus, Store
    from ..store.records import JSONObject, JSONValue
    from .admin_report import ProposedChange, Value

_INT = re.compile(r"[+-]?\d{1,18}")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


class BadValue(UserFacingError):
    """A submitted parameter value has the wrong type or lies out of range."""


def coerce(param: Parameter, raw: object) -> bool | int | float | str:
    """``raw`` (typed text, or a value from a report file) as the parameter's type, in range."""
    kind = param.type.value
    name = f"`{param.name}`"
    shown = truncate(show(raw), 40)
    value: bool | int | float | str
    if kind == "str":
        if not isinstance(raw, str):
            raise BadValue(f"{name} needs text, got `{shown}`")
        value = raw
    elif kind == "bool":
        if isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            value = raw.strip().lower() in _TRUE
        else:
            raise BadValue(f"{name} needs true or false, got `{shown}`")
    elif kind == "int":
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and _INT.fullmatch(raw.strip()):
            value = int(raw.strip())
        else:
            raise BadValue(f"{name} needs a whole number, got `{shown}`")
    else:
        try:
            number = float(raw.strip()) if isinstance(raw, str) else None
        except ValueError:
            number = None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            number = float(raw)
        if number is None or not math.isfinite(number):
            raise BadValue(f"{name} needs a number, got `{shown}`")
        value = number
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = param.minimum, param.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            span = (
                f"between {low:g} and {high:g}"
                if low is not None and high is not None
                else f"at least {low:g}"
                if low is not None
                else f"at most {high:g}"
            )
            raise BadValue(f"{name} must be {span}; got `{shown}`")
    return value


@dataclass(slots=True)
class _Applied:
    changes: list[ParameterChange]
    failed: list[str]


async def load_report(store: Store, report_id: str) -> tuple[Report, TuningReport]:
    from ..store import ReportNotFound

    try:
        stored = await store.reports.get(report_id)
    except ReportNotFound:
        raise UserFacingError(
            f"Report `{truncate(report_id, 64)}` is not in the database. "
            "Post it with `catalyst-interactions admin post-report`."
        ) from None
    try:
        return stored, parse_report(stored.payload)
    except ReportFormatError as exc:
        raise UserFacingError(f"Report `{quoted(report_id)}` is malformed: {exc}") from None


def refuse_decided(stored: Report) -> None:
    from ..store import ReportStatus

    if stored.status is not ReportStatus.PENDING:
        by = f" by <@{stored.decided_by}>" if stored.decided_by else ""
        raise UserFacingError(f"Report `{stored.report_id}` was already {stored.status.label}{by}.")


async def values_for(
    store: Store, changes: list[tuple[ProposedChange, object]]
) -> tuple[list[tuple[str, bool | int | float | str]], list[str]]:
    """Each change's value checked against its stored parameter: (valid, problems)."""
    from ..store import UnknownParameter

    valid: list[tuple[str, bool | int | float | str]] = []
    problems: list[str] = []
    for change, raw in changes:
        try:
            param = await store.parameters.get(change.parameter)
            valid.append((change.parameter, coerce(param, raw)))
        except UnknownParameter:
            problems.append(f"`{change.parameter}` is not a defined parameter")
        except BadValue as exc:
            problems.append(exc.message)
    return valid, problems


async def _apply(
    store: Store,
    actor: str,
    report_id: str,
    values: list[tuple[str, bool | int | float | str]],
    reason: str,
    interaction_id: str,
) -> _Applied:
    from ..store import InvalidParameterValue, UnknownParameter

    applied = _Applied([], [])
    for name, value in values:
        try:
            applied.changes.append(
                await store.parameters.set(
                    name,
                    value,
                    actor,
                    report_id=report_id,
                    reason=reason,
                    interaction_id=interaction_id,
                )
            )
        except (InvalidParameterValue, UnknownParameter) as exc:
            applied.failed.append(f"`{name}`: {exc}")
    return applied


async def _settle_status(
    store: Store, report_id: str, status: ReportStatus, applied: _Applied
) -> ReportStatus:
    """A value that failed when applied (changed underneath, bounds moved) makes an approved
    report partially applied; the status shown and the one stored agree."""
    from ..store import ReportStatus

    if status is ReportStatus.APPROVED and applied.failed:
        return (await store.reports.mark_partially_applied(report_id)).status
    return status


def _decided_status(partial: bool) -> ReportStatus:
    """Approved, or partially applied when some of the report's changes are not."""
    from ..store import ReportStatus

    return ReportStatus.PARTIALLY_APPLIED if partial else ReportStatus.APPROVED


async def decide_report(store: Store, report_id: str, status: ReportStatus, actor: str) -> None:
    from ..store import ReportAlreadyDecided

    try:
        await store.reports.decide(report_id, status, actor)
    except ReportAlreadyDecided as exc:
        raise UserFacingError(f"{exc}.") from None


def change_line(change: ParameterChange) -> str:
    line = (
        f"#{change.id} `{change.parameter}` `{truncate(show(change.old_value), 40)}` → "
        f"`{truncate(show(change.new_value), 40)}` by <@{change.changed_by}> "
        f"{change.changed_at:%Y-%m-%d %H:%M}"
    )
    if change.rollback_of is not None:
        line += f" (rollback of #{change.rollback_of})"
    elif change.report_id:
        line += f" (report {truncate(change.report_id, 40)})"
    if change.rolled_back:
        line += " — rolled back"
    return line


async def audit_action(
    ctx: Context[Resources],
    store: Store,
    action: str,
    target: str,
    detail: JSONObject | None = None,
) -> None:
    """Record an admin action by the interaction's user, keyed by its id: a second delivery
    of the same interaction adds no second row."""
    await store.audit.record(
        ctx.user.id, action, target=target, detail=detail, interaction_id=ctx.interaction.id
    )


async def apply_report(
    ctx: Context[Resources],
    store: Store,
    parsed: TuningReport,
    values: list[tuple[str, Value]],
    *,
    action: str,
    reason: str,
    not_applied: list[str],
    current: dict[str, Value],
    audit_failed: list[str] | None = None,
    audit_detail: JSONObject | None = None,
) -> Message:
    """Decide the report, apply ``values``, audit ``action`` and show the outcome.

    Approve and the Custom form share this. ``not_applied`` are the report's changes left
    out before applying (invalid, or not in the form): the report is then only partially
    applied. The decision comes first, so a second admin's click finds it taken; all of it
    commits together (the caller is ``exactly_once``). ``current`` holds the values before;
    the audit entry lists the changes applied, those that failed (``audit_failed`` first, as
    they were found before applying) and ``audit_detail``.
    """
    actor = ctx.user.id
    report_id = parsed.report_id
    status = _decided_status(partial=bool(not_applied))
    await decide_report(store, report_id, status, actor)
    applied = await _apply(store, actor, report_id, values, reason, ctx.interaction.id)
    status = await _settle_status(store, report_id, status, applied)
    failed: list[JSONValue] = [*applied.failed, *(audit_failed or [])]
    await audit_action(
        ctx,
        store,
        action,
        report_id,
        {"applied": [c.id for c in applied.changes], "failed": failed, **(audit_detail or {})},
    )
    return report_message(
        parsed, status=status, outcome=_outcome(actor, applied, not_applied), current=current
    )


def _outcome(actor: str, applied: _Applied, skipped: list[str]) -> str:
    lines = [f"Applied by <@{actor}> at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC:"]
    lines += [change_line(c) for c in applied.changes] or ["nothing"]
    lines += [f"Not applied: {p}" for p in applied.failed + skipped]
    return lines_within(lines, EMBED_FIELD_VALUE_MAX)


__all__ = [
    "BadValue",
    "apply_report",
    "audit_action",
    "change_line",
    "coerce",
    "decide_report",
    "load_report",
    "refuse_decided",
    "values_for",
]
