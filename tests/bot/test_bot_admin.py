"""The admin workflow end to end: a report posted by the CLI through the bot token, its
buttons and form (new and legacy custom_ids), /admin commands, permissions and audit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bot_support import Bot, content, embed, field_value, is_ephemeral
from click.testing import CliRunner, Result

from catalyst_interactions.bot import build_registry
from catalyst_interactions.ops.admin_cli import admin_group
from catalyst_interactions.store import ParameterChange, Store
from conftest import ADMIN_ID, ADMIN_ROLE, BOT_TOKEN
from fakes.fake_discord import FakeDiscord
from support.discord_rules import channel_message_problems
from support.signing import command, component, member, modal_submit

pytestmark = pytest.mark.loopback

ADMIN = member(ADMIN_ID)
NOBODY = member("100", permissions=0x20)  # MANAGE_GUILD is not enough
REFUSAL = "Only Catalyst admins can do that."

NIGHTLY = {
    "report_id": "nightly-1",
    "title": "Nightly tuning",
    "summary": "Two changes from last night's replay.",
    "changes": [
        {
            "parameter": "min_score",
            "type": "float",
            "min": 0,
            "max": 1,
            "current": 0.5,
            "proposed": 0.6,
            "reason": "Fewer false positives",
        },
        {
            "parameter": "max_alerts_per_hour",
            "type": "int",
            "min": 1,
            "max": 100,
            "current": 20,
            "proposed": 15,
        },
    ],
    "metrics": {"alerts": 42, "hit rate": "61%"},
}
BIG = {
    "report_id": "big-1",
    "changes": [
        {"parameter": f"p{i}", "type": "int", "min": 0, "max": 10, "current": 1, "proposed": 2}
        for i in range(1, 7)
    ],
}


def cli(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report: dict[str, Any], *args: str
) -> Result:
    monkeypatch.chdir(tmp_path)  # no stray .env
    path = tmp_path / f"{report['report_id']}.json"
    path.write_text(json.dumps(report))
    env = {
        "DISCORD_BOT_TOKEN": BOT_TOKEN,
        "DISCORD_API_BASE": bot.fake.base_url,
        "DISCORD_APPLICATION_ID": bot.fake.application_id,
        "CATALYST_DATA_DIR": str(bot.data_dir),
        "CATALYST_DATABASE_URL": bot.runtime.settings.database_url or "",
    }
    return CliRunner().invoke(admin_group, ["post-report", str(path), *args], env=env)


def admin(
    bot: Bot, sub: str, options: list[dict[str, Any]] | None = None, user: dict[str, Any] = ADMIN
) -> dict[str, Any]:
    return bot.send(
        command("admin", [{"name": sub, "type": 1, "options": options or []}], user=user)
    )


def param(bot: Bot, name: str) -> object:
    async def get(store: Store) -> object:
        return (await store.parameters.get(name)).value

    return bot.with_store(get)


def history(bot: Bot) -> list[ParameterChange]:
    return bot.with_store(lambda s: s.parameters.history())


def audit(bot: Bot, action: str) -> list[Any]:
    return bot.with_store(lambda s: s.audit.list(action=action))


def test_admin_group_is_hidden_from_non_admins_in_registration() -> None:
    [admin_json] = [c for c in build_registry().commands_json() if c["name"] == "admin"]
    assert admin_json["default_member_permissions"] == "8"
    assert {o["name"] for o in admin_json["options"]} == {
        "report",
        "set",
        "history",
        "rollback",
        "stats",
    }


def test_post_report_approve_and_rollback(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli(bot, tmp_path, monkeypatch, NIGHTLY, "--channel", "600")
    assert result.exit_code == 0, result.output
    [posted] = bot.fake.requests_for("create_channel_message")
    assert posted.headers["authorization"] == f"Bot {BOT_TOKEN}"
    assert channel_message_problems(posted.json) == []
    message_id = next(iter(bot.fake.channel_messages))
    assert result.output.strip() == (
        f"posted report nightly-1 to channel 600 as message {message_id}"
    )
    ids = [b["custom_id"] for b in posted.json["components"][0]["components"]]
    assert ids == [
        "admin:v1:approve:nightly-1",
        "admin:v1:reject:nightly-1",
        "admin:v1:details:nightly-1",
        "admin:v1:custom:nightly-1",
    ]
    assert posted.json["embeds"][0]["title"] == "Nightly tuning"
    stored = bot.with_store(lambda s: s.reports.get("nightly-1"))
    assert (stored.channel_id, stored.message_id, stored.status.value) == (
        "600",
        message_id,
        "pending",
    )
    assert (param(bot, "min_score"), param(bot, "max_alerts_per_hour")) == (0.5, 20)

    details = bot.send(component("admin:v1:details:nightly-1", user=ADMIN))
    assert details["type"] == 4 and is_ephemeral(details)
    assert "**min_score** → `0.6`; now `0.5` (float, 0…1)" in embed(details)["description"]
    assert field_value(embed(details), "hit rate") == "61%"

    approved = bot.send(component("admin:v1:approve:nightly-1", user=ADMIN))
    assert approved["type"] == 7  # the report message itself is updated
    status = field_value(embed(approved), "Status")
    assert status.startswith(f"Applied by <@{ADMIN_ID}>")
    assert [b["label"] for b in approved["data"]["components"][0]["components"]] == ["Details"]
    assert (param(bot, "min_score"), param(bot, "max_alerts_per_hour")) == (0.6, 15)
    changes = history(bot)
    assert [
        (c.parameter, c.old_value, c.new_value, c.changed_by, c.report_id) for c in changes
    ] == [
        ("max_alerts_per_hour", 20, 15, ADMIN_ID, "nightly-1"),
        ("min_score", 0.5, 0.6, ADMIN_ID, "nightly-1"),
    ]
    assert bot.with_store(lambda s: s.reports.get("nightly-1")).status.value == "approved"
    assert audit(bot, "report.approve")[0].actor_id == ADMIN_ID

    late = bot.send(component("admin:v1:reject:nightly-1", user=member("5", roles=(ADMIN_ROLE,))))
    assert is_ephemeral(late)
    assert content(late) == f"Report `nightly-1` was already approved by <@{ADMIN_ID}>."

    undo = admin(bot, "rollback", [{"name": "change_id", "type": 4, "value": changes[0].id}])
    assert is_ephemeral(undo)
    assert content(undo).startswith(
        f"Rolled back change #{changes[0].id}: `max_alerts_per_hour` is `20` again"
    )
    assert param(bot, "max_alerts_per_hour") == 20
    again = admin(bot, "rollback", [{"name": "change_id", "type": 4, "value": changes[0].id}])
    assert content(again) == f"Cannot roll back: change #{changes[0].id} was already rolled back."
    superseded = admin(bot, "rollback", [{"name": "change_id", "type": 4, "value": 999}])
    assert content(superseded) == "Cannot roll back: no parameter change #999."

    listed = embed(admin(bot, "history"))["description"].splitlines()
    assert "(rollback of #" in listed[0] and listed[1].endswith("— rolled back")
    assert audit(bot, "parameter.rollback")[0].detail["rollback_of"] == changes[0].id

    again_post = cli(bot, tmp_path, monkeypatch, NIGHTLY, "--channel", "600")
    assert again_post.exit_code == 1
    assert "report nightly-1 already exists (channel 600" in again_post.output


def test_every_admin_path_refuses_non_admins_and_audits(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(bot, tmp_path, monkeypatch, NIGHTLY, "--store-only").exit_code == 0
    attempts = [
        command(
            "admin",
            [
                {
                    "name": "set",
                    "type": 1,
                    "options": [
                        {"name": "parameter", "type": 3, "value": "min_score"},
                        {"name": "value", "type": 3, "value": "0.9"},
                    ],
                }
            ],
            user=NOBODY,
        ),
        command("admin", [{"name": "stats", "type": 1, "options": []}], user=NOBODY),
        command("admin", [{"name": "history", "type": 1, "options": []}], user=NOBODY),
        command("admin", [{"name": "report", "type": 1, "options": []}], user=NOBODY),
        command(
            "admin",
            [
                {
                    "name": "rollback",
                    "type": 1,
                    "options": [{"name": "change_id", "type": 4, "value": 1}],
                }
            ],
            user=NOBODY,
        ),
        component("admin:v1:approve:nightly-1", user=NOBODY),
        component("admin_reject_nightly-1", user=NOBODY),
        component("admin:v1:details:nightly-1", user=NOBODY),
        component("admin_custom_nightly-1", user=NOBODY),
        modal_submit("admin_modal_nightly-1", {"min_score": "0.9"}, user=NOBODY),
        modal_submit("admin:v1:modal:nightly-1", {"min_score": "0.9"}, user=NOBODY),
    ]
    for payload in attempts:
        answer = bot.send(payload)
        assert answer["type"] == 4 and is_ephemeral(answer), payload["data"]
        assert content(answer) == REFUSAL
    refused = audit(bot, "admin.refused")
    assert len(refused) == len(attempts)
    assert all(e.actor_id == "100" and not e.allowed for e in refused)
    assert {e.target for e in refused} >= {
        "/admin set",
        "admin:v1:approve:nightly-1",
        "admin_modal_nightly-1",
    }
    assert param(bot, "min_score") == 0.5
    assert bot.with_store(lambda s: s.reports.get("nightly-1")).status.value == "pending"

    # Autocomplete does not leak parameter names to non-admins either: the refusal is the
    # only suggestion.
    focused = [
        {
            "name": "set",
            "type": 1,
            "options": [{"name": "parameter", "type": 3, "value": "", "focused": True}],
        }
    ]
    assert bot.send(command("admin", focused, user=NOBODY, type_=4))["data"]["choices"] == [
        {"name": REFUSAL, "value": "-"}
    ]
    names = bot.send(command("admin", focused, user=ADMIN, type_=4))["data"]["choices"]
    assert [c["value"] for c in names] == ["max_alerts_per_hour", "min_score"]


@pytest.mark.parametrize(
    "who",
    [
        member(ADMIN_ID),
        member("300", roles=(ADMIN_ROLE,)),
        member("301", permissions=8),  # ADMINISTRATOR
    ],
    ids=["configured-user", "configured-role", "administrator-permission"],
)
def test_admins_by_id_role_or_administrator_permission(
    start_bot: Callable[..., Bot],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    who: dict[str, Any],
) -> None:
    bot = start_bot()
    assert cli(bot, tmp_path, monkeypatch, NIGHTLY, "--store-only").exit_code == 0
    done = admin(
        bot,
        "set",
        [
            {"name": "parameter", "type": 3, "value": "min_score"},
            {"name": "value", "type": 3, "value": "0.75"},
            {"name": "reason", "type": 3, "value": "manual"},
        ],
        user=who,
    )
    assert is_ephemeral(done)
    assert content(done).startswith("Set `min_score`: `0.5` → `0.75` (change #1).")
    [change] = history(bot)
    assert (change.changed_by, change.reason) == (who["user"]["id"], "manual")
    assert audit(bot, "admin.refused") == []


def test_admin_set_validates_type_range_and_name(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(bot, tmp_path, monkeypatch, NIGHTLY, "--store-only").exit_code == 0

    def set_(name: str, value: str) -> str:
        return content(
            admin(
                bot,
                "set",
                [
                    {"name": "parameter", "type": 3, "value": name},
                    {"name": "value", "type": 3, "value": value},
                ],
            )
        )

    assert set_("max_alerts_per_hour", "ten") == (
        "`max_alerts_per_hour` needs a whole number, got `ten`"
    )
    assert set_("max_alerts_per_hour", "101") == (
        "`max_alerts_per_hour` must be between 1 and 100; got `101`"
    )
    assert set_("min_score", "nan") == "`min_score` needs a number, got `nan`"
    assert set_("nope", "1") == (
        "Unknown parameter `nope`. Known: `max_alerts_per_hour`, `min_score`"
    )
    assert history(bot) == []
    assert set_("max_alerts_per_hour", " 30 ").startswith("Set `max_alerts_per_hour`: `20` → `30`")


def test_custom_form_holds_five_fields_and_validates_before_applying(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(bot, tmp_path, monkeypatch, BIG, "--store-only").exit_code == 0
    shown = admin(bot, "report", [{"name": "report_id", "type": 3, "value": "big-1"}])
    assert "Custom edits the first 5 changes only" in embed(shown)["footer"]["text"]

    opened = bot.send(component("admin_custom_big-1", user=ADMIN))  # a legacy id
    assert opened["type"] == 9
    modal = opened["data"]
    assert modal["custom_id"] == "admin:v1:modal:big-1"
    inputs = [row["component"] for row in modal["components"]]
    assert [i["custom_id"] for i in inputs] == ["p1", "p2", "p3", "p4", "p5"]
    assert inputs[0]["value"] == "2" and inputs[0]["placeholder"] == "current: 1"
    assert modal["components"][0]["label"] == "p1 (int 0…10)"

    values = {f"p{i}": str(i) for i in range(1, 6)}
    bad = bot.send(
        modal_submit("admin_modal_big-1", values | {"p3": "11", "p1": "abc"}, user=ADMIN)
    )
    assert is_ephemeral(bad)
    assert content(bad) == (
        "Nothing was applied. Fix these and press Custom again:\n"
        "- `p1` needs a whole number, got `abc`\n"
        "- `p3` must be between 0 and 10; got `11`"
    )
    assert history(bot) == []
    assert bot.with_store(lambda s: s.reports.get("big-1")).status.value == "pending"

    # Submitted from the report message's Custom button: the report message itself is updated.
    report_message = {
        "id": "777",
        "channel_id": "600",
        "content": "",
        "embeds": [],
        "components": [],
    }
    good = bot.send(modal_submit("admin_modal_big-1", values, user=ADMIN, message=report_message))
    assert good["type"] == 7 and not is_ephemeral(good)
    status = field_value(embed(good), "Status")
    assert status.startswith(f"Applied by <@{ADMIN_ID}>")
    assert "Not applied: `p6` (not in the form)" in status
    buttons = [b["label"] for row in good["data"]["components"] for b in row["components"]]
    assert buttons == ["Details"]  # decided: no Approve / Reject / Custom any more
    assert [param(bot, f"p{i}") for i in range(1, 7)] == [1, 2, 3, 4, 5, 1]
    assert bot.with_store(lambda s: s.reports.get("big-1")).status.value == "partially_applied"
    assert audit(bot, "report.custom")[0].detail["not_in_form"] == ["p6"]
    # p1 was 1 and stays 1: a change is still recorded (who, when, old, new).
    assert len(history(bot)) == 5


def test_legacy_ids_with_underscores_route_to_the_same_handlers(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = NIGHTLY | {"report_id": "old_report_2024_03_04"}
    assert cli(bot, tmp_path, monkeypatch, legacy, "--store-only").exit_code == 0
    rejected = bot.send(component("admin_reject_old_report_2024_03_04", user=ADMIN))
    assert rejected["type"] == 7
    assert field_value(embed(rejected), "Status").startswith(f"Rejected by <@{ADMIN_ID}>")
    stored = bot.with_store(lambda s: s.reports.get("old_report_2024_03_04"))
    assert stored.status.value == "rejected" and stored.decided_by == ADMIN_ID
    assert history(bot) == []
    unknown = bot.send(component("admin:v1:approve:missing", user=ADMIN))
    assert is_ephemeral(unknown) and content(unknown).startswith(
        "Report `missing` is not in the database."
    )


def test_admin_report_list_and_stats(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert content(admin(bot, "report")).startswith("No reports yet.")
    assert cli(bot, tmp_path, monkeypatch, NIGHTLY, "--store-only").exit_code == 0
    assert cli(bot, tmp_path, monkeypatch, BIG, "--store-only").exit_code == 0
    listed = embed(admin(bot, "report"))["description"].splitlines()
    assert sorted(line.split(" — ")[0] for line in listed) == ["`big-1`", "`nightly-1`"]
    bot.send(component("admin:v1:reject:big-1", user=ADMIN))
    admin(
        bot,
        "set",
        [
            {"name": "parameter", "type": 3, "value": "p1"},
            {"name": "value", "type": 3, "value": "3"},
        ],
        user=NOBODY,
    )
    stats = embed(admin(bot, "stats"))
    assert field_value(stats, "Reports") == (
        "pending: 1, approved: 0, rejected: 1, partially applied: 0"
    )
    assert field_value(stats, "Parameters") == "8"
    assert field_value(stats, "Refused admin attempts (7 days)") == "1"
    assert field_value(stats, "Admin actions (7 days)") == "1"  # the reject


def test_post_report_refuses_bad_input(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_discord: FakeDiscord
) -> None:
    no_channel = cli(bot, tmp_path, monkeypatch, NIGHTLY)
    assert no_channel.exit_code == 2 and "--channel" in no_channel.output
    broken = cli(
        bot, tmp_path, monkeypatch, {"report_id": "x y", "changes": []}, "--channel", "600"
    )
    assert broken.exit_code == 2 and "report_id must be" in broken.output
    out_of_range = NIGHTLY | {
        "report_id": "r2",
        "changes": [
            {"parameter": "fresh", "type": "int", "min": 0, "max": 5, "current": 9, "proposed": 1}
        ],
    }
    refused = cli(bot, tmp_path, monkeypatch, out_of_range, "--channel", "600")
    assert refused.exit_code == 1 and "fresh must be at most 5" in refused.output
    assert fake_discord.requests_for("create_channel_message") == []
