"""Admin scope, path by path, through the real edge on loopback with real signatures.

Administrator and admin roles count only inside a home server (CATALYST_ADMIN_GUILD_IDS;
the tests' home is guild 500); listed admin user ids count everywhere, DMs included. Every
admin path refuses an outsider with the same ephemeral message, on /interactions and on
/handover alike, and changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bot_support import Bot, content, is_ephemeral
from test_bot_admin import NIGHTLY, REFUSAL, audit, cli, param

from catalyst_interactions.edge.handover import handover_signature
from catalyst_interactions.secret import Secret
from conftest import ADMIN_ID, ADMIN_ROLE, HOME_GUILD
from support.signing import command, component, member, modal_submit

pytestmark = pytest.mark.loopback

FOREIGN_GUILD = "999"
HANDOVER_SECRET = "s" * 40


def in_guild(payload: dict[str, Any], guild: str) -> dict[str, Any]:
    return payload | {"guild_id": guild}


def in_dm(payload: dict[str, Any], user_id: str) -> dict[str, Any]:
    """The same interaction sent from a DM: no guild, no member, a bare user."""
    out = {k: v for k, v in payload.items() if k not in ("guild_id", "member")}
    return out | {"user": {"id": user_id, "username": "dm-user"}}


def admin_paths(user: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every admin path: each subcommand, each button (new and legacy ids), each form."""

    def sub(name: str, options: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return command("admin", [{"name": name, "type": 1, "options": options or []}], user=user)

    return {
        "/admin set": sub(
            "set",
            [
                {"name": "parameter", "type": 3, "value": "min_score"},
                {"name": "value", "type": 3, "value": "0.9"},
            ],
        ),
        "/admin rollback": sub("rollback", [{"name": "change_id", "type": 4, "value": 1}]),
        "/admin report": sub("report"),
        "/admin history": sub("history"),
        "/admin stats": sub("stats"),
        "approve": component("admin:v1:approve:nightly-1", user=user),
        "reject": component("admin:v1:reject:nightly-1", user=user),
        "details": component("admin:v1:details:nightly-1", user=user),
        "custom": component("admin:v1:custom:nightly-1", user=user),
        "legacy approve": component("admin_approve_nightly-1", user=user),
        "legacy reject": component("admin_reject_nightly-1", user=user),
        "legacy details": component("admin_details_nightly-1", user=user),
        "legacy custom": component("admin_custom_nightly-1", user=user),
        "form": modal_submit("admin:v1:modal:nightly-1", {"min_score": "0.9"}, user=user),
        "legacy form": modal_submit("admin_modal_nightly-1", {"min_score": "0.9"}, user=user),
    }


def autocompletes(user: dict[str, Any]) -> list[dict[str, Any]]:
    def focused(sub: str, option: str) -> dict[str, Any]:
        opts = [{"name": option, "type": 3, "value": "", "focused": True}]
        return command("admin", [{"name": sub, "type": 1, "options": opts}], user=user, type_=4)

    return [
        focused("set", "parameter"),
        focused("history", "parameter"),
        focused("report", "report_id"),
    ]


OUTSIDERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    # Anyone can add the bot to a server of their own and be its Administrator there.
    "administrator-elsewhere": lambda p: in_guild(p, FOREIGN_GUILD),
    # A role with the admin role's id means nothing in another server either.
    "admin-role-elsewhere": lambda p: in_guild(p, FOREIGN_GUILD),
    # A DM carries no guild permissions at all.
    "stranger-in-dm": lambda p: in_dm(p, "100"),
    # In the home server, a member without Administrator or the role.
    "member-at-home": lambda p: p,
}
OUTSIDER_MEMBER = {
    "administrator-elsewhere": member("100", permissions=8),
    "admin-role-elsewhere": member("100", roles=(ADMIN_ROLE,)),
    "stranger-in-dm": member("100"),
    "member-at-home": member("100", permissions=0x20),
}


def handover(bot: Bot, payload: dict[str, Any], ack: str | None = None) -> Any:
    """POST /handover as the Worker does: Discord's signature and our hand-over HMAC."""
    body, headers = bot.signer.signed(payload)
    if ack is None:
        ack = '{"type":6}' if payload["type"] in (3, 5) else '{"type":5}'
    ts = str(int(time.time()))
    headers |= {
        "X-Catalyst-Ack": ack,
        "X-Catalyst-Handover-Timestamp": ts,
        "X-Catalyst-Handover-Signature": handover_signature(
            HANDOVER_SECRET.encode(), ts, ack, body
        ),
    }
    return bot.client.post("/handover", content=body, headers=headers)


@pytest.mark.parametrize("outsider", list(OUTSIDERS))
def test_every_admin_path_refuses_outsiders_with_one_message(
    start_bot: Callable[..., Bot],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    outsider: str,
) -> None:
    bot = start_bot(handover_secret=Secret(HANDOVER_SECRET))
    assert cli(bot, tmp_path, monkeypatch, NIGHTLY, "--store-only").exit_code == 0
    shape = OUTSIDERS[outsider]
    paths = admin_paths(OUTSIDER_MEMBER[outsider])
    for name, payload in paths.items():
        answer = bot.send(shape(payload))
        assert answer["type"] == 4 and is_ephemeral(answer), name
        assert content(answer) == REFUSAL, name
        # The Worker's hand-over runs the same checks: the same text, shown by the Worker.
        handed = handover(bot, shape(payload))
        assert handed.status_code == 403, (name, handed.text)
        assert handed.json() == {"error": "refused", "message": REFUSAL}, name
    for payload in autocompletes(OUTSIDER_MEMBER[outsider]):
        choices = bot.send(shape(payload))["data"]["choices"]
        assert choices == [{"name": REFUSAL, "value": "-"}]
    # Nothing changed, and each refusal was audited once per interaction, although each
    # interaction arrived twice (inline, then handed over): the id keys the audit row too.
    assert param(bot, "min_score") == 0.5
    assert bot.with_store(lambda s: s.reports.get("nightly-1")).status.value == "pending"
    refused = audit(bot, "admin.refused")
    assert len(refused) == len(paths)
    assert all(e.actor_id == "100" and not e.allowed for e in refused)


@pytest.mark.parametrize(
    ("who", "shape"),
    [
        (member("301", permissions=8), lambda p: in_guild(p, HOME_GUILD)),
        (member("302", roles=(ADMIN_ROLE,)), lambda p: in_guild(p, HOME_GUILD)),
        (member(ADMIN_ID), lambda p: in_guild(p, FOREIGN_GUILD)),  # listed ids: anywhere
        (member(ADMIN_ID), lambda p: in_dm(p, ADMIN_ID)),  # … DMs included
    ],
    ids=["administrator-at-home", "role-at-home", "listed-id-elsewhere", "listed-id-in-dm"],
)
def test_admins_pass_where_their_right_counts(
    start_bot: Callable[..., Bot],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    who: dict[str, Any],
    shape: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    bot = start_bot()
    assert cli(bot, tmp_path, monkeypatch, NIGHTLY, "--store-only").exit_code == 0
    done = bot.send(shape(admin_paths(who)["/admin set"]))
    assert content(done).startswith("Set `min_score`: `0.5` → `0.9`"), content(done)
    names = bot.send(shape(autocompletes(who)[0]))["data"]["choices"]
    assert [c["value"] for c in names] == ["max_alerts_per_hour", "min_score"]
    approved = bot.send(shape(admin_paths(who)["approve"]))
    assert approved["type"] == 7, json.dumps(approved)
    assert audit(bot, "admin.refused") == []
