"""Followup notices: posted at most once, and not lost when Discord provably refused one."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from catalyst_interactions.discord.payloads import decode_interaction
from catalyst_interactions.discord.rest import RateLimited, ServerError
from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.jobs import Job
from catalyst_interactions.jobs.delivery import Deliverer
from catalyst_interactions.jobs.ledger import DeliveryLedger, RedisLedger, SqliteLedger


class ScriptedRest:
    """Answers create_followup with the scripted errors, then succeeds; counts what landed."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.posted: list[dict[str, Any]] = []

    async def create_followup(self, token: str, payload: dict[str, Any], **kw: Any) -> dict:
        if self.errors:
            raise self.errors.pop(0)
        self.posted.append(payload)
        return {"id": "1"}


def job() -> tuple[Job, Any]:
    interaction_id = make_snowflake(int(time.time() * 1000))
    body = json.dumps(
        {
            "id": interaction_id,
            "application_id": "1",
            "type": 3,
            "token": "t",
            "data": {"custom_id": "x", "component_type": 2},
        }
    ).encode()
    return Job.for_interaction(interaction_id, "component:x", body, ack_type=6), decode_interaction(
        body
    )


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def ledger(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    made: DeliveryLedger
    if request.param == "sqlite":
        made = SqliteLedger(tmp_path / "ledger.db")
    else:
        made = RedisLedger.from_url(
            "redis://127.0.0.1:6379/0", prefix=f"test:ledger:{uuid.uuid4().hex}:"
        )
    yield made
    await made.close()


async def test_refused_notice_is_posted_by_the_retry(ledger: DeliveryLedger) -> None:
    rest = ScriptedRest(
        RateLimited(
            429, 0, "slow down", "POST followup", retry_after=0.1, scope="user", is_global=False
        )
    )
    deliverer = Deliverer(rest, ledger)  # type: ignore[arg-type]
    the_job, interaction = job()
    with pytest.raises(RateLimited):
        await deliverer.notice(the_job, interaction, "hello")
    await deliverer.notice(the_job, interaction, "hello")  # the job's retry
    await deliverer.notice(the_job, interaction, "hello")  # and a later replay: nothing
    assert [p["content"] for p in rest.posted] == ["hello"]


async def test_notice_that_may_have_landed_is_never_posted_again(ledger: DeliveryLedger) -> None:
    rest = ScriptedRest(ServerError(502, 0, "Bad Gateway", "POST followup"))
    deliverer = Deliverer(rest, ledger)  # type: ignore[arg-type]
    the_job, interaction = job()
    with pytest.raises(ServerError):
        await deliverer.notice(the_job, interaction, "hello")
    await deliverer.notice(the_job, interaction, "hello")
    assert rest.posted == []  # at most once: a 502 may mean it was posted
