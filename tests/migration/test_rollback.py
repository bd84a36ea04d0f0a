"""Rollback is one command: `catalyst-interactions endpoint URL`, against the fake Discord."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from catalyst_interactions.cli import main
from fakes.fake_discord import FakeDiscord

pytestmark = pytest.mark.loopback

BOT_TOKEN = "bot-token-for-the-rollback-test"
OLD = "https://old-server.example.org/interactions"
WORKER = "https://catalyst-interactions.example.workers.dev/interactions"


def endpoint(fake: FakeDiscord, url: str) -> tuple[int, str]:
    env = {
        "DISCORD_API_BASE": fake.base_url,
        "DISCORD_APPLICATION_ID": fake.application_id,
        "DISCORD_BOT_TOKEN": BOT_TOKEN,
    }
    result = CliRunner().invoke(main, ["endpoint", url], env=env)
    return result.exit_code, result.output


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray .env
    with FakeDiscord(bot_token=BOT_TOKEN) as fake:
        yield fake


def test_switch_to_the_worker_then_roll_back_to_the_old_server(fake: FakeDiscord) -> None:
    fake.application["interactions_endpoint_url"] = OLD
    code, output = endpoint(fake, WORKER)
    assert code == 0 and f"{OLD} -> {WORKER}" in output
    assert fake.application["interactions_endpoint_url"] == WORKER

    code, output = endpoint(fake, OLD)  # the rollback
    assert code == 0 and f"{WORKER} -> {OLD}" in output
    assert fake.application["interactions_endpoint_url"] == OLD
    edits = fake.requests_for("edit_application")
    assert [e.json for e in edits] == [
        {"interactions_endpoint_url": WORKER},
        {"interactions_endpoint_url": OLD},
    ]
    assert all(e.headers["authorization"] == f"Bot {BOT_TOKEN}" for e in edits)
    assert len(fake.requests_for("get_application")) == 2


def test_a_malformed_url_changes_nothing(fake: FakeDiscord) -> None:
    fake.application["interactions_endpoint_url"] = WORKER
    code, output = endpoint(fake, "old-server.example.org")
    assert code == 2 and "is not an http(s) URL" in output
    assert fake.requests == []
    assert fake.application["interactions_endpoint_url"] == WORKER
