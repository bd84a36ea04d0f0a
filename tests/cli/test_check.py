"""`catalyst-interactions check` and `/ready`: the same probes reach every configured resource;
start-up refuses what is missing or malformed before anything runs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from nacl.signing import SigningKey

from catalyst_interactions.app import build_runtime
from catalyst_interactions.cli import main
from catalyst_interactions.settings import Settings
from support.llm_server import ChatServer
from support.servers import free_port, serve_in_thread

pytestmark = pytest.mark.loopback

NAMES = ["packages", "database", "queue", "redis", "chart store", "llm", "market", "discord"]


def check(tmp_path: Path, **env: str) -> tuple[int, dict[str, str]]:
    """Run `check` with only ``env`` configured (no stray .env); its lines by resource."""
    env_file = tmp_path / "check.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    result = CliRunner().invoke(
        main,
        ["check", "--env-file", str(env_file)],
        env={"CATALYST_DATA_DIR": str(tmp_path / "data")},
    )
    lines = result.output.splitlines()
    by_name = {}
    for line in lines:
        status, rest = line[:4].strip(), line[6:]
        name = next(n for n in NAMES if rest.startswith(n))
        by_name[name] = f"{status} {rest[len(name) :].strip()}"
    assert len(lines) == len(NAMES), result.output  # one line per resource
    return result.exit_code, by_name


def test_the_embedded_defaults_are_all_reachable(tmp_path: Path) -> None:
    code, lines = check(tmp_path)
    assert code == 0, lines
    assert lines["database"].startswith("ok sqlite (default)")
    assert lines["queue"].startswith("ok sqlite (default)")
    assert lines["chart store"].endswith("directory writable")
    assert (tmp_path / "data" / "charts").is_dir()
    assert lines["redis"] == "ok not configured: not configured (optional)"
    assert lines["market"] == "ok demo: simulated prices, nothing to reach"


@pytest.fixture
def llm() -> Iterator[tuple[ChatServer, str]]:
    server = ChatServer()
    with serve_in_thread(server) as url:
        yield server, url + "/v1"


def test_unreachable_resources_fail_with_their_secrets_masked(
    tmp_path: Path, llm: tuple[ChatServer, str]
) -> None:
    closed = free_port()  # nothing listens there
    server, url = llm
    server.status = 401
    code, lines = check(
        tmp_path,
        CATALYST_REDIS_URL=f"redis://:redis-pass-123@127.0.0.1:{closed}/0",
        CATALYST_STATE_SECRET="s" * 32,
        CATALYST_DATABASE_URL=f"postgresql://bot:pg-pass-456@127.0.0.1:{closed}/catalyst",
        CATALYST_LLM_BASE_URL=url,
        CATALYST_LLM_MODEL="test-model",
        CATALYST_LLM_API_KEY="sk-llm-key-789",
    )
    assert code == 1
    text = json.dumps(lines)
    for secret in ("redis-pass-123", "pg-pass-456", "sk-llm-key-789"):
        assert secret not in text
    assert lines["redis"].startswith(f"FAIL redis://:********@127.0.0.1:{closed}/0: ")
    assert lines["database"].startswith(f"FAIL postgresql://bot:********@127.0.0.1:{closed}/")
    assert lines["llm"].endswith("the API key was refused (HTTP 401)")
    assert server.headers[-1]["authorization"] == "Bearer sk-llm-key-789"  # it was really sent
    assert lines["queue"].startswith("ok ")  # the others still report on their own


@pytest.mark.redis
@pytest.mark.postgres
def test_real_redis_postgres_and_llm_are_reported_reachable(
    tmp_path: Path, llm: tuple[ChatServer, str]
) -> None:
    _, url = llm
    code, lines = check(
        tmp_path,
        CATALYST_REDIS_URL="redis://127.0.0.1:6379/0",
        CATALYST_STATE_SECRET="s" * 32,
        CATALYST_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test",
        CATALYST_LLM_BASE_URL=url,
        CATALYST_LLM_MODEL="test-model",
    )
    assert code == 0, lines
    assert lines["redis"].endswith("answers PING")
    assert lines["database"].endswith("answers")
    assert "model test-model" in lines["llm"]


def test_ready_runs_the_same_probes(tmp_path: Path) -> None:
    """An unreachable Redis makes /ready 503 and names it; `check` names it the same way."""
    closed = free_port()
    settings = Settings(
        public_key_hex=SigningKey.generate().verify_key.encode().hex(),
        application_id="1",
        admin_user_ids=frozenset({"2"}),
        data_dir=tmp_path,
        redis_url=f"redis://127.0.0.1:{closed}/0",
    )
    runtime = build_runtime(settings, workers=False)
    failing: list[str] = []
    with serve_in_thread(runtime.app) as base:
        # The first answers may also name the database, still being created and migrated.
        deadline = time.monotonic() + 60
        while failing != ["redis"] and time.monotonic() < deadline:
            response = httpx.get(f"{base}/ready", timeout=15)
            assert response.status_code == 503
            failing = response.json()["failing"]
            time.sleep(0.5)
    assert failing == ["redis"]


def test_bad_resource_settings_stop_serve_before_it_starts(tmp_path: Path) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_text(
        f"DISCORD_PUBLIC_KEY={SigningKey.generate().verify_key.encode().hex()}\n"
        "DISCORD_APPLICATION_ID=1\n"
        "CATALYST_CHART_STORE_URL=/srv/charts\n"
        "CATALYST_MARKET_PROVIDER=polygon\n"
        "CATALYST_QUEUE_URL=amqp://mq/\n"
    )
    result = CliRunner().invoke(main, ["serve", "--env-file", str(env_file)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: CATALYST_QUEUE_URL must start with sqlite:// or redis:// or rediss:// or unix://",
        "error: CATALYST_CHART_STORE_URL must look like s3://bucket/prefix",
        "error: CATALYST_MARKET_PROVIDER=polygon needs POLYGON_API_KEY",
    ]
    env_file.write_text(env_file.read_text().replace("amqp://mq/", "").replace("/srv/", "s3://b/"))
    result = CliRunner().invoke(main, ["serve", "--env-file", str(env_file)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: CATALYST_MARKET_PROVIDER=polygon needs POLYGON_API_KEY",
        "error: an s3:// chart store needs CATALYST_S3_ACCESS_KEY and CATALYST_S3_SECRET_KEY",
    ]


def test_a_worker_refuses_an_unusable_database_url_before_it_starts(tmp_path: Path) -> None:
    env_file = tmp_path / "worker.env"
    env_file.write_text(
        "DISCORD_APPLICATION_ID=1\nCATALYST_ADMIN_USER_IDS=2\n"
        "CATALYST_DATABASE_URL=sqlite://\n"  # in-memory: each connection its own database
    )
    result = CliRunner().invoke(
        main, ["worker", "--env-file", str(env_file)], env={"CATALYST_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: CATALYST_DATABASE_URL: in-memory SQLite is not supported: give a file path"
    ]
