"""Admin tuning reports: the report file format, its custom_ids, and its Discord message.

A report file is one JSON object (docs/admin.md has an example)::

    {"report_id": "nightly-2024-03-04", "title": "...", "summary": "...",
     "changes": [{"parameter": "min_score", "proposed": 0.6, "type": "float",
                  "min": 0, "max": 1, "current": 0.5, "reason": "..."}],
     "metrics": {"alerts": 42, "hit rate": "61%"}}

``type``/``min``/``max`` define a parameter the store does not know yet; ``current`` and
``reason`` are informative. The normalised form of the file is what the store keeps as the
report's payload, so the buttons can rebuild the report without the file.

Buttons carry versioned ids (``admin:v1:approve:<report id>``); ids posted by the old system
(``admin_approve_<id>``, ``admin_modal_<id>``) are declared as templates of their own that
route to the same handlers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..discord.custom_id import CustomIdError, CustomIdTemplate
from ..discord.enums import ButtonStyle
from ..discord.limits import (
    EMBED_FIELD_NAME_MAX,
    EMBED_FIELD_VALUE_MAX,
    EMBED_TITLE_MAX,
    EMBED_TOTAL_MAX,
)
from ..discord.messages import ActionRow, Button, Embed, EmbedField, Message, truncate
from ._shared import fit_fields

if TYPE_CHECKING:
    from ..store import ReportStatus, Store

REPORT_ID = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}"
_LEGACY_ID = r".{1,90}"  # the old system's ids may hold underscores: take the rest
PARAMETER_TYPES = ("int", "float", "bool", "str")
MODAL_FIELDS_MAX = 5
SHOWN_CHANGES = 20
EMBED_BUDGET = EMBED_TOTAL_MAX - 100  # room for the footer

DECIDE = (
    CustomIdTemplate("admin:v1:{action}:{report_id}", action="approve|reject", report_id=REPORT_ID),
    CustomIdTemplate("admin_{action}_{report_id}", action="approve|reject", report_id=_LEGACY_ID),
)
DETAILS = (
    CustomIdTemplate("admin:v1:details:{report_id}", report_id=REPORT_ID),
    CustomIdTemplate("admin_details_{report_id}", report_id=_LEGACY_ID),
)
CUSTOM = (
    CustomIdTemplate("admin:v1:custom:{report_id}", report_id=REPORT_ID),
    CustomIdTemplate("admin_custom_{report_id}", report_id=_LEGACY_ID),
)
MODAL = (
    CustomIdTemplate("admin:v1:modal:{report_id}", report_id=REPORT_ID),
    CustomIdTemplate("admin_modal_{report_id}", report_id=_LEGACY_ID),
)


class ReportFormatError(ValueError):
    """A report file or stored payload does not follow the format; the message says where."""


Value = bool | int | float | str


@dataclass(frozen=True, slots=True)
class ProposedChange:
    parameter: str
    proposed: Value
    type: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    current: Value | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"parameter": self.parameter, "proposed": self.proposed}
        for key, value in (
            ("type", self.type),
            ("min", self.minimum),
            ("max", self.maximum),
            ("current", self.current),
            ("reason", self.reason),
        ):
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class TuningReport:
    report_id: str
    title: str
    changes: tuple[ProposedChange, ...]
    summary: str | None = None
    metrics: dict[str, Value] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "report_id": self.report_id,
            "title": self.title,
            "changes": [c.to_json() for c in self.changes],
        }
        if self.summary:
            out["summary"] = self.summary
        if self.metrics:
            out["metrics"] = dict(self.metrics)
        return out


def _scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, bool | int | str)


def _bound(raw: Mapping[str, Any], key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReportFormatError(f"{where}.{key} must be a number")
    return float(value)


def _change(raw: object, where: str) -> ProposedChange:
    if not isinstance(raw, dict):
        raise ReportFormatError(f"{where} must be an object")
    name = raw.get("parameter")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", name):
        raise ReportFormatError(f"{where}.parameter must be 1-64 characters of A-Z a-z 0-9 _ . -")
    if "proposed" not in raw or not _scalar(raw["proposed"]):
        raise ReportFormatError(f"{where}.proposed must be a number, a boolean or a string")
    kind = raw.get("type")
    if kind is not None and kind not in PARAMETER_TYPES:
        raise ReportFormatError(f"{where}.type must be one of {', '.join(PARAMETER_TYPES)}")
    current = raw.get("current")
    if current is not None and not _scalar(current):
        raise ReportFormatError(f"{where}.current must be a number, a boolean or a string")
    reason = raw.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ReportFormatError(f"{where}.reason must be a string")
    minimum, maximum = _bound(raw, "min", where), _bound(raw, "max", where)
    if minimum is not None and maximum is not None and minimum > maximum:
        raise ReportFormatError(f"{where}: min is greater than max")
    return ProposedChange(
        parameter=name,
        proposed=raw["proposed"],
        type=kind,
        minimum=minimum,
        maximum=maximum,
        current=current,
        reason=reason.strip() if reason else None,
    )


def parse_report(data: object) -> TuningReport:
    """Validate a decoded report file (or a stored payload); :class:`ReportFormatError`."""
    if not isinstance(data, dict):
        raise ReportFormatError("a report must be a JSON object")
    report_id = data.get("report_id")
    if not isinstance(report_id, str) or not re.fullmatch(REPORT_ID, report_id):
        raise ReportFormatError(
            "report_id must be 1-64 characters of A-Z a-z 0-9 _ . - "
            "(starting with a letter or digit)"
        )
    title = data.get("title") or f"Tuning report {report_id}"
    summary = data.get("summary")
    if not isinstance(title, str) or (summary is not None and not isinstance(summary, str)):
        raise ReportFormatError("title and summary must be strings")
    changes = data.get("changes")
    if not isinstance(changes, list) or not changes:
        raise ReportFormatError("changes must be a non-empty list")
    parsed = tuple(_change(c, f"changes[{i}]") for i, c in enumerate(changes))
    names = [c.parameter for c in parsed]
    if len(set(names)) != len(names):
        raise ReportFormatError("each parameter may appear in changes only once")
    metrics = data.get("metrics") or {}
    if not isinstance(metrics, dict) or not all(
        isinstance(k, str) and _scalar(v) for k, v in metrics.items()
    ):
        raise ReportFormatError("metrics must be an object of names to numbers or strings")
    return TuningReport(
        report_id=report_id,
        title=title.strip() or report_id,
        changes=parsed,
        summary=summary.strip() if summary else None,
        metrics=dict(metrics),
    )


def custom_id(
    templates: tuple[CustomIdTemplate, CustomIdTemplate], report_id: str, **fields: str
) -> str:
    """The versioned id; the legacy layout only for an id the versioned one cannot hold."""
    try:
        return templates[0].build(report_id=report_id, **fields)
    except CustomIdError:
        return templates[1].build(report_id=report_id, **fields)


def show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


async def current_values(store: Store, report: TuningReport) -> dict[str, Value]:
    """The stored value of each parameter the report changes (those the store defines)."""
    from ..store import UnknownParameter

    values: dict[str, Value] = {}
    for change in report.changes:
        try:
            values[change.parameter] = (await store.parameters.get(change.parameter)).value
        except UnknownParameter:
            continue
    return values


def _change_field(change: ProposedChange, current_values: Mapping[str, Value]) -> EmbedField:
    # The store's value when it has one: a report's own "current" may be stale.
    value = current_values.get(change.parameter, change.current)
    current = "not defined" if value is None else show(value)
    value = f"`{truncate(current, 60)}` → **`{truncate(show(change.proposed), 60)}`**"
    if change.reason:
        value += "\n" + truncate(change.reason, 900)
    return EmbedField(truncate(change.parameter, EMBED_FIELD_NAME_MAX), value)


def report_message(
    report: TuningReport,
    *,
    status: ReportStatus | None = None,
    outcome: str | None = None,
    current: Mapping[str, Value] | None = None,
) -> Message:
    """The report with Approve/Reject/Details/Custom while pending, Details after.

    ``status`` is the stored report's; None for a report not stored yet, which is pending.

    ``current`` holds the parameters' values before the report (from the store, see
    :func:`current_values`); each change shows ``current → proposed``.

    Changes are listed while they fit in the embed's 6000 characters; the rest are counted.
    """
    from ..store import ReportStatus  # SQLAlchemy: not on the edge's start-up path

    status = status or ReportStatus.PENDING
    pending = status is ReportStatus.PENDING
    summary = truncate(report.summary, 1500) if report.summary else None
    tail = []
    if not pending:
        tail.append(EmbedField("Status", truncate(outcome or status.label, EMBED_FIELD_VALUE_MAX)))
    budget = EMBED_BUDGET - len(report.title[:EMBED_TITLE_MAX]) - len(summary or "") - 300
    budget -= sum(f.text_length() for f in tail)
    changes = list(report.changes)
    fields = fit_fields([_change_field(c, current or {}) for c in changes[:SHOWN_CHANGES]], budget)
    if len(fields) < len(changes):
        fields.append(
            EmbedField("More changes", f"…and {len(changes) - len(fields)} more (press Details).")
        )
    fields += tail
    footer = f"Report {report.report_id} · {len(changes)} change(s)"
    if len(changes) > MODAL_FIELDS_MAX and pending:
        footer += (
            f"\nCustom edits the first {MODAL_FIELDS_MAX} changes only: a Discord "
            "form holds at most 5 fields."
        )
    embed = Embed(
        title=truncate(report.title, EMBED_TITLE_MAX),
        description=summary,
        color=0xFEE75C if pending else 0xED4245 if status is ReportStatus.REJECTED else 0x57F287,
        fields=fields,
        footer=footer,
    )
    details = Button(
        label="Details", style=ButtonStyle.SECONDARY, custom_id=custom_id(DETAILS, report.report_id)
    )
    if pending:
        buttons = [
            Button(
                label="Approve",
                style=ButtonStyle.SUCCESS,
                custom_id=custom_id(DECIDE, report.report_id, action="approve"),
            ),
            Button(
                label="Reject",
                style=ButtonStyle.DANGER,
                custom_id=custom_id(DECIDE, report.report_id, action="reject"),
            ),
            details,
            Button(
                label="Custom",
                style=ButtonStyle.PRIMARY,
                custom_id=custom_id(CUSTOM, report.report_id),
            ),
        ]
    else:
        buttons = [details]
    return Message(embeds=[embed], components=[ActionRow(buttons)])
