"""The deployment of deploy/systemd for real: `serve --no-workers` (the edge) and `worker`, each
with its metrics on a port of its own, against the loopback fake Discord; and the helpers the
deploy/ tests share."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fakes.fake_discord import FakeDiscord
from support.servers import free_port
from support.signing import Signer

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CLI = [sys.executable, "-m", "catalyst_interactions"]


def need(tool: str, package: str) -> str:
    """The tool's path; a missing tool is a one-line failure naming the package, never a skip."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} not found: install Debian's {package} (apt-get install {package})")
    return path


def wait_until(predicate, timeout: float = 20.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Served:
    url: str
    """The edge's public port: POST /interactions, /health."""
    metrics_url: str
    """The edge's metrics port: /metrics, /ready."""
    worker_metrics_url: str
    """The worker process's metrics port."""
    signer: Signer
    fake: FakeDiscord

    def send(self, payload: dict[str, object]) -> httpx.Response:
        body, headers = self.signer.signed(payload)
        return httpx.post(f"{self.url}/interactions", content=body, headers=headers, timeout=10)


@pytest.fixture
def served(tmp_path: Path, signer: Signer) -> Iterator[Served]:
    with FakeDiscord() as fake:
        port, metrics_port, worker_port = free_port(), free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "CATALYST_"))}
        env |= {
            "DISCORD_PUBLIC_KEY": signer.public_key_hex,
            "DISCORD_APPLICATION_ID": fake.application_id,
            "DISCORD_API_BASE": fake.base_url,
            "CATALYST_DATA_DIR": str(tmp_path / "data"),
            "CATALYST_ADMIN_GUILD_IDS": "500",  # the guild of support.signing's interactions
        }
        log = (tmp_path / "processes.log").open("w")
        edge = ["serve", "--no-workers", "--port", str(port), "--metrics-port", str(metrics_port)]
        procs = [
            subprocess.Popen(
                [*CLI, *args], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
            )
            for args in (edge, ["worker", "--metrics-port", str(worker_port)])
        ]
        s = Served(
            f"http://127.0.0.1:{port}",
            f"http://127.0.0.1:{metrics_port}",
            f"http://127.0.0.1:{worker_port}",
            signer,
            fake,
        )

        def ready() -> bool:
            return all(
                httpx.get(url).status_code == 200
                for url in (f"{s.metrics_url}/ready", f"{s.worker_metrics_url}/ready")
            )

        try:
            wait_until(ready, what=f"the edge and the worker; log: {tmp_path / 'processes.log'}")
            yield s
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            log.close()


_TYPE = re.compile(r"^# TYPE (\S+) (\S+)$", re.M)
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? \S+$", re.M)


def exposition(text: str) -> tuple[dict[str, str], set[str]]:
    """(declared metric name -> type, names that have at least one sample)."""
    return dict(_TYPE.findall(text)), set(_SAMPLE.findall(text))


def base_name(name: str, declared: dict[str, str]) -> str:
    """``x_bucket`` / ``x_sum`` / ``x_count`` of a declared histogram ``x`` -> ``x``."""
    for suffix in ("_bucket", "_sum", "_count"):
        stem = name.removesuffix(suffix)
        if stem != name and declared.get(stem) == "histogram":
            return stem
    return name


METRIC = re.compile(r"\b((?:catalyst|process|python)_[a-z0-9_]+)\b")
