"""Seeded fuzzing of the real bot over real HTTP on loopback, with real signatures.

The bot (edge, hand-over route, recorder, in-process workers, SQLite, demo market data) runs
in a uvicorn thread, delivering to a fake Discord. Thousands of cases are mutations of a real
interaction for every registered command, autocompleted option, component and modal, plus
odd HTTP (bench/_hostile.py says which). Every answer must be below 500, arrive in bounded
time, be a short JSON error or a reply within Discord's limits; every message the workers
send to Discord must be within the limits too; nothing may log a traceback.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from nacl.signing import SigningKey

from catalyst_interactions.app import Runtime, build_runtime
from catalyst_interactions.bot import build_registry
from catalyst_interactions.ops.admin_cli import admin_group
from catalyst_interactions.secret import Secret
from catalyst_interactions.settings import Settings
from fakes.fake_discord import FakeDiscord
from support.discord_rules import channel_message_problems, webhook_message_problems
from support.servers import serve_in_thread

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from _hostile import Case, Mutator, RawClient, Tally, check, seeds  # noqa: E402

pytestmark = pytest.mark.loopback

ADMIN_ID = "4242"
HANDOVER_SECRET = "hand-over-secret-for-the-fuzz-suite-0123456789"
REPORT = {
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
}
CASES = 3000
SLOW_S = 5.0  # generous: the machine is shared; the benchmark reports the real spread


class TracebackCatcher(logging.Handler):
    """Keeps every record that carries a traceback, and counts the rest."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.with_traceback: list[logging.LogRecord] = []
        self.lines = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.lines += 1
        if record.exc_info or record.exc_text or record.stack_info:
            self.with_traceback.append(record)


@dataclass
class FuzzedBot:
    runtime: Runtime
    client: RawClient
    key: SigningKey
    fake: FakeDiscord
    record_path: Path
    logs: TracebackCatcher


def _post_report(settings: Settings, fake: FakeDiscord, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(REPORT))
    env = {
        "DISCORD_API_BASE": fake.base_url,
        "DISCORD_APPLICATION_ID": fake.application_id,
        "CATALYST_DATA_DIR": str(settings.data_dir),
        "CATALYST_DATABASE_URL": "",
    }
    result = CliRunner().invoke(admin_group, ["post-report", str(path), "--store-only"], env=env)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzedBot]:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    key = SigningKey(b"\x07" * 32)
    logs = TracebackCatcher()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(logs)
    root.setLevel(logging.INFO)
    with FakeDiscord(bot_token="bot-token-for-fuzz") as fake:
        settings = Settings(
            public_key_hex=key.verify_key.encode().hex(),
            application_id=fake.application_id,
            api_base=fake.base_url,
            bot_token=Secret("bot-token-for-fuzz"),
            data_dir=tmp_path / "data",
            market_provider="demo",
            admin_user_ids=frozenset({ADMIN_ID}),
            handover_secret=Secret(HANDOVER_SECRET),
            record_path=tmp_path / "record.jsonl",
            worker_concurrency=2,
            job_retry_base_s=0.05,
        )
        settings.data_dir.mkdir()
        _post_report(settings, fake, tmp_path)
        runtime = build_runtime(settings)
        with serve_in_thread(runtime.app) as url:
            host, port = url.removeprefix("http://").split(":")
            client = RawClient(host, int(port))
            try:
                yield FuzzedBot(runtime, client, key, fake, settings.record_path, logs)
            finally:
                client.close()
    root.removeHandler(logs)
    root.setLevel(old_level)


def _mutator(bot: FuzzedBot, seed: int, *, admin: bool) -> Mutator:
    corpus = seeds(
        build_registry(),
        application_id=bot.fake.application_id,
        user_id=ADMIN_ID if admin else "5151",
        admin=admin,
        report_id="nightly-1",
    )
    return Mutator(corpus, bot.key, random.Random(seed), handover_secret=HANDOVER_SECRET.encode())


def test_every_handler_has_a_seed_and_the_seeds_are_answered(bot: FuzzedBot) -> None:
    """The corpus covers the registry, and each unmutated seed gets a 200 within limits."""
    mutator = _mutator(bot, 0, admin=True)
    keys = {s.key.split("/")[0] for s in mutator.seeds}
    assert keys == {spec.key for spec in build_registry().handlers()}
    assert {s.kind for s in mutator.seeds} == {"command", "autocomplete", "component", "modal"}
    tally = Tally()
    for seed in mutator.seeds:
        payload = seed.payload | {"id": mutator.new_id()}
        body = json.dumps(payload).encode()
        headers = mutator.signed_headers(body)
        case = Case(f"seed {seed.key}", b"POST", b"/interactions", headers, body)
        answer = bot.client.send(case)
        check(case, answer, tally, slow_s=SLOW_S)
        assert answer.status == 200, (seed.key, answer.status, answer.body[:300])
    assert tally.problems() == []


def _wait_for_workers(bot: FuzzedBot, timeout_s: float) -> None:
    """Until the queue is empty and the fake Discord has heard nothing new for a second."""
    deadline = time.monotonic() + timeout_s
    seen, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(bot.fake.requests)
        if count != seen:
            seen, quiet_since = count, time.monotonic()
        elif time.monotonic() - quiet_since > 1.5 and _queue_depth(bot) == 0:
            return
        time.sleep(0.2)


def _queue_depth(bot: FuzzedBot) -> int:
    answer = bot.client.send(Case("metrics", b"GET", b"/metrics", [], b""))
    for line in answer.body.decode().splitlines():
        if line.startswith("catalyst_queue_pending_jobs "):
            return int(float(line.split()[1]))
    return 0


@pytest.mark.parametrize(("seed", "admin"), [(1, True), (2, False)])
def test_fuzz_no_5xx_replies_within_limits(bot: FuzzedBot, seed: int, admin: bool) -> None:
    mutator = _mutator(bot, seed, admin=admin)
    before = len(bot.fake.requests)
    tally = Tally()
    for _ in range(CASES // 2):
        case = mutator.case()
        check(case, bot.client.send(case), tally, slow_s=SLOW_S)
    assert tally.cases == CASES // 2
    assert tally.problems() == [], "\n".join(tally.problems()[:20])
    # The cases reached every layer: refusals, decode errors and real answers all occur.
    for status in (200, 400, 401):
        assert tally.by_status.get(status, 0) > 20, tally.by_status
    _wait_for_workers(bot, timeout_s=90)
    sent = bot.fake.requests[before:]
    assert sent, "no deferred work reached the fake Discord"
    for request in sent:
        if request.method in ("POST", "PATCH") and request.body:
            body: Any = request.json if not request.parts else json.loads(request.parts[0].data)
            edit = request.method == "PATCH"
            problems = (
                channel_message_problems(body)
                if request.path.startswith("/channels/")
                else webhook_message_problems(body, edit=edit)
            )
            assert problems == [], (request.method, request.path.split("/")[1], problems)
    tracebacks = [
        f"{r.name}: {r.getMessage()} {getattr(r, 'interaction_id', '')}\n"
        + "\n".join(
            line
            for line in logging.Formatter().formatException(r.exc_info).splitlines()
            if "/bot/" in line or "Error" in line
        )
        for r in bot.logs.with_traceback
        if r.exc_info
    ]
    assert tracebacks == [], "\n\n".join(sorted({t.split("\n", 1)[1] for t in tracebacks}))
    # The recorder saw the same bodies: whole JSON lines, tokens redacted.
    lines = bot.record_path.read_bytes().splitlines()
    assert len(lines) > 100
    for line in lines:
        assert json.loads(line)["interaction"].get("token", "REDACTED") == "REDACTED"
