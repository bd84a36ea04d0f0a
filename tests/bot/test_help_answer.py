"""/help is on the edge's hot path (docs/performance.md, "Edge throughput"): its answer is
built and encoded once per registry and audience, not per request. These tests fail when a
request rebuilds the help text or re-encodes the answer, without timing anything."""

from __future__ import annotations

import json
from pathlib import Path

from catalyst_interactions.app import build_resources
from catalyst_interactions.bot import build_registry
from catalyst_interactions.discord.enums import Permissions
from catalyst_interactions.discord.payloads import decode_interaction
from catalyst_interactions.framework.context import AccessPolicy
from catalyst_interactions.framework.dispatch import Dispatcher, Respond
from catalyst_interactions.settings import Settings
from support.signing import command, member

HOME_GUILD = "500"  # the guild of every test interaction (support.signing)


async def _help(dispatcher: Dispatcher, who: dict[str, object]) -> Respond:
    body = json.dumps(command("help", user=who)).encode()
    outcome = await dispatcher.handle(decode_interaction(body))
    assert isinstance(outcome, Respond)
    assert outcome.outcome == "ok" and outcome.encoded is not None
    return outcome


def _field_names(answer: Respond) -> list[str]:
    assert answer.encoded is not None
    body = json.loads(answer.encoded)
    assert body["type"] == 4 and body["data"]["flags"] & 64  # an ephemeral message
    return [field["name"] for embed in body["data"]["embeds"] for field in embed["fields"]]


async def test_help_answer_is_built_and_encoded_once_per_audience(tmp_path: Path) -> None:
    resources = build_resources(Settings(data_dir=tmp_path), workers=False)
    dispatcher = Dispatcher(
        build_registry(),
        resources=resources,
        access=AccessPolicy(admin_guild_ids=frozenset({HOME_GUILD})),
    )
    admin = member("1", permissions=int(Permissions.ADMINISTRATOR))

    first = await _help(dispatcher, member("2"))
    again = await _help(dispatcher, member("3"))  # another member, another interaction
    admin_first = await _help(dispatcher, admin)
    admin_again = await _help(dispatcher, admin)

    # The very same bytes object: nothing was rebuilt or encoded again.
    assert again.encoded is first.encoded
    assert admin_again.encoded is admin_first.encoded
    # Two audiences, two answers: the cache never hands one member's answer to another.
    assert admin_first.encoded != first.encoded
    members_view, admins_view = _field_names(first), _field_names(admin_first)
    assert "/help" in members_view and "/help" in admins_view
    assert not any(name.startswith("/admin") for name in members_view)
    assert any(name.startswith("/admin") for name in admins_view)
    await resources.aclose()
