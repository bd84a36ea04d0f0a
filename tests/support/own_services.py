"""Private Redis, PostgreSQL and S3 (moto) servers for suites that kill and restart them.

Each starts on a free loopback port with its data in a temporary directory, so a suite can
stop and restart it without touching the shared servers (127.0.0.1:6379 / :5432) that other
suites use. A missing program is a one-line failure naming what to install.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _need(program: str, package: str) -> str:
    found = shutil.which(program)
    if found is None:
        pytest.fail(f"{program} is not installed (apt-get install {package})", pytrace=False)
    return found


def _wait_port(port: int, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout_s:g} s")


class OwnRedis:
    """``redis-server`` with an append-only file, so a restart keeps every acknowledged write."""

    def __init__(self, directory: Path) -> None:
        self.program = _need("redis-server", "redis-server")
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.program,
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, "redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class OwnPostgres:
    """A PostgreSQL cluster of its own (``initdb`` + ``pg_ctl``), run as the ``postgres`` user
    when the suite runs as root (PostgreSQL refuses to run as root)."""

    def __init__(self, directory: Path) -> None:
        self.initdb = _need("initdb", "postgresql")
        self.pg_ctl = _need("pg_ctl", "postgresql")
        self.directory = directory
        self.data = directory / "pgdata"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = [_need("runuser", "util-linux"), "-u", "postgres", "--"]
            directory.mkdir(parents=True, exist_ok=True)
            shutil.chown(directory, "postgres", "postgres")
            # Every parent must be traversable by the postgres user.
            for parent in directory.parents:
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            [*self._as, *argv], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip()[-800:]}")

    def init(self) -> None:
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -k {self.directory} "
            "-c fsync=on -c max_connections=100"
        )
        self._run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(RuntimeError):
            self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()


class MotoS3:
    """moto's server as the S3-compatible chart store, with one bucket."""

    def __init__(self, bucket: str = "charts") -> None:
        self.port = free_port()
        self.bucket = bucket
        self.process: subprocess.Popen[bytes] | None = None
        server = Path(sys.executable).with_name("moto_server")
        if not server.exists():
            pytest.fail("moto_server is not installed (pip install 'moto[server]')", pytrace=False)
        self.program = str(server)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.program, "-H", HOST, "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, "moto_server")
        # moto accepts unsigned requests: the bucket is made with a plain PUT.
        httpx.put(f"{self.endpoint}/{self.bucket}", timeout=10).raise_for_status()

    def objects(self) -> int:
        """How many chart images the bucket holds."""
        text = httpx.get(f"{self.endpoint}/{self.bucket}?list-type=2", timeout=10).text
        return text.count("<Key>")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
        self.process = None
