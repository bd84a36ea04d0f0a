"""POST /handover: only an authenticated hand-over of a genuine Discord request enqueues work."""

from __future__ import annotations

import json
import time

import pytest

from catalyst_interactions.discord.messages import Message
from catalyst_interactions.edge.handover import handover_signature
from catalyst_interactions.framework.errors import CheckFailure
from catalyst_interactions.framework.modes import Mode
from catalyst_interactions.framework.registry import Registry
from catalyst_interactions.secret import Secret
from fakes.fake_discord import FakeDiscord
from support.signing import command, member

from .test_deferred_flow import registry

pytestmark = pytest.mark.loopback
SECRET = "h" * 40


def handover(
    hybrid,
    payload,
    *,
    ack: str = '{"type":5}',
    secret: str = SECRET,
    hop_ts: int | None = None,
    discord_ts: int | None = None,
):
    body, headers = hybrid.signer.signed(payload, timestamp=discord_ts)
    ts = str(int(time.time()) if hop_ts is None else hop_ts)
    headers |= {
        "X-Catalyst-Ack": ack,
        "X-Catalyst-Handover-Timestamp": ts,
        "X-Catalyst-Handover-Signature": handover_signature(secret.encode(), ts, ack, body),
    }
    return hybrid.client.post("/handover", content=body, headers=headers)


def render(ticker: str) -> dict[str, object]:
    return command("render", [{"name": "ticker", "type": 3, "value": ticker}])


def test_authentic_handover_is_enqueued_once_and_delivered(
    start_hybrid,
    fake_discord: FakeDiscord,
) -> None:
    hybrid = start_hybrid(registry(), handover_secret=Secret(SECRET))
    payload = render("QQQ")
    first = handover(hybrid, payload)
    assert first.status_code == 202 and first.json() == {"status": "enqueued"}
    assert handover(hybrid, payload).status_code == 409  # a retried hand-over runs nothing twice
    fake_discord.wait_for_requests(1, "edit_original")
    parts = {p.name: p for p in fake_discord.requests_for("edit_original")[0].parts}
    assert json.loads(parts["payload_json"].data)["embeds"][0]["title"] == "QQQ"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"secret": "x" * 40}, 401),  # forged: wrong shared secret
        ({"hop_ts": int(time.time()) - 600}, 401),  # stale hand-over
        ({"discord_ts": int(time.time()) - 3600}, 401),  # stale Discord signature
        ({"ack": '{"type":4}'}, 400),
    ],  # not an acknowledgement
    ids=["forged", "stale-hop", "stale-discord", "bad-ack"],
)
def test_invalid_handovers_are_refused_and_enqueue_nothing(
    start_hybrid,
    fake_discord: FakeDiscord,
    kwargs,
    status,
) -> None:
    hybrid = start_hybrid(registry(), handover_secret=Secret(SECRET))
    response = handover(hybrid, render("IWM"), **kwargs)
    assert response.status_code == status
    assert "error" in response.json()
    queue = hybrid.runtime.queue
    import asyncio

    assert asyncio.run(queue.depth()) == 0


def test_tampered_body_fails_discords_signature(start_hybrid) -> None:
    hybrid = start_hybrid(registry(), handover_secret=Secret(SECRET))
    body, headers = hybrid.signer.signed(render("DIA"))
    body = body.replace(b"DIA", b"XYZ")
    ts = str(int(time.time()))
    headers |= {
        "X-Catalyst-Ack": '{"type":5}',
        "X-Catalyst-Handover-Timestamp": ts,
        "X-Catalyst-Handover-Signature": handover_signature(
            SECRET.encode(), ts, '{"type":5}', body
        ),
    }
    assert hybrid.client.post("/handover", content=body, headers=headers).status_code == 401


def test_without_a_secret_there_is_no_handover_route(start_hybrid) -> None:
    hybrid = start_hybrid(registry())
    assert handover(hybrid, render("GLD")).status_code == 404


def test_ephemeral_ack_is_accepted_whatever_the_key_order(start_hybrid, fake_discord) -> None:
    # JavaScript's JSON.stringify of the manifest's sorted ack puts "data" before "type".
    hybrid = start_hybrid(registry(), handover_secret=Secret(SECRET))
    response = handover(hybrid, render("EFA"), ack='{"data":{"flags":64},"type":5}')
    assert response.status_code == 202


def test_checks_run_on_handed_over_work_and_refusals_come_back_for_the_user(
    start_hybrid, fake_discord
) -> None:
    ran: list[str] = []

    async def admins_only(ctx) -> None:
        if not ctx.is_admin:
            raise CheckFailure("Only Catalyst admins can do that.")

    reg = Registry()

    @reg.command("approve", "Admins only", mode=Mode.DEFERRED, checks=(admins_only,))
    async def approve(ctx) -> Message:
        ran.append(ctx.user.id)
        return Message(content="approved")

    hybrid = start_hybrid(reg, handover_secret=Secret(SECRET), admin_guild_ids=frozenset({"500"}))
    refused = handover(hybrid, command("approve", user=member("2")))
    assert refused.status_code == 403
    assert refused.json() == {"error": "refused", "message": "Only Catalyst admins can do that."}
    admin = handover(hybrid, command("approve", user=member("3", permissions=8)))
    assert admin.status_code == 202
    fake_discord.wait_for_requests(1, "edit_original")
    assert ran == ["3"]


def test_handover_respects_the_members_share_of_the_queue(
    start_hybrid,
    fake_discord: FakeDiscord,
) -> None:
    """Work handed over by the Worker counts against the member's job cap like work from our
    own edge; the refusal is the message the Worker shows in place of its "thinking…"."""
    import asyncio
    import threading

    release = threading.Event()
    reg = Registry()

    @reg.command("hold", "Waits until released", mode=Mode.DEFERRED)
    async def hold(ctx) -> Message:
        await asyncio.to_thread(release.wait, 20)
        return Message(content="released")

    hybrid = start_hybrid(reg, handover_secret=Secret(SECRET), jobs_per_user=1)
    try:
        assert handover(hybrid, command("hold", user=member("31"))).status_code == 202
        refused = handover(hybrid, command("hold", user=member("31")))
        assert refused.status_code == 403
        assert refused.json() == {
            "error": "refused",
            "message": "Slow down: you already have 1 request in progress. "
            "Wait for one to finish, then try again.",
        }
        assert handover(hybrid, command("hold", user=member("32"))).status_code == 202
    finally:
        release.set()
    fake_discord.wait_for_requests(2, "edit_original")
