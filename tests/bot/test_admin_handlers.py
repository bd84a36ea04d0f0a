"""The admin handlers called directly: no edge, no dispatcher, a real SQLite store.

Each test imports a handler from ``bot.admin`` and calls it with a context the way the
dispatcher would build it. What the checks decide (who may reach a handler) is tested in
test_admin_scope.py through the real edge; here the declaration itself is checked: every
admin path carries ``admin_only``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from catalyst_interactions.app import build_resources
from catalyst_interactions.bot import admin, build_registry
from catalyst_interactions.bot.admin_changes import BadValue
from catalyst_interactions.bot.admin_report import TuningReport, parse_report
from catalyst_interactions.bot.resources import Resources
from catalyst_interactions.bot.services import ADMIN_REFUSAL, admin_only
from catalyst_interactions.discord.messages import Message, Modal
from catalyst_interactions.discord.payloads import (
    command_data,
    component_data,
    decode_interaction,
    modal_data,
)
from catalyst_interactions.framework.context import (
    AccessPolicy,
    AutocompleteContext,
    CommandContext,
    ComponentContext,
    ModalContext,
)
from catalyst_interactions.framework.errors import UserFacingError
from catalyst_interactions.ops.admin_cli import define_parameters
from catalyst_interactions.settings import Settings
from catalyst_interactions.store import ParameterType, Store
from support.signing import command, component, member, modal_submit

ADMIN_ID = "4242"
ACCESS = AccessPolicy(admin_user_ids=frozenset({ADMIN_ID}))
ADMIN = member(ADMIN_ID)
OUTSIDER = member("100", permissions=8)  # Administrator, but not in a home server

NIGHTLY = {
    "report_id": "nightly-1",
    "title": "Nightly tuning",
    "changes": [
        {"parameter": "min_score", "type": "float", "min": 0, "max": 1, "current": 0.5,
         "proposed": 0.6},
        {"parameter": "max_alerts_per_hour", "type": "int", "min": 1, "max": 100,
         "current": 20, "proposed": 15},
    ],
}  # fmt: skip


@pytest.fixture
async def resources(tmp_path: Path) -> AsyncIterator[Resources]:
    built = build_resources(Settings(data_dir=tmp_path, market_provider="demo"), workers=False)
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def store(resources: Resources) -> Store:
    return await resources.store.get()


async def post(store: Store, raw: dict[str, Any]) -> TuningReport:
    """Store a report and seed its parameters, as ``admin post-report --store-only`` does."""
    report = parse_report(raw)
    await define_parameters(store, report)
    await store.reports.create(report.report_id, report.to_payload())
    return report


def interaction(payload: dict[str, Any]) -> Any:
    return decode_interaction(json.dumps(payload).encode())


def admin_command(
    resources: Resources, sub: str, user: dict[str, Any] = ADMIN
) -> CommandContext[Resources]:
    found = interaction(command("admin", [{"name": sub, "type": 1, "options": []}], user=user))
    return CommandContext(
        interaction=found,
        resources=resources,
        access=ACCESS,
        command=command_data(found),
        path=("admin", sub),
    )


def button(resources: Resources, custom_id: str) -> ComponentContext[Resources]:
    found = interaction(component(custom_id, user=ADMIN))
    return ComponentContext(
        interaction=found, resources=resources, access=ACCESS, component=component_data(found)
    )


def form(resources: Resources, custom_id: str, values: dict[str, str]) -> ModalContext[Resources]:
    found = interaction(modal_submit(custom_id, values, user=ADMIN))
    data = modal_data(found)
    return ModalContext(
        interaction=found, resources=resources, access=ACCESS, modal=data, values=data.values()
    )


def typing_in(resources: Resources, user: dict[str, Any]) -> AutocompleteContext[Resources]:
    focused = [{"name": "parameter", "type": 3, "value": "", "focused": True}]
    found = interaction(
        command("admin", [{"name": "set", "type": 1, "options": focused}], user=user, type_=4)
    )
    return AutocompleteContext(
        interaction=found, resources=resources, access=ACCESS, path=("admin", "set")
    )


async def test_set_parameter_applies_records_and_audits_once(
    resources: Resources, store: Store
) -> None:
    await store.parameters.define("min_score", ParameterType.FLOAT, 0.5, minimum=0, maximum=1)
    ctx = admin_command(resources, "set")

    answer = await admin.set_parameter(ctx, "min_score", "0.7", reason="calmer")

    assert answer.content == (
        "Set `min_score`: `0.5` → `0.7` (change #1). Undo with `/admin rollback change_id:1`."
    )
    assert (await store.parameters.get("min_score")).value == 0.7
    [change] = await store.parameters.history()
    assert (change.changed_by, change.reason) == (ADMIN_ID, "calmer")
    [entry] = await store.audit.list(action="parameter.set")
    assert entry.detail == {"change": 1, "old": 0.5, "new": 0.7}

    # The same interaction again (a hand-over, a retry) answers the same and changes nothing.
    again = await admin.set_parameter(ctx, "min_score", "0.9")
    assert again.content == answer.content
    assert (await store.parameters.get("min_score")).value == 0.7
    assert len(await store.parameters.history()) == 1


async def test_set_parameter_refuses_unknown_names_and_bad_values(
    resources: Resources, store: Store
) -> None:
    await store.parameters.define("max_alerts_per_hour", ParameterType.INT, 20, minimum=1)
    with pytest.raises(UserFacingError) as unknown:
        await admin.set_parameter(admin_command(resources, "set"), "nope", "1")
    assert unknown.value.message == "Unknown parameter `nope`. Known: `max_alerts_per_hour`"
    with pytest.raises(BadValue) as bad:
        await admin.set_parameter(admin_command(resources, "set"), "max_alerts_per_hour", "0")
    assert bad.value.message == "`max_alerts_per_hour` must be at least 1; got `0`"
    assert await store.parameters.history() == []
    assert await store.audit.list() == []


async def test_rollback_restores_the_old_value_once(resources: Resources, store: Store) -> None:
    await store.parameters.define("min_score", ParameterType.FLOAT, 0.5, minimum=0, maximum=1)
    await admin.set_parameter(admin_command(resources, "set"), "min_score", "0.8")

    undone = await admin.rollback(admin_command(resources, "rollback"), 1)

    assert undone.content == "Rolled back change #1: `min_score` is `0.5` again (change #2)."
    assert (await store.parameters.get("min_score")).value == 0.5
    with pytest.raises(UserFacingError) as twice:
        await admin.rollback(admin_command(resources, "rollback"), 1)
    assert twice.value.message == "Cannot roll back: change #1 was already rolled back."


async def test_history_and_report_list_read_the_store(resources: Resources, store: Store) -> None:
    assert (await admin.history(admin_command(resources, "history"))).content == (
        "No parameter changes recorded yet."
    )
    await post(store, NIGHTLY)
    await admin.set_parameter(admin_command(resources, "set"), "min_score", "0.9")
    [shown] = (await admin.history(admin_command(resources, "history"), "min_score")).embeds
    assert shown.title == "History of min_score"
    assert shown.description is not None and shown.description.startswith(
        f"#1 `min_score` `0.5` → `0.9` by <@{ADMIN_ID}>"
    )
    [listed] = (await admin.report(admin_command(resources, "report"))).embeds
    assert listed.description is not None and listed.description.startswith(
        "`nightly-1` — pending, "
    )


async def test_approve_button_applies_every_change_and_decides_the_report(
    resources: Resources, store: Store
) -> None:
    await post(store, NIGHTLY)

    answer = await admin.decide(
        button(resources, "admin:v1:approve:nightly-1"), "approve", "nightly-1"
    )

    assert isinstance(answer, Message)
    [status] = [f.value for f in answer.embeds[0].fields if f.name == "Status"]
    assert status.startswith(f"Applied by <@{ADMIN_ID}>")
    assert (await store.parameters.get("min_score")).value == 0.6
    assert (await store.parameters.get("max_alerts_per_hour")).value == 15
    assert (await store.reports.get("nightly-1")).status.value == "approved"
    # Another admin pressing Reject afterwards is told, and nothing changes.
    with pytest.raises(UserFacingError) as late:
        await admin.decide(button(resources, "admin:v1:reject:nightly-1"), "reject", "nightly-1")
    assert late.value.message == f"Report `nightly-1` was already approved by <@{ADMIN_ID}>."


async def test_approve_applies_what_it_can_and_records_what_it_could_not(
    resources: Resources, store: Store
) -> None:
    # `ghost` is neither defined in the store nor given a type and value by the report.
    await post(
        store, NIGHTLY | {"changes": [*NIGHTLY["changes"], {"parameter": "ghost", "proposed": 1}]}
    )

    answer = await admin.decide(
        button(resources, "admin:v1:approve:nightly-1"), "approve", "nightly-1"
    )

    [status] = [f.value for f in answer.embeds[0].fields if f.name == "Status"]
    assert status.endswith("Not applied: `ghost` is not a defined parameter")
    assert (await store.reports.get("nightly-1")).status.value == "partially_applied"
    [entry] = await store.audit.list(action="report.approve")
    assert entry.detail == {"applied": [1, 2], "failed": ["`ghost` is not a defined parameter"]}


async def test_custom_opens_a_form_and_its_submission_applies_the_typed_values(
    resources: Resources, store: Store
) -> None:
    await post(store, NIGHTLY)

    opened = await admin.custom(button(resources, "admin:v1:custom:nightly-1"), "nightly-1")

    assert isinstance(opened, Modal)
    assert opened.custom_id == "admin:v1:modal:nightly-1"
    assert [i.custom_id for i in opened.inputs] == ["min_score", "max_alerts_per_hour"]
    values = {"min_score": "0.25", "max_alerts_per_hour": "40"}
    await admin.custom_submit(form(resources, "admin:v1:modal:nightly-1", values), "nightly-1")
    assert (await store.parameters.get("min_score")).value == 0.25
    assert (await store.parameters.get("max_alerts_per_hour")).value == 40
    [entry] = await store.audit.list(action="report.custom")
    assert entry.actor_id == ADMIN_ID and entry.target == "nightly-1"
    assert entry.detail == {"applied": [1, 2], "failed": [], "not_in_form": []}


async def test_parameter_names_suggest_to_admins_and_refuse_outsiders(
    resources: Resources, store: Store
) -> None:
    await post(store, NIGHTLY)
    names = await admin.parameter_names(typing_in(resources, ADMIN), "ALERT")
    assert [(c.name, c.value) for c in names] == [
        ("max_alerts_per_hour = 20", "max_alerts_per_hour")
    ]
    refused = await admin.parameter_names(typing_in(resources, OUTSIDER), "")
    assert [(c.name, c.value) for c in refused] == [(ADMIN_REFUSAL, "-")]
    assert [
        (c.name, c.value) for c in await admin.report_ids(typing_in(resources, OUTSIDER), "")
    ] == [(ADMIN_REFUSAL, "-")]


def test_every_admin_path_is_declared_admin_only() -> None:
    registry = build_registry()
    keys = sorted(
        spec.key
        for spec in registry.handlers()
        if spec.key.startswith(("command:admin ", "component:admin", "modal:admin"))
    )
    assert keys == sorted(
        [
            *(f"command:admin {s}" for s in ("report", "set", "history", "rollback", "stats")),
            "component:admin:v1:{action}:{report_id}",
            "component:admin_{action}_{report_id}",
            "component:admin:v1:details:{report_id}",
            "component:admin_details_{report_id}",
            "component:admin:v1:custom:{report_id}",
            "component:admin_custom_{report_id}",
            "modal:admin:v1:modal:{report_id}",
            "modal:admin_modal_{report_id}",
        ]
    )
    for key in keys:
        spec = registry.handler(key)
        assert spec is not None and admin_only in spec.checks, key


def test_admin_options_carry_their_own_suggestions() -> None:
    registry = build_registry()
    for path, option, source in (
        (("admin", "set"), "parameter", admin.parameter_names),
        (("admin", "history"), "parameter", admin.parameter_names),
        (("admin", "report"), "report_id", admin.report_ids),
    ):
        found = registry.find_autocomplete(path, option)
        assert found is not None and found.func is source, (path, option)
        assert found.declared == "option", (path, option)
