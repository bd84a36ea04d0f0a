"""The command line as users run it: real processes, real exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey

from fakes.fake_discord import FakeDiscord
from support.servers import free_port
from support.signing import Signer, ping

CLI = [sys.executable, "-m", "catalyst_interactions"]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "CATALYST_"))}
    return subprocess.run(
        [*CLI, *args],
        env=base | (env or {}),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "error: DISCORD_PUBLIC_KEY is not set"),
        ("abc", "error: DISCORD_PUBLIC_KEY must be 64 hexadecimal characters (32 bytes); got 3"),
    ],
)
def test_serve_refuses_to_start_without_a_valid_key(
    tmp_path: Path, key: str | None, message: str
) -> None:
    env = {"CATALYST_DATA_DIR": str(tmp_path)} | ({"DISCORD_PUBLIC_KEY": key} if key else {})
    result = run("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.startswith(message)


@pytest.mark.parametrize(
    ("admin_env", "message"),
    [
        ({}, "error: CATALYST_ADMIN_GUILD_IDS is not set: admin commands need the bot's home"),
        (
            {"CATALYST_ADMIN_ROLE_IDS": "77", "CATALYST_ADMIN_USER_IDS": "1"},
            "error: CATALYST_ADMIN_ROLE_IDS needs CATALYST_ADMIN_GUILD_IDS",
        ),
    ],
    ids=["nothing", "roles-without-home"],
)
def test_serve_refuses_admin_commands_without_a_home_server(
    tmp_path: Path, admin_env: dict[str, str], message: str
) -> None:
    signer = Signer(SigningKey.generate())
    env = {
        "DISCORD_PUBLIC_KEY": signer.public_key_hex,
        "DISCORD_APPLICATION_ID": "123",
        "CATALYST_DATA_DIR": str(tmp_path),
    } | admin_env
    result = run("serve", "--port", str(free_port()), env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.startswith(message)


@pytest.mark.loopback
def test_register_puts_admin_commands_only_in_the_home_servers(tmp_path: Path) -> None:
    with FakeDiscord(bot_token="bot-token-value") as fake:
        env = {
            "DISCORD_APPLICATION_ID": fake.application_id,
            "DISCORD_API_BASE": fake.base_url,
            "DISCORD_BOT_TOKEN": "bot-token-value",
            "CATALYST_ADMIN_GUILD_IDS": "500,501",
        }
        result = run("register", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        global_names = {c["name"] for c in fake.commands[None]}
        assert "help" in global_names and "admin" not in global_names
        for guild in ("500", "501"):
            assert [c["name"] for c in fake.commands[guild]] == ["admin"]
        # Admins by user id alone (no home server): nowhere to hide them, so global.
        alone = env | {"CATALYST_ADMIN_GUILD_IDS": "", "CATALYST_ADMIN_USER_IDS": "1"}
        assert run("register", env=alone, cwd=tmp_path).returncode == 0
        assert "admin" in {c["name"] for c in fake.commands[None]}
        # Nobody could use them: refused before anything is sent.
        nobody = env | {"CATALYST_ADMIN_GUILD_IDS": ""}
        refused = run("register", env=nobody, cwd=tmp_path)
        assert refused.returncode == 2
        assert refused.stderr.startswith("error: CATALYST_ADMIN_GUILD_IDS is not set")


def test_every_command_has_help() -> None:
    result = run("--help")
    assert result.returncode == 0
    commands = [
        line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()
    ]
    assert {"serve", "worker", "register", "endpoint", "jobs", "keys", "manifest"} <= set(commands)
    for name in commands:
        assert run(name, "--help").returncode == 0, name


def test_register_json_needs_no_credentials(tmp_path: Path) -> None:
    result = run("register", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = {c["name"] for c in json.loads(result.stdout)}
    assert "help" in names


@pytest.mark.loopback
def test_register_shows_the_diff_and_applies_it_once(tmp_path: Path) -> None:
    with FakeDiscord(bot_token="bot-token-value") as fake:
        env = {
            "DISCORD_APPLICATION_ID": fake.application_id,
            "DISCORD_API_BASE": fake.base_url,
            "DISCORD_BOT_TOKEN": "bot-token-value",
        }
        dry = run("register", "--guild", "42", "--dry-run", env=env, cwd=tmp_path)
        assert dry.returncode == 0, dry.stderr
        assert "+ /help" in dry.stdout and "dry run: nothing applied" in dry.stdout
        assert fake.requests_for("put_guild_commands") == []
        applied = run("register", "--guild", "42", env=env, cwd=tmp_path)
        assert "applied with one bulk overwrite" in applied.stdout
        assert len(fake.requests_for("put_guild_commands")) == 1
        again = run("register", "--guild", "42", env=env, cwd=tmp_path)
        assert "0 added, 0 changed, 0 removed" in again.stdout
        assert "already up to date" in again.stdout
        assert len(fake.requests_for("put_guild_commands")) == 1
        assert "bot-token-value" not in dry.stdout + dry.stderr + applied.stdout


def test_register_without_credentials_is_one_clear_line(tmp_path: Path) -> None:
    result = run("register", "--guild", "42", env={"DISCORD_APPLICATION_ID": "1"}, cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "error: DISCORD_BOT_TOKEN is not set (Developer Portal, Bot, Reset Token)"
    )


@pytest.mark.loopback
def test_serve_answers_and_shuts_down_gracefully_on_sigterm(tmp_path: Path) -> None:
    signer = Signer(SigningKey.generate())
    port = free_port()
    env = os.environ | {
        "DISCORD_PUBLIC_KEY": signer.public_key_hex,
        "DISCORD_APPLICATION_ID": "123",
        "CATALYST_DATA_DIR": str(tmp_path),
        "CATALYST_ADMIN_GUILD_IDS": "500",
    }
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.05)
        body, headers = signer.signed(ping())
        reply = httpx.post(f"http://127.0.0.1:{port}/interactions", content=body, headers=headers)
        assert reply.json() == {"type": 1}
        proc.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once its graceful shutdown is done, as a process
        # manager expects; the logs show the shutdown ran to the end.
        assert proc.wait(15) in (0, -signal.SIGTERM)
        logs = proc.stderr.read() if proc.stderr else ""
        assert '"msg":"worker stopped"' in logs
        assert "Application shutdown complete" in logs
    finally:
        if proc.poll() is None:
            proc.kill()


def test_jobs_cli_lists_retries_and_drops(tmp_path: Path) -> None:
    import asyncio

    from catalyst_interactions.jobs import Job, open_queue

    async def seed() -> None:
        queue = open_queue("", data_dir=tmp_path)
        job = Job.for_interaction("1576643190008578048", "command:x", b"{}", ack_type=5)
        await queue.enqueue(job)
        claimed = await queue.claim("test", 30, 1)
        assert claimed is not None
        await queue.dead(claimed, "token expired")
        await queue.close()

    asyncio.run(seed())
    env = {"CATALYST_DATA_DIR": str(tmp_path)}
    listing = run("jobs", "list", env=env, cwd=tmp_path)
    assert "dead: 1" in listing.stdout and "token expired" in listing.stdout
    assert run("jobs", "retry", "1576643190008578048", env=env, cwd=tmp_path).returncode == 0
    assert "pending: 1" in run("jobs", "list", env=env, cwd=tmp_path).stdout
    assert run("jobs", "drop", "1576643190008578048", env=env, cwd=tmp_path).returncode == 0
    missing = run("jobs", "drop", "1576643190008578048", env=env, cwd=tmp_path)
    assert missing.returncode == 2 and "no job" in missing.stderr


@pytest.mark.loopback
def test_worker_runs_without_a_public_key_serves_metrics_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = os.environ | {"DISCORD_APPLICATION_ID": "123", "CATALYST_DATA_DIR": str(tmp_path)}
    env.pop("DISCORD_PUBLIC_KEY", None)
    proc = subprocess.Popen(
        [*CLI, "worker", "--metrics-port", str(port)],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 20
        while not any("worker process running" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
            lines.append(proc.stderr.readline())
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert (
            "catalyst_queue_pending_jobs" in scraped and "catalyst_jobs_delivered_total" in scraped
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert '"msg":"worker stopped"' in "".join(lines) + proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_worker_without_application_id_is_one_clear_line(tmp_path: Path) -> None:
    result = run("worker", env={"CATALYST_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: DISCORD_APPLICATION_ID is not set")


SHORT_SECRET = "x" * 31


@pytest.mark.parametrize("command", [["serve"], ["dev", "--use-env", "--port", "0"]])
def test_a_short_handover_secret_is_a_one_line_start_error(
    tmp_path: Path, command: list[str]
) -> None:
    signer = Signer(SigningKey.generate())
    env = {
        "DISCORD_PUBLIC_KEY": signer.public_key_hex,
        "CATALYST_DATA_DIR": str(tmp_path),
        "CATALYST_HANDOVER_SECRET": SHORT_SECRET,
    }
    result = run(*command, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: CATALYST_HANDOVER_SECRET must be at least 32 characters (got 31); "
        "make one with: openssl rand -hex 32"
    ]
    assert SHORT_SECRET not in result.stderr


def test_dev_ignores_production_resources_and_keeps_its_data_private(tmp_path: Path) -> None:
    """`make run` in a production checkout: the .env names the production database, queue,
    Redis, recorder, chart store, data dir and tokens. dev says in one line that it ignores
    them, runs on data/dev, and every file it makes there is private."""
    prod = tmp_path / "prod"
    (tmp_path / ".env").write_text(
        "\n".join(
            [
                f"CATALYST_DATA_DIR={prod}",
                "CATALYST_DATABASE_URL=postgresql://prod:pw@10.255.0.1:5432/prod",
                "CATALYST_QUEUE_URL=redis://10.255.0.2:6379/0",
                "CATALYST_REDIS_URL=redis://10.255.0.3:6379/0",
                f"CATALYST_RECORD_PATH={prod}/corpus.jsonl",
                "CATALYST_CHART_STORE_URL=s3://prod-charts/v1",
                "DISCORD_BOT_TOKEN=production-bot-token-value",
                "DISCORD_APPLICATION_ID=123456789012345678",
            ]
        )
    )
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "dev", "--port", str(port), "--edge-port", "0"],
        env={k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "CATALYST_"))}
        | {"CATALYST_HANDOVER_SECRET": "short"},  # would stop a start that read it
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    page = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if httpx.get(f"{page}/ui/state").json()["commands"]:
                    break  # up, with its commands registered
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "dev did not start"
            time.sleep(0.1)
        state = httpx.get(f"{page}/ui/state").json()
        help_id = next(c["id"] for c in state["commands"] if c["name"] == "help")
        sent = httpx.post(
            f"{page}/ui/interactions",
            json={"kind": "command", "persona": "admin", "command_id": help_id, "path": ["help"]},
            timeout=20,
        )
        assert sent.status_code == 200 and sent.json()["ok"] is True, sent.text
        # A deferred command: the job goes through the dev queue, not the production one.
        chart_id = next(c["id"] for c in state["commands"] if c["name"] == "chart")
        chart = httpx.post(
            f"{page}/ui/interactions",
            json={
                "kind": "command",
                "persona": "regular",
                "command_id": chart_id,
                "path": ["chart"],
                "options": {"ticker": "AAPL"},
            },
            timeout=20,
        )
        assert chart.status_code == 200 and chart.json()["ok"] is True, chart.text
        charts = tmp_path / "data" / "dev" / "charts"
        while not any(p.suffix == ".png" for p in charts.rglob("*")):
            assert time.monotonic() < deadline + 30, "the chart was not rendered"
            time.sleep(0.1)
        # While it runs: the data directory and everything in it (SQLite's WAL and shared
        # memory files included) are private to the owner.
        data = tmp_path / "data" / "dev"
        assert data.stat().st_mode & 0o777 == 0o700
        files = list(data.rglob("*"))
        assert any(p.name.endswith("-wal") for p in files)
        assert any(p.name.endswith("-shm") for p in files)
        for path in files:
            expected = 0o700 if path.is_dir() else 0o600
            assert path.stat().st_mode & 0o777 == expected, path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
    err = proc.stderr.read() if proc.stderr else ""
    first = err.splitlines()[0]
    assert first == (
        "dev: ignoring CATALYST_DATA_DIR, CATALYST_DATABASE_URL, CATALYST_QUEUE_URL, "
        "CATALYST_REDIS_URL, CATALYST_RECORD_PATH, CATALYST_CHART_STORE_URL, "
        "DISCORD_APPLICATION_ID, DISCORD_BOT_TOKEN, CATALYST_HANDOVER_SECRET from the "
        "environment/.env and using data/dev; pass --use-env to keep them"
    )
    assert "production-bot-token-value" not in err
    assert not prod.exists()  # no production data dir, no corpus
    assert {"queue.db", "catalyst.db", "state-secret", "dev-signing-key"} <= {
        p.name for p in (tmp_path / "data" / "dev").iterdir()
    }
