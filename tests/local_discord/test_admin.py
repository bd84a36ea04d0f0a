"""The admin workflow in the local Discord: a report posted by the operator's CLI through the
emulator's REST API with the bot token, its buttons and form pressed by a regular member and
by an admin, /admin history and rollback; plus /help and /research without an LLM.

Riley (``regular``) is an ordinary member; Ada (``admin``) has the Admin role and the
ADMINISTRATOR permission (the emulator's personas).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from catalyst_interactions.emulator.world import ADMIN_USER_ID
from catalyst_interactions.ops.admin_cli import admin_group
from support.local_discord import Local, Shown

from .conftest import data_dir, start_bot

pytestmark = pytest.mark.loopback

ALERTS_CHANNEL = "1310000000000000032"
REFUSAL = "Only Catalyst admins can do that."


def report(report_id: str, title: str) -> dict[str, Any]:
    return {
        "report_id": report_id,
        "title": title,
        "summary": "Two changes from last night's replay.",
        "changes": [
            {
                "parameter": f"{report_id}.min_score",
                "type": "float",
                "min": 0,
                "max": 1,
                "current": 0.5,
                "proposed": 0.6,
                "reason": "Fewer false positives",
            },
            {
                "parameter": f"{report_id}.max_per_hour",
                "type": "int",
                "min": 1,
                "max": 100,
                "current": 20,
                "proposed": 15,
            },
        ],
        "metrics": {"alerts": 42, "hit rate": "61%"},
    }


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    yield from start_bot(tmp_path_factory.mktemp("admin"))  # no LLM configured


@pytest.fixture(scope="module")
def post_report(local: Local, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``catalyst-interactions admin post-report FILE --channel #alerts`` against the emulator."""
    folder = tmp_path_factory.mktemp("reports")
    env = {
        "DISCORD_API_BASE": local.stack.api_base,
        "DISCORD_BOT_TOKEN": local.stack.emulator.bot_token.reveal(),
        "DISCORD_APPLICATION_ID": local.stack.emulator.world.application_id,
        "CATALYST_DATA_DIR": str(data_dir(local)),
        "CATALYST_DATABASE_URL": "",
    }

    def post(data: dict[str, Any]) -> str:
        path = Path(folder) / f"{data['report_id']}.json"
        path.write_text(json.dumps(data))
        result = CliRunner().invoke(
            admin_group, ["post-report", str(path), "--channel", ALERTS_CHANNEL], env=env
        )
        assert result.exit_code == 0, result.output
        prefix = f"posted report {data['report_id']} to channel {ALERTS_CHANNEL} as message "
        assert result.output.startswith(prefix), result.output
        return result.output.strip().removeprefix(prefix)

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # no stray .env
        yield post


def labels(message: dict[str, Any]) -> list[str]:
    return [b["label"] for b in message["components"][0]["components"]]


def custom_id(message: dict[str, Any], label: str) -> str:
    return str(
        next(b["custom_id"] for b in message["components"][0]["components"] if b["label"] == label)
    )


def field(embed: dict[str, Any], name: str) -> str:
    return str(next(f["value"] for f in embed.get("fields", []) if f["name"] == name))


def only_for(local: Local, shown: Shown, persona: str) -> str:
    """The text of an ephemeral answer, after checking that only ``persona`` sees it."""
    assert shown.ok and shown.ephemeral, shown.result
    assert shown.message is not None
    other = "admin" if persona == "regular" else "regular"
    channel = shown.message["channel_id"]
    assert shown.message["id"] in {m["id"] for m in local.timeline(persona, channel)}
    assert shown.message["id"] not in {m["id"] for m in local.timeline(other, channel)}
    return shown.content


def modal_inputs(modal: dict[str, Any]) -> dict[str, str]:
    """custom_id → prefilled value of the text inputs in a modal (Label or action row)."""
    out: dict[str, str] = {}
    for top in modal["components"]:
        children = [top["component"]] if "component" in top else top.get("components", [])
        for child in children:
            if child.get("type") == 4:
                out[child["custom_id"]] = child.get("value", "")
    return out


def history_lines(local: Local) -> list[str]:
    """``/admin history`` as Ada sees it: one line per change, newest first."""
    shown = local.use("admin history", "admin")
    text = only_for(local, shown, "admin")
    if text == "No parameter changes recorded yet.":
        return []
    return list(shown.embed["description"].splitlines())


def help_entries(shown: Shown) -> set[str]:
    assert shown.message is not None
    return {f["name"] for e in shown.message["embeds"] for f in e["fields"]}


# -- the report ------------------------------------------------------------------------------
def test_report_buttons_refuse_a_member_and_serve_the_admin(local: Local, post_report: Any) -> None:
    message_id = post_report(report("nightly", "Nightly tuning"))
    posted = local.message(message_id)
    assert posted["channel_id"] == ALERTS_CHANNEL
    assert posted["author"]["bot"] is True and "interaction_metadata" not in posted
    assert message_id in {m["id"] for m in local.timeline("regular", ALERTS_CHANNEL)}
    assert posted["embeds"][0]["title"] == "Nightly tuning"
    assert field(posted["embeds"][0], "nightly.min_score").startswith("`0.5` → **`0.6`**")
    assert labels(posted) == ["Approve", "Reject", "Details", "Custom"]

    # A regular member: every button is refused privately and nothing changes.
    for label in ("Approve", "Reject", "Details", "Custom"):
        refused = local.press(message_id, custom_id(posted, label), "regular")
        assert refused.result["response_type"] == 4, refused.result
        assert refused.result["modal"] is None
        assert only_for(local, refused, "regular") == REFUSAL
    assert local.message(message_id) == posted
    assert history_lines(local) == []

    # The admin: Details, only for her.
    details = local.press(message_id, custom_id(posted, "Details"), "admin")
    assert only_for(local, details, "admin") == ""
    assert details.embed["title"] == "Details: Nightly tuning"
    assert "**nightly.min_score** → `0.6`; now `0.5` (float, 0…1)" in details.embed["description"]
    assert field(details.embed, "hit rate") == "61%"

    # Custom opens a form prefilled with the proposed values.
    opened = local.press(message_id, custom_id(posted, "Custom"), "admin")
    assert opened.ok and opened.result["response_type"] == 9
    modal = opened.result["modal"]
    assert modal["title"] == "Custom values · nightly"
    assert modal_inputs(modal) == {"nightly.min_score": "0.6", "nightly.max_per_hour": "15"}

    bad = local.submit(
        opened.interaction_id,
        {"nightly.min_score": "1.5", "nightly.max_per_hour": "12"},
        "admin",
    )
    assert only_for(local, bad, "admin") == (
        "Nothing was applied. Fix these and press Custom again:\n"
        "- `nightly.min_score` must be between 0 and 1; got `1.5`"
    )
    assert history_lines(local) == []

    again = local.press(message_id, custom_id(posted, "Custom"), "admin")
    good = local.submit(
        again.interaction_id,
        {"nightly.min_score": "0.55", "nightly.max_per_hour": "12"},
        "admin",
    )
    # The form came from the report's Custom button: the report message itself now shows what
    # was applied, for everyone, and its decision buttons are gone.
    assert good.ok and good.result["response_type"] == 7 and not good.ephemeral
    decided = local.message(message_id)
    text = field(decided["embeds"][0], "Status")
    assert text.startswith(f"Applied by <@{ADMIN_USER_ID}> at ")
    assert "`nightly.min_score` `0.5` → `0.55`" in text
    assert "`nightly.max_per_hour` `20` → `12`" in text
    assert labels(decided) == ["Details"]

    lines = history_lines(local)
    assert len(lines) == 2
    assert all(f"by <@{ADMIN_USER_ID}>" in line and "(report nightly)" in line for line in lines)
    change = next(line for line in lines if "`nightly.min_score` `0.5` → `0.55`" in line)
    change_id = int(change.split()[0].lstrip("#"))

    # A decided report refuses another decision, even from an admin.
    # The decided report has no Approve button any more, so the page cannot press it (a stale
    # client pressing an old one is refused by the bot: tests/bot/test_bot_admin.py).
    late = local.press(message_id, custom_id(posted, "Approve"), "admin")
    assert not late.ok and late.result["error"] == "That component is not on the message any more"

    undo = local.use("admin rollback", "admin", change_id=change_id)
    assert only_for(local, undo, "admin").startswith(
        f"Rolled back change #{change_id}: `nightly.min_score` is `0.5` again (change #"
    )
    lines = history_lines(local)
    assert f"(rollback of #{change_id})" in lines[0] and "`0.55` → `0.5`" in lines[0]
    assert any(
        line.startswith(f"#{change_id} ") and line.endswith("— rolled back") for line in lines
    )


def test_admin_approve_updates_the_report_message_in_place(local: Local, post_report: Any) -> None:
    message_id = post_report(report("weekly", "Weekly tuning"))
    posted = local.message(message_id)
    approved = local.press(message_id, custom_id(posted, "Approve"), "admin")
    assert approved.ok and approved.result["response_type"] == 7  # the report itself changes
    after = local.message(message_id)
    assert labels(after) == ["Details"]
    status = field(after["embeds"][0], "Status")
    assert status.startswith(f"Applied by <@{ADMIN_USER_ID}>")
    assert "`weekly.min_score` `0.5` → `0.6`" in status
    # Everyone sees the outcome: the report is a public message.
    assert message_id in {m["id"] for m in local.timeline("regular", ALERTS_CHANNEL)}


def test_admin_command_is_hidden_from_a_member(local: Local) -> None:
    (admin,) = [c for c in local.state()["commands"] if c["name"] == "admin"]
    assert admin["default_member_permissions"] == "8"
    # Like Discord's client, the page does not let Riley send it at all.
    refused = local.command("admin history", "regular")
    assert refused == {
        "ok": False,
        "refused": True,
        "error": "You do not have permission to use this command",
    }
    listing = local.use("admin report", "admin")
    assert listing.ok and listing.ephemeral


# -- /help and an unconfigured /research -------------------------------------------------------
def registered_paths(local: Local, *, with_admin: bool) -> set[str]:
    """Every slash command and subcommand the page offers, from the registration."""
    paths = set()
    for command in local.state()["commands"]:
        if command["name"] == "admin" and not with_admin:
            continue
        subs = [o for o in command.get("options", []) if o["type"] == 1]
        if subs:
            paths |= {f"/{command['name']} {o['name']}" for o in subs}
        else:
            paths.add(f"/{command['name']}")
    return paths


def test_help_lists_the_commands_each_member_can_use(local: Local) -> None:
    member = local.use("help")
    assert only_for(local, member, "regular") == ""
    names = help_entries(member)
    assert names == registered_paths(local, with_admin=False)
    assert "/watchlist add" in names and "/chart" in names

    admin = local.use("help", "admin")
    assert only_for(local, admin, "admin") == ""
    names = help_entries(admin)
    assert names == registered_paths(local, with_admin=True)
    assert "/admin rollback" in names


def test_research_without_an_llm_is_refused_privately(local: Local) -> None:
    shown = local.use("research", ticker="AAPL")
    assert shown.result["response_type"] == 4  # at once, nothing queued
    assert only_for(local, shown, "regular") == (
        "Research is not configured on this bot (an admin must set "
        "CATALYST_LLM_BASE_URL and CATALYST_LLM_MODEL)."
    )
    asked = local.use("ask", "admin", question="What moved today?")
    assert only_for(local, asked, "admin").startswith("Research is not configured")


def test_a_report_shows_the_stored_current_value_not_a_question_mark(
    local: Local, post_report: Any
) -> None:
    """A follow-up report names parameters without their current values: the message shows
    the values the store holds."""
    post_report(report("cv-1", "Defines the parameters"))  # min_score 0.5, max_per_hour 20
    follow_up = {
        "report_id": "cv-2",
        "title": "Follow-up without current values",
        "changes": [
            {"parameter": "cv-1.min_score", "proposed": 0.65},
            {"parameter": "cv-1.max_per_hour", "proposed": 12},
        ],
    }
    message_id = post_report(follow_up)
    embed = local.message(message_id)["embeds"][0]
    assert field(embed, "cv-1.min_score") == "`0.5` → **`0.65`**"
    assert field(embed, "cv-1.max_per_hour") == "`20` → **`12`**"
    assert "?" not in json.dumps(embed["fields"])

    # /admin report shows the same while it is pending.
    shown = local.use("admin report", "admin", report_id="cv-2")
    assert field(shown.embed, "cv-1.min_score") == "`0.5` → **`0.65`**"
