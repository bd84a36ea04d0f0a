"""Effects exactly once: every state-changing handler, run twice through every path, changes
the real database once and answers the second time with the first outcome.

Paths (all through the real edge on loopback, real signatures, the in-process worker and a
fake Discord REST server):

* ``replay`` — the same signed body posted to /interactions twice (409 the second time);
* ``inline-then-handover`` — answered inline, then handed over by the Worker (which never
  got that answer): the job answers with the first outcome and changes nothing;
* ``handover-twice`` — handed over twice (409 the second time);
* ``worker-retry`` — handed over, the first delivery fails (Discord 500) after the effects
  were committed, the worker runs the handler again: nothing changes again, and the retry
  delivers the first outcome.

Each runs on SQLite and on PostgreSQL (a schema of its own); the shared record of
interactions already run or queued is also exercised on Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bot_support import Bot
from test_admin_scope import HANDOVER_SECRET, handover
from test_bot_admin import ADMIN, NIGHTLY, cli
from test_bot_postgres import pg_url  # noqa: F401 - a fixture used by name below

from catalyst_interactions.secret import Secret
from catalyst_interactions.store import ParameterType, Store
from fakes.fake_discord import Reply
from support.discord_rules import answer_problems
from support.signing import command, component, member, modal_submit

pytestmark = pytest.mark.loopback

USER = member("100")
REDIS = "redis://127.0.0.1:6379/0"
REPORT_MESSAGE = {"id": "700", "channel_id": "600", "content": "", "embeds": [], "components": []}


def sub(group: str, name: str, options: list[dict[str, Any]], user: dict[str, Any]) -> Any:
    return command(group, [{"name": name, "type": 1, "options": options}], user=user)


def seed_parameter(bot: Bot) -> None:
    async def seed(store: Store) -> None:
        await store.parameters.define("min_score", ParameterType.FLOAT, 0.5, minimum=0, maximum=1)

    bot.with_store(seed)


def seed_change(bot: Bot) -> None:
    async def seed(store: Store) -> None:
        await store.parameters.define("min_score", ParameterType.FLOAT, 0.5, minimum=0, maximum=1)
        await store.parameters.set("min_score", 0.8, "4242")

    bot.with_store(seed)


def seed_watchlist(*tickers: str) -> Callable[[Bot], None]:
    def seed(bot: Bot) -> None:
        async def add(store: Store) -> None:
            for ticker in tickers:
                await store.watchlists.add("100", ticker, 50)

        bot.with_store(add)

    return seed


@dataclass(frozen=True)
class Case:
    payload: Callable[[], dict[str, Any]]
    ack: str
    setup: Callable[[Bot], None] | None = None
    report: bool = False


EPHEMERAL_ACK = '{"type":5,"data":{"flags":64}}'
UPDATE_ACK = '{"type":6}'
CASES = {
    "admin set": Case(
        lambda: sub(
            "admin",
            "set",
            [
                {"name": "parameter", "type": 3, "value": "min_score"},
                {"name": "value", "type": 3, "value": "0.7"},
            ],
            ADMIN,
        ),
        EPHEMERAL_ACK,
        setup=seed_parameter,
    ),
    "admin rollback": Case(
        lambda: sub("admin", "rollback", [{"name": "change_id", "type": 4, "value": 1}], ADMIN),
        EPHEMERAL_ACK,
        setup=seed_change,
    ),
    "report approve": Case(
        lambda: component("admin:v1:approve:nightly-1", user=ADMIN, message=REPORT_MESSAGE),
        UPDATE_ACK,
        report=True,
    ),
    "report reject": Case(
        lambda: component("admin_reject_nightly-1", user=ADMIN, message=REPORT_MESSAGE),
        UPDATE_ACK,
        report=True,
    ),
    "report custom values": Case(
        lambda: modal_submit(
            "admin:v1:modal:nightly-1",
            {"min_score": "0.7", "max_alerts_per_hour": "12"},
            user=ADMIN,
            message=REPORT_MESSAGE,
        ),
        UPDATE_ACK,
        report=True,
    ),
    "watchlist add": Case(
        lambda: sub("watchlist", "add", [{"name": "ticker", "type": 3, "value": "AAPL"}], USER),
        EPHEMERAL_ACK,
    ),
    "watchlist remove": Case(
        lambda: sub("watchlist", "remove", [{"name": "ticker", "type": 3, "value": "AAPL"}], USER),
        EPHEMERAL_ACK,
        setup=seed_watchlist("AAPL", "MSFT"),
    ),
    "watchlist clear": Case(
        lambda: sub("watchlist", "clear", [], USER),
        EPHEMERAL_ACK,
        setup=seed_watchlist("AAPL", "MSFT"),
    ),
}


def snapshot(bot: Bot) -> dict[str, Any]:
    """Everything a state-changing handler may change, read from the real database."""

    async def read(store: Store) -> dict[str, Any]:
        return {
            "parameters": [(p.name, p.value) for p in await store.parameters.all()],
            "history": [
                (c.id, c.parameter, c.new_value, c.rolled_back)
                for c in await store.parameters.history(limit=1000)
            ],
            "audit": [(e.action, e.actor_id) for e in await store.audit.list(limit=1000)],
            "reports": [(r.report_id, r.status.value) for r in await store.reports.list()],
            "watchlist": [e.ticker for e in await store.watchlists.list("100")],
            "effects": await store.effects.count(),
        }

    return bot.with_store(read)


def shown(data: dict[str, Any]) -> tuple[Any, ...]:
    """What the user sees of a message body (callback data or an edit)."""
    return (data.get("content") or "", data.get("embeds") or [], data.get("components") or [])


def wait_edits(bot: Bot, count: int) -> list[Any]:
    bot.fake.wait_for_requests(count, "edit_original", timeout=20)
    time.sleep(0.2)  # a worker that ran twice would have edited again by now
    return bot.fake.requests_for("edit_original")


def run_path(bot: Bot, path: str, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
    """Deliver the case's interaction twice along ``path``; (state after the first
    delivery, state after the second). Asserts the answers on the way."""
    payload = case.payload()
    if path == "replay":
        body, headers = bot.signer.signed(payload)
        first = bot.client.post("/interactions", content=body, headers=headers)
        assert first.status_code == 200, first.text
        assert answer_problems(first.json(), payload) == []
        after_first = snapshot(bot)
        again = bot.client.post("/interactions", content=body, headers=headers)
        assert again.status_code == 409, again.text
        return after_first, snapshot(bot)
    if path == "inline-then-handover":
        body, headers = bot.signer.signed(payload)
        first = bot.client.post("/interactions", content=body, headers=headers)
        assert first.status_code == 200, first.text
        after_first = snapshot(bot)
        # The Worker never got that answer: it acknowledged Discord and hands the work over.
        handed = handover(bot, payload, ack=case.ack)
        assert handed.status_code == 202, handed.text
        [edit] = wait_edits(bot, 1)
        assert shown(edit.json) == shown(first.json()["data"])  # the first outcome
        return after_first, snapshot(bot)
    if path == "handover-twice":
        handed = handover(bot, payload, ack=case.ack)
        assert handed.status_code == 202, handed.text
        [edit] = wait_edits(bot, 1)
        after_first = snapshot(bot)
        again = handover(bot, payload, ack=case.ack)
        assert again.status_code == 409, again.text
        assert len(wait_edits(bot, 1)) == 1
        return after_first, snapshot(bot)
    assert path == "worker-retry"
    # The effects commit, then delivering the answer fails: the job is retried and the
    # handler runs again — as after a worker crash between the commit and the ack.
    bot.fake.enqueue("edit_original", Reply(500, {"code": 0, "message": "try again"}))
    handed = handover(bot, payload, ack=case.ack)
    assert handed.status_code == 202, handed.text
    failed, delivered = wait_edits(bot, 2)
    assert shown(delivered.json) == shown(failed.json)  # the retry answers as the first run
    after = snapshot(bot)
    return after, after


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
    else:
        yield request.getfixturevalue("pg_url")


PATHS = ["replay", "inline-then-handover", "handover-twice", "worker-retry"]


def start(
    start_bot: Callable[..., Bot],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: Case,
    **overrides: Any,
) -> Bot:
    bot = start_bot(handover_secret=Secret(HANDOVER_SECRET), **overrides)
    if case.report:
        assert cli(bot, tmp_path, monkeypatch, NIGHTLY, "--store-only").exit_code == 0
    if case.setup is not None:
        case.setup(bot)
    return bot


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("handler", list(CASES))
def test_state_changes_happen_once_on_every_path(
    start_bot: Callable[..., Bot],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database: str | None,
    handler: str,
    path: str,
) -> None:
    case = CASES[handler]
    bot = start(start_bot, tmp_path, monkeypatch, case, database_url=database)
    before = snapshot(bot)
    after_first, after_second = run_path(bot, path, case)
    assert after_first != before  # the first run did change something …
    assert after_first["effects"] == before["effects"] + 1
    assert after_second == after_first  # … and the second nothing


@pytest.mark.postgres
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("handler", ["admin set", "report approve", "watchlist add"])
def test_exactly_once_with_the_shared_record_in_redis(
    start_bot: Callable[..., Bot],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pg_url: str,  # noqa: F811 - the fixture
    handler: str,
    path: str,
) -> None:
    case = CASES[handler]
    bot = start(start_bot, tmp_path, monkeypatch, case, database_url=pg_url, redis_url=REDIS)
    before = snapshot(bot)
    after_first, after_second = run_path(bot, path, case)
    assert after_first != before
    assert after_second == after_first


@pytest.mark.parametrize("redis_url", [None, REDIS], ids=["memory", "redis"])
def test_a_cooldown_does_not_refuse_the_interaction_that_started_it(
    start_bot: Callable[..., Bot], redis_url: str | None
) -> None:
    """/check answered inline, then handed over (the Worker never got the answer): the
    cooldown that run started must not refuse the same interaction; a new one is refused."""
    bot = start_bot(
        handover_secret=Secret(HANDOVER_SECRET),
        cooldowns={"*": 0, "check": 60},
        redis_url=redis_url,
    )
    user = member(f"7{time.time_ns() % 10**9}")  # a cooldown of its own, also in Redis
    payload = command("check", [{"name": "ticker", "type": 3, "value": "AAPL"}], user=user)
    body, headers = bot.signer.signed(payload)
    inline = bot.client.post("/interactions", content=body, headers=headers)
    assert inline.status_code == 200 and inline.json()["type"] == 4, inline.text
    handed = handover(bot, payload, ack='{"type":5}')
    assert handed.status_code == 202, handed.text
    [edit] = wait_edits(bot, 1)
    assert "Slow down" not in str(edit.json)
    another = command("check", [{"name": "ticker", "type": 3, "value": "AAPL"}], user=user)
    refused = handover(bot, another, ack='{"type":5}')
    assert refused.status_code == 403
    assert refused.json()["message"].startswith("Slow down: try `/check` again in")


@pytest.mark.fault
def test_a_worker_killed_between_commit_and_ack_does_not_apply_twice(
    bot_settings: Any, signer: Any, fake_discord: Any, tmp_path: Path
) -> None:
    """A real crash: the worker process commits `/admin set`, is SIGKILLed while delivering
    the answer, and a new worker process takes the job over after its lease. The parameter
    changes once, and the new worker delivers the first outcome."""
    import dataclasses
    import os
    import signal
    import subprocess
    import sys

    import httpx

    from catalyst_interactions.app import build_runtime
    from support.servers import serve_in_thread

    settings = dataclasses.replace(bot_settings, handover_secret=Secret(HANDOVER_SECRET))
    edge = build_runtime(settings, workers=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "CATALYST_"))}
    env |= {
        "DISCORD_APPLICATION_ID": fake_discord.application_id,
        "DISCORD_API_BASE": fake_discord.base_url,
        "CATALYST_DATA_DIR": str(tmp_path),
        "CATALYST_ADMIN_USER_IDS": "4242",
        "CATALYST_ADMIN_GUILD_IDS": "500",
        "CATALYST_JOB_LEASE_S": "1",
        "CATALYST_LOG_LEVEL": "warning",
    }

    def spawn() -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "catalyst_interactions", "worker"]
        return subprocess.Popen(argv, env=env, cwd=tmp_path, stderr=subprocess.DEVNULL)

    # The first delivery hangs: the worker has committed and is waiting for Discord.
    fake_discord.enqueue("edit_original", Reply(delay_s=60))
    first = spawn()
    second = None
    try:
        with serve_in_thread(edge.app) as url, httpx.Client(base_url=url, timeout=20) as client:
            deadline = time.monotonic() + 20
            while client.get("/ready").status_code != 200:
                assert time.monotonic() < deadline, "edge not ready"
                time.sleep(0.05)
            bot = Bot(edge, client, signer, fake_discord, tmp_path)
            seed_parameter(bot)
            before = snapshot(bot)
            payload = CASES["admin set"].payload()
            assert handover(bot, payload, ack=EPHEMERAL_ACK).status_code == 202
            fake_discord.wait_for_requests(1, "edit_original", timeout=30)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            after_crash = snapshot(bot)
            assert after_crash != before and after_crash["effects"] == 1
            second = spawn()
            failed, delivered = wait_edits(bot, 2)
            assert shown(delivered.json) == shown(failed.json)
            assert content_of(delivered.json).startswith("Set `min_score`: `0.5` → `0.7`")
            assert snapshot(bot) == after_crash  # the second worker changed nothing
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def content_of(data: dict[str, Any]) -> str:
    return str(data.get("content") or "")
