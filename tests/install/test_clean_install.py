"""What users install is what is tested.

The wheel is built from this checkout and installed into a new virtualenv with no extras and
none of the development dependencies (versions pinned by requirements/runtime.txt, so pip's
cache serves it and nothing but the package registries is reached). That install's own
`catalyst-interactions` then does what an operator does against the local Discord (the
emulator, served from this test process): `serve`, `endpoint`, `register`, `import-legacy`,
`admin post-report`; and a member and an admin use EVERY registered command once, each
answer checked for what it must say. A dependency the code needs but the package does not
declare (greenlet, once) fails here while every other suite, running in the development
environment, passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nacl.signing import SigningKey

from catalyst_interactions.emulator.app import Emulator
from catalyst_interactions.emulator.world import (
    ADMIN_CHANNEL_ID,
    ADMIN_USER_ID,
    default_world,
)
from support.llm_server import ChatServer
from support.local_discord import Clock, Local, Shown
from support.servers import free_port, free_port_block, serve_in_thread

pytestmark = [pytest.mark.install, pytest.mark.loopback, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "store" / "samples"
LLM_ANSWER = "Clean-install answer about AAPL."
DEV_ONLY = ("pytest", "playwright", "hypothesis", "mypy", "ruff", "moto", "flask", "redis")


def _run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH would let the clean venv see a source tree (and pip count it as installed).
    env = {k: v for k, v in kwargs.pop("env", os.environ).items() if k != "PYTHONPATH"}
    return subprocess.run(args, capture_output=True, text=True, check=False, env=env, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv holding only the wheel and its runtime dependencies; its bin dir."""
    tmp = tmp_path_factory.mktemp("clean-install")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp), str(ROOT)]
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = tmp.glob("catalyst_interactions-*.whl")
    venv = tmp / "venv"
    # The base interpreter, not this virtualenv's: nothing of the dev environment leaks in.
    base_python = getattr(sys, "_base_executable", sys.executable)
    made = _run([base_python, "-m", "venv", str(venv)])
    assert made.returncode == 0, made.stderr
    pip = _run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            str(ROOT / "requirements" / "runtime.txt"),
            str(wheel),
        ]
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv / "bin"


def test_only_runtime_dependencies_are_installed(installed: Path) -> None:
    listed = _run([str(installed / "python"), "-m", "pip", "list", "--format=json"])
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "catalyst-interactions" in names
    assert names.isdisjoint(DEV_ONLY), names & set(DEV_ONLY)


def test_the_installed_emulator_reads_discords_spec_from_the_wheel(installed: Path) -> None:
    """`make run` validates with the spec extract shipped in the package (emulator/spec.py);
    a wheel without it would fail at the first request, not at build time."""
    probe = (
        "from catalyst_interactions.emulator.spec import spec; s = spec(); "
        "print(len(s.operations), s.problems('execute_webhook', {'content': 'x' * 2001})[0].code)"
    )
    done = _run([str(installed / "python"), "-c", probe], cwd=installed)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["18", "BASE_TYPE_MAX_LENGTH"]


def test_a_missing_extra_is_a_one_line_start_up_error(installed: Path, tmp_path: Path) -> None:
    env = _clean_env(
        DISCORD_PUBLIC_KEY=SigningKey.generate().verify_key.encode().hex(),
        DISCORD_APPLICATION_ID="1",
        CATALYST_ADMIN_USER_IDS="2",
        CATALYST_DATA_DIR=str(tmp_path),
        CATALYST_QUEUE_URL="redis://127.0.0.1:6379/0",
        CATALYST_STATE_SECRET="s" * 32,
    )
    cli = str(installed / "catalyst-interactions")
    done = _run([cli, "serve", "--port", str(free_port())], env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: CATALYST_QUEUE_URL needs the redis package, which is missing: "
        "pip install 'catalyst-interactions[redis]'"
    ]
    del env["CATALYST_QUEUE_URL"]
    checked = _run([cli, "check"], env=env, cwd=tmp_path, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("ok    packages")


class InstalledBot(Local):
    """The page driver, reading finished jobs from the installed worker process's metrics
    (`serve --metrics-port P`: the edge on P, the worker process on P + 1)."""

    def __init__(self, stack: Any, clock: Clock, worker_metrics: str) -> None:
        super().__init__(stack, clock)
        self.worker_metrics = worker_metrics

    def jobs_finished(self) -> float:
        text = httpx.get(self.worker_metrics, timeout=5).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(
                ("catalyst_jobs_delivered_total", "catalyst_jobs_dead_lettered_total")
            )
        )


def _clean_env(**settings: str) -> dict[str, str]:
    """The process environment without any of our settings, plus ``settings``."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("CATALYST_", "DISCORD_", "TIINGO_", "POLYGON_", "VIRTUAL_ENV", "PYTHONPATH")
        )
    }
    return keep | settings


@pytest.fixture(scope="module")
def bot(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    """The local Discord here, the installed bot in its own processes, wired up by the
    installed command line exactly as docs/local-discord.md and the README describe."""
    tmp = tmp_path_factory.mktemp("clean-bot")
    clock = Clock()
    emulator = Emulator(world=default_world(), clock=clock)
    page_port = free_port()
    emulator.public_base = f"http://127.0.0.1:{page_port}"
    llm = ChatServer(answer=LLM_ANSWER)
    with serve_in_thread(emulator, port=page_port), serve_in_thread(llm) as llm_url:
        env = _clean_env(
            DISCORD_PUBLIC_KEY=emulator.public_key_hex,
            DISCORD_APPLICATION_ID=emulator.world.application_id,
            DISCORD_BOT_TOKEN=emulator.bot_token.reveal(),
            DISCORD_API_BASE=emulator.api_base,
            CATALYST_DATA_DIR=str(tmp / "data"),
            CATALYST_ADMIN_USER_IDS=ADMIN_USER_ID,
            CATALYST_LLM_BASE_URL=llm_url + "/v1",
            CATALYST_LLM_MODEL=llm.model,
            CATALYST_LLM_API_KEY="sk-clean-install",
            CATALYST_COOLDOWNS="chart=0,compare=0,backtest=0,research=0,ask=0",
            CATALYST_LOG_FORMAT="text",
        )
        cli = str(installed / "catalyst-interactions")

        def operator(*args: str) -> str:
            done = _run([cli, *args], env=env, cwd=tmp, timeout=120)
            assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
            return done.stdout

        operator("import-legacy", "--alerts", str(SAMPLES / "alerts.jsonl"))
        # The edge's port, the edge's metrics port and the worker's (metrics port + 1).
        port = free_port_block(3)
        metrics_port = port + 1
        log = (tmp / "serve.log").open("w")
        server = subprocess.Popen(
            [cli, "serve", "--port", str(port), "--metrics-port", str(metrics_port)],
            env=env,
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(f"http://127.0.0.1:{metrics_port}/ready", server, tmp / "serve.log")
            _wait_ready(f"http://127.0.0.1:{metrics_port + 1}/ready", server, tmp / "serve.log")
            assert "->" in operator("endpoint", f"http://127.0.0.1:{port}/interactions")
            assert "applied" in operator("register")
            shim = type("Stack", (), {})()
            shim.url, shim.api_base, shim.emulator, shim.runtime = (
                emulator.public_base,
                emulator.api_base,
                emulator,
                None,
            )
            local = InstalledBot(shim, clock, f"http://127.0.0.1:{metrics_port + 1}/metrics")
            local.operator = operator  # type: ignore[attr-defined]
            local.tmp = tmp  # type: ignore[attr-defined]
            yield local
            local.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()


def _taken(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, f"serve exited:\n{log.read_text()[-4000:]}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve was not ready in 90 s:\n{log.read_text()[-4000:]}")


def text_of(shown: Shown) -> str:
    """Everything a member reads in the answer: content and every embed's text."""
    assert shown.ok, shown.result
    assert shown.message is not None, shown.result
    parts = [shown.content]
    for embed in shown.message.get("embeds", []):
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    text = "\n".join(p for p in parts if p)
    assert "went wrong" not in text.lower(), text
    return text


def png_attached(local: Local, shown: Shown) -> bytes:
    assert shown.message is not None
    attachments = shown.message.get("attachments", [])
    assert attachments, shown.message
    body = local.attachment(attachments[0]["url"]).content
    assert body.startswith(b"\x89PNG\r\n\x1a\n")
    return body


def _command_paths(cli: Path) -> set[str]:
    out = _run([str(cli / "catalyst-interactions"), "register", "--json"], env=_clean_env())
    paths: set[str] = set()

    def walk(prefix: str, options: list[dict[str, Any]]) -> None:
        subs = [o for o in options if o["type"] in (1, 2)]
        if not subs:
            paths.add(prefix)
        for sub in subs:
            walk(f"{prefix} {sub['name']}", sub.get("options", []))

    for command in json.loads(out.stdout):
        walk(command["name"], command.get("options", []))
    return paths


def test_every_command_answers_from_the_installed_package(bot: Local, installed: Path) -> None:
    used: set[str] = set()

    def use(path: str, persona: str = "regular", **options: Any) -> Shown:
        used.add(path)
        return bot.use(path, persona, **options)

    # -- member commands ------------------------------------------------------------------
    assert "/chart" in text_of(use("help"))
    assert "AAPL" in text_of(use("watchlist add", ticker="AAPL"))
    assert "MSFT" in text_of(use("watchlist add", ticker="MSFT"))
    listed = text_of(use("watchlist list"))
    assert "AAPL" in listed and "MSFT" in listed
    removed = text_of(use("watchlist remove", ticker="MSFT"))
    assert "MSFT" in removed
    assert "MSFT" not in text_of(bot.use("watchlist list"))
    text_of(use("watchlist clear"))
    assert "AAPL" not in text_of(bot.use("watchlist list"))

    check = text_of(use("check", ticker="AAPL"))  # the imported sample log has an AAPL alert
    assert "AAPL" in check and "175.1" in check
    assert "Alerts posted: 6" in text_of(use("stats", period="all"))  # the sample log's 6
    assert "AAPL" in text_of(use("sentiment", ticker="AAPL"))
    assert "AAPL" in text_of(use("backtest", ticker="AAPL"))

    chart = use("chart", ticker="AAPL")
    assert "AAPL" in text_of(chart)
    png_attached(bot, chart)
    compare = use("compare", ticker1="AAPL", ticker2="MSFT")
    png_attached(bot, compare)

    assert LLM_ANSWER in text_of(use("research", ticker="AAPL"))
    assert LLM_ANSWER in text_of(use("ask", question="What moved AAPL today?"))

    # -- admin commands, after the operator posts a tuning report with the installed CLI ---
    report = bot.tmp / "report.json"  # type: ignore[attr-defined]
    report.write_text(
        json.dumps(
            {
                "report_id": "clean-1",
                "title": "Clean install",
                "summary": "One change.",
                "changes": [
                    {
                        "parameter": "clean.min_score",
                        "type": "float",
                        "min": 0,
                        "max": 1,
                        "current": 0.5,
                        "proposed": 0.6,
                    }
                ],
            }
        )
    )
    posted = bot.operator(  # type: ignore[attr-defined]
        "admin", "post-report", str(report), "--channel", ADMIN_CHANNEL_ID
    )
    assert posted.startswith("posted report clean-1")
    assert "clean-1" in text_of(use("admin report", "admin"))
    refused = bot.use("admin stats")  # Discord itself hides admin commands from members
    assert not refused.ok and refused.result.get("refused"), refused.result
    set_answer = text_of(
        use("admin set", "admin", parameter="clean.min_score", value="0.7", reason="test")
    )
    assert "0.7" in set_answer
    history = text_of(use("admin history", "admin", parameter="clean.min_score"))
    change_id = history.split("#", 1)[1].split()[0]
    assert change_id.isdigit(), history
    assert "0.5" in text_of(use("admin rollback", "admin", change_id=int(change_id)))
    assert text_of(use("admin stats", "admin"))

    assert used == _command_paths(installed), "a command is not exercised here"

    # Every command answered, and nothing the installed processes logged was an error:
    # a failure caught and answered politely would otherwise pass unseen.
    serve_log = (bot.tmp / "serve.log").read_text()  # type: ignore[attr-defined]
    bad = [
        line
        for line in serve_log.splitlines()
        if line.split(" ", 2)[1:2] in (["ERROR"], ["CRITICAL"]) or "Traceback" in line
    ]
    assert not bad, "\n".join(bad[:20])
