"""/admin report|set|history|rollback|stats and the admin report's buttons and form.

Every path here — each subcommand, button and modal — runs the ``admin_only`` check: listed
admin user ids anywhere, listed roles or ADMINISTRATOR only in a home server; everyone else
gets the same ephemeral refusal and an ``admin.refused`` audit entry (autocomplete offers the
refusal as its only suggestion). Every applied change is a parameter history entry (who,
when, old, new) that ``/admin rollback`` can undo, and every admin action is audited.

Every state-changing handler is ``exactly_once``: its changes, audit rows and answer commit
in one transaction keyed by the interaction id, so a second delivery changes nothing.

The handlers are module-level functions, declared where they stand on the ``/admin`` group
(``commands``, included by ``bot/__init__.py``); tests call them directly with a context.
What they do to the store (values checked, decisions applied, audit rows) is in
``bot/admin_changes.py``; the report file, its custom_ids and its message in
``bot/admin_report.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from ..discord.enums import TextInputStyle
from ..discord.limits import (
    CHOICE_NAME_MAX,
    CHOICES_MAX,
    EMBED_DESCRIPTION_MAX,
    EMBED_FIELD_NAME_MAX,
    EMBED_FIELD_VALUE_MAX,
    EMBED_FIELDS_MAX,
    EMBED_TITLE_MAX,
    EMBED_TOTAL_MAX,
    LABEL_MAX,
    MODAL_TITLE_MAX,
    TEXT_INPUT_PLACEHOLDER_MAX,
)
from ..discord.messages import (
    Choice,
    Embed,
    EmbedField,
    Message,
    Modal,
    TextInput,
    truncate,
)
from ..framework.context import (
    AutocompleteContext,
    CommandContext,
    ComponentContext,
    ModalContext,
)
from ..framework.errors import UserFacingError
from ..framework.options import Param
from ..framework.registry import Feature
from ._shared import BRAND_COLOR, exactly_once, fit_fields, lines_within, open_store
from .admin_changes import (
    BadValue,
    apply_report,
    audit_action,
    change_line,
    coerce,
    decide_report,
    load_report,
    refuse_decided,
    values_for,
)
from .admin_report import (
    CUSTOM,
    DECIDE,
    DETAILS,
    MODAL,
    MODAL_FIELDS_MAX,
    current_values,
    custom_id,
    report_message,
    show,
)
from .resources import Resources
from .services import ADMIN_REFUSAL, admin_only

# -- who may use /admin ------------------------------------------------------------------
commands = Feature[Resources]()
admin = commands.group(
    "admin",
    "Catalyst admin tools",
    # One check for every admin path: the subcommands, and the report's buttons and form
    # declared on this group below.
    checks=(admin_only,),
    # Discord hides /admin from members without Administrator (a hint only: admin_only
    # decides), and `register` puts it in the home servers alone.
    default_member_permissions="8",
    home_only=True,
)


# -- autocomplete (admins only: names are not for everyone) -------------------------------
# Suggestions cannot carry a message, so an outsider gets the refusal as the only
# suggestion; its value is inert (the command refuses it, like any value, anyway).
REFUSED_CHOICES = (Choice(name=ADMIN_REFUSAL, value="-"),)
Suggestions = Callable[[AutocompleteContext[Resources], str], Awaitable[list[Choice]]]


def for_admins(source: Suggestions) -> Suggestions:
    """``source``'s suggestions for admins; anyone else gets :data:`REFUSED_CHOICES`.

    Autocomplete runs no checks (it must answer at once and is never audited), so the
    admin sources carry this one instead of ``admin_only``."""

    @functools.wraps(source)
    async def suggest(ctx: AutocompleteContext[Resources], typed: str) -> list[Choice]:
        if not ctx.is_admin:
            return list(REFUSED_CHOICES)
        return await source(ctx, typed)

    return suggest


@for_admins
async def parameter_names(ctx: AutocompleteContext[Resources], typed: str) -> list[Choice]:
    """Parameter names containing what was typed, each with its value."""
    store = await open_store(ctx)
    needle = typed.strip().lower()
    return [
        Choice(name=truncate(f"{p.name} = {show(p.value)}", CHOICE_NAME_MAX), value=p.name)
        for p in await store.parameters.all()
        if needle in p.name.lower()
    ][:CHOICES_MAX]


@for_admins
async def report_ids(ctx: AutocompleteContext[Resources], typed: str) -> list[Choice]:
    """Report ids containing what was typed, each with its status."""
    store = await open_store(ctx)
    needle = typed.strip().lower()
    return [
        Choice(
            name=truncate(f"{r.report_id} ({r.status.value})", CHOICE_NAME_MAX), value=r.report_id
        )
        for r in await store.reports.list(limit=100)
        if needle in r.report_id.lower()
    ][:CHOICES_MAX]


# The options that name a parameter or a report carry their suggestions with them.
PARAMETER_NAME = Param("Parameter name", autocomplete=parameter_names, max_length=64)
REPORT_ID = Param("Report id", autocomplete=report_ids, max_length=100)


# -- /admin commands ----------------------------------------------------------------------
@admin.command("report", "Show a tuning report, or list the newest ones", ephemeral=True)
async def report(
    ctx: CommandContext[Resources],
    report_id: Annotated[
        str | None, REPORT_ID, Param("Report id (leave empty to list reports)")
    ] = None,
) -> Message:
    """/admin report: one report as its message, or the newest reports listed."""
    store = await open_store(ctx)
    if report_id is None:
        reports = await store.reports.list(limit=15)
        if not reports:
            return Message(
                content="No reports yet. Post one with "
                "`catalyst-interactions admin post-report FILE`."
            )
        lines = [
            f"`{r.report_id}` — {r.status.label}, {r.created_at:%Y-%m-%d %H:%M}" for r in reports
        ]
        return Message(
            embeds=[
                Embed(
                    title="Tuning reports",
                    color=BRAND_COLOR,
                    description=lines_within(lines, EMBED_DESCRIPTION_MAX),
                )
            ]
        )
    stored, parsed = await load_report(store, report_id)
    from ..store import ReportStatus

    decided = stored.status
    pending = decided is ReportStatus.PENDING
    outcome = None if pending else f"{decided.label} by <@{stored.decided_by}>"
    # A pending report shows what approving would change from; a decided one shows the
    # values the report recorded (the store now holds the decision's result).
    live = await current_values(store, parsed) if pending else None
    return report_message(parsed, status=decided, outcome=outcome, current=live)


@admin.command(
    "set", "Set a bot parameter (validated; recorded; can be rolled back)", ephemeral=True
)
@exactly_once
async def set_parameter(
    ctx: CommandContext[Resources],
    parameter: Annotated[str, PARAMETER_NAME],
    value: Annotated[str, Param("New value", max_length=200)],
    reason: Annotated[str | None, Param("Why (kept in the history)", max_length=200)] = None,
) -> Message:
    """/admin set: one parameter to a typed, in-range value, recorded and audited."""
    from ..store import InvalidParameterValue, UnknownParameter

    store = await open_store(ctx)
    try:
        param = await store.parameters.get(parameter)
    except UnknownParameter:
        known = ", ".join(f"`{p.name}`" for p in await store.parameters.all()) or "none yet"
        raise UserFacingError(
            f"Unknown parameter `{truncate(parameter, 64)}`. Known: {truncate(known, 1500)}"
        ) from None
    new_value = coerce(param, value)
    try:
        change = await store.parameters.set(
            param.name, new_value, ctx.user.id, reason=reason, interaction_id=ctx.interaction.id
        )
    except InvalidParameterValue as exc:
        raise BadValue(str(exc)) from None
    await audit_action(
        ctx,
        store,
        "parameter.set",
        param.name,
        {"change": change.id, "old": change.old_value, "new": change.new_value},
    )
    return Message(
        content=(
            f"Set `{param.name}`: `{show(change.old_value)}` → `{show(change.new_value)}` "
            f"(change #{change.id}). Undo with `/admin rollback change_id:{change.id}`."
        )
    )


@admin.command("history", "Recent parameter changes", ephemeral=True)
async def history(
    ctx: CommandContext[Resources],
    parameter: Annotated[str | None, PARAMETER_NAME, Param("Only this parameter")] = None,
    limit: Annotated[int, Param("How many (default 15)", min_value=1, max_value=50)] = 15,
) -> Message:
    """/admin history: the newest parameter changes, of one parameter or all."""
    store = await open_store(ctx)
    changes = await store.parameters.history(parameter, limit=limit)
    if not changes:
        return Message(content="No parameter changes recorded yet.")
    title = f"History of {parameter}" if parameter else "Parameter history"
    return Message(
        embeds=[
            Embed(
                title=truncate(title, EMBED_TITLE_MAX),
                color=BRAND_COLOR,
                description=lines_within([change_line(c) for c in changes], EMBED_DESCRIPTION_MAX),
                footer="Roll back the latest change of a parameter with /admin rollback.",
            )
        ]
    )


@admin.command("rollback", "Undo a parameter change", ephemeral=True)
@exactly_once
async def rollback(
    ctx: CommandContext[Resources],
    change_id: Annotated[int, Param("Change number from /admin history", min_value=1)],
    reason: Annotated[str | None, Param("Why (kept in the history)", max_length=200)] = None,
) -> Message:
    """/admin rollback: undo one change (itself recorded as a change), audited."""
    from ..store import AlreadyRolledBack, ChangeNotFound, ChangeSuperseded

    store = await open_store(ctx)
    try:
        change = await store.parameters.rollback(
            change_id, ctx.user.id, reason=reason, interaction_id=ctx.interaction.id
        )
    except (ChangeNotFound, AlreadyRolledBack, ChangeSuperseded) as exc:
        raise UserFacingError(f"Cannot roll back: {exc}.") from None
    await audit_action(
        ctx,
        store,
        "parameter.rollback",
        change.parameter,
        {
            "change": change.id,
            "rollback_of": change_id,
            "old": change.old_value,
            "new": change.new_value,
        },
    )
    return Message(
        content=(
            f"Rolled back change #{change_id}: `{change.parameter}` is "
            f"`{show(change.new_value)}` again (change #{change.id})."
        )
    )


@admin.command("stats", "Admin overview: reports, changes, refusals, alerts", ephemeral=True)
async def stats(ctx: CommandContext[Resources]) -> Message:
    """/admin stats: reports by status, parameters, the week's changes, refusals, alerts."""

    store = await open_store(ctx)
    week = datetime.now(UTC) - timedelta(days=7)
    # Counted by the database: listing rows to count them would stop at a listing limit.
    counts = await store.reports.counts()
    params = await store.parameters.all()
    changes = await store.parameters.changes_since(week)
    allowed, refused = await store.audit.counts_since(week)
    alerts_week, alerts_all = (
        await store.alerts.stats(week),
        await store.alerts.stats(datetime(1970, 1, 1, tzinfo=UTC)),
    )
    report_text = ", ".join(f"{s.label}: {n}" for s, n in counts.items())
    fields = [
        EmbedField("Reports", report_text),
        EmbedField("Parameters", str(len(params)), True),
        EmbedField("Changes (7 days)", str(changes), True),
        EmbedField("Refused admin attempts (7 days)", str(refused), True),
        EmbedField("Admin actions (7 days)", str(allowed), True),
        EmbedField("Alerts (7 days / all)", f"{alerts_week.count} / {alerts_all.count}", True),
    ]
    return Message(embeds=[Embed(title="Admin overview", color=BRAND_COLOR, fields=fields)])


# -- the report message's buttons (each under its versioned and its legacy custom_id) ------
@admin.component(DECIDE[0])
@admin.component(DECIDE[1])
@exactly_once
async def decide(ctx: ComponentContext[Resources], action: str, report_id: str) -> Message:
    """Approve (every valid change applied) or Reject; the answer replaces the report."""
    store = await open_store(ctx)
    stored, parsed = await load_report(store, report_id)
    refuse_decided(stored)
    actor = ctx.user.id
    before = await current_values(store, parsed)  # what the message shows changing from
    if action == "reject":
        from ..store import ReportStatus

        await decide_report(store, report_id, ReportStatus.REJECTED, actor)
        await audit_action(ctx, store, "report.reject", report_id)
        return report_message(
            parsed,
            status=ReportStatus.REJECTED,
            outcome=f"Rejected by <@{actor}> at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            current=before,
        )
    values, problems = await values_for(store, [(c, c.proposed) for c in parsed.changes])
    if not values:
        raise UserFacingError("Nothing can be applied:\n" + "\n".join(problems))
    return await apply_report(
        ctx,
        store,
        parsed,
        values,
        action="report.approve",
        reason=f"report {report_id}",
        not_applied=problems,
        current=before,
        audit_failed=problems,
    )


@admin.component(DETAILS[0], updates_message=False, ephemeral=True)
@admin.component(DETAILS[1], updates_message=False, ephemeral=True)
async def details(ctx: ComponentContext[Resources], report_id: str) -> Message:
    """Details: each change beside the parameter's live value and bounds, and the metrics."""
    from ..store import UnknownParameter

    store = await open_store(ctx)
    stored, parsed = await load_report(store, report_id)
    lines = []
    for change in parsed.changes:
        try:
            param = await store.parameters.get(change.parameter)
            live = (
                f"now `{show(param.value)}` ({param.type.value}"
                + (f", {param.minimum:g}…" if param.minimum is not None else ", …")
                + (f"{param.maximum:g})" if param.maximum is not None else ")")
            )
        except UnknownParameter:
            live = "not defined"
        lines.append(
            f"**{change.parameter}** → `{truncate(show(change.proposed), 40)}`; "
            f"{live}" + (f"\n> {truncate(change.reason, 300)}" if change.reason else "")
        )
    description = lines_within(lines, 4000)
    metrics = [
        EmbedField(
            truncate(k, EMBED_FIELD_NAME_MAX), truncate(show(v), EMBED_FIELD_VALUE_MAX), True
        )
        for k, v in list(parsed.metrics.items())[:EMBED_FIELDS_MAX]
    ]
    # The metrics get what the 6000-character embed total leaves after the changes.
    fields = fit_fields(metrics, EMBED_TOTAL_MAX - 400 - len(description))  # 400: title, footer
    status = stored.status.label
    return Message(
        embeds=[
            Embed(
                title=truncate(f"Details: {parsed.title}", EMBED_TITLE_MAX),
                color=BRAND_COLOR,
                description=description,
                fields=fields,
                footer=f"Status: {status} · created {stored.created_at:%Y-%m-%d %H:%M} UTC",
            )
        ],
        ephemeral=True,
    )


@admin.component(CUSTOM[0])
@admin.component(CUSTOM[1])
async def custom(ctx: ComponentContext[Resources], report_id: str) -> Modal:
    """Custom: a form prefilled with the first changes' proposed values."""
    from ..store import UnknownParameter

    store = await open_store(ctx)
    stored, parsed = await load_report(store, report_id)
    refuse_decided(stored)
    inputs = []
    for change in parsed.changes[:MODAL_FIELDS_MAX]:
        try:
            param = await store.parameters.get(change.parameter)
            kind, current = param.type.value, show(param.value)
            bounds = (
                ""
                if param.minimum is None and param.maximum is None
                else (
                    f" {'' if param.minimum is None else f'{param.minimum:g}'}"
                    f"…{'' if param.maximum is None else f'{param.maximum:g}'}"
                )
            )
        except UnknownParameter:
            kind, current, bounds = change.type or "?", "not defined", ""
        inputs.append(
            TextInput(
                custom_id=change.parameter,
                label=truncate(f"{change.parameter} ({kind}{bounds})", LABEL_MAX),
                style=TextInputStyle.SHORT,
                max_length=200,
                required=True,
                value=truncate(show(change.proposed), 200),
                placeholder=truncate(f"current: {current}", TEXT_INPUT_PLACEHOLDER_MAX),
            )
        )
    return Modal(
        custom_id=custom_id(MODAL, report_id),
        title=truncate(f"Custom values · {report_id}", MODAL_TITLE_MAX),
        inputs=inputs,
    )


# -- the Custom form ------------------------------------------------------------------------
@admin.modal(MODAL[0], updates_message=True)
@admin.modal(MODAL[1], updates_message=True)
@exactly_once
async def custom_submit(ctx: ModalContext[Resources], report_id: str) -> Message:
    """The Custom form submitted: every value valid, or nothing applied.

    Submitted from the report's Custom button, the answer replaces the report message (its
    buttons go, its status shows what was applied); errors stay private and change nothing.
    """
    store = await open_store(ctx)
    stored, parsed = await load_report(store, report_id)
    refuse_decided(stored)
    shown = list(parsed.changes[:MODAL_FIELDS_MAX])
    missing = [c.parameter for c in shown if c.parameter not in ctx.values]
    if missing:
        raise UserFacingError(
            "The form is missing "
            + ", ".join(f"`{m}`" for m in missing)
            + ". Open it again with Custom."
        )
    values, problems = await values_for(store, [(c, ctx.values[c.parameter]) for c in shown])
    if problems:
        raise UserFacingError(
            "Nothing was applied. Fix these and press Custom again:\n"
            + "\n".join(f"- {p}" for p in problems)
        )
    rest = [c.parameter for c in parsed.changes[MODAL_FIELDS_MAX:]]
    return await apply_report(
        ctx,
        store,
        parsed,
        values,
        action="report.custom",
        reason=f"report {report_id} (custom values)",
        not_applied=[f"`{name}` (not in the form)" for name in rest],
        current=await current_values(store, parsed),
        audit_detail={"not_in_form": [*rest]},
    )


__all__ = [
    "PARAMETER_NAME",
    "REPORT_ID",
    "admin",
    "commands",
    "custom",
    "custom_submit",
    "decide",
    "details",
    "for_admins",
    "history",
    "parameter_names",
    "report",
    "report_ids",
    "rollback",
    "set_parameter",
    "stats",
]
