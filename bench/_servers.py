"""Start, probe and stop the servers under test, never leaving a process behind.

Each server runs in its own process group pinned to one core (``taskset -c CORE``, which
execs the command, so the child's pid is the server's). Readiness is polled, not slept
for: ``GET /health`` is retried on a short interval until it answers 200.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
HOST = "127.0.0.1"
_POLL_S = 0.002


class ServerError(RuntimeError):
    """A server did not start, did not answer, or exited early."""


@dataclass(frozen=True)
class ServerSpec:
    """How to launch one server; ``{port}`` in ``argv`` is replaced by the chosen port."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    needs_data_dir: bool = False


@dataclass
class RunningServer:
    spec: ServerSpec
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, limit: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


def legacy_spec(public_key: str) -> ServerSpec:
    return ServerSpec(
        "legacy",
        (sys.executable, str(BENCH / "legacy_flask.py"), "--port", "{port}"),
        {"DISCORD_PUBLIC_KEY": public_key},
    )


def bare_spec(public_key: str) -> ServerSpec:
    return ServerSpec(
        "bare",
        (sys.executable, str(BENCH / "bare_asgi.py"), "--port", "{port}"),
        {"DISCORD_PUBLIC_KEY": public_key},
    )


def ours_executable() -> str | None:
    local = REPO / ".venv" / "bin" / "catalyst-interactions"
    if local.exists():
        return str(local)
    return shutil.which("catalyst-interactions")


def ours_spec(public_key: str, application_id: str) -> ServerSpec:
    executable = ours_executable() or "catalyst-interactions"
    return ServerSpec(
        "ours",
        (executable, "serve", "--no-workers", "--host", HOST, "--port", "{port}"),
        {
            "DISCORD_PUBLIC_KEY": public_key,
            "DISCORD_APPLICATION_ID": application_id,
            "CATALYST_LOG_LEVEL": "warning",
            "CATALYST_ADMIN_GUILD_IDS": "1",  # serving admin commands needs a home server
            # The load generator is one member: the fair-use limits (docs/security.md) are
            # for people, not for a benchmark, so they are off here.
            "CATALYST_USER_RATE": "off",
            "CATALYST_JOBS_PER_USER": "0",
        },
        needs_data_dir=True,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(argv: list[str], core: int | None) -> list[str]:
    """``argv`` run on one core; taskset execs it, so the pid stays the command's."""
    if core is None:
        return argv
    return ["taskset", "-c", str(core), *argv]


def http_get_status(port: int, path: str, timeout: float = 1.0) -> int:
    """Status code of one ``GET``; raises ``OSError`` while nobody listens."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionResetError("closed before a status line")
            head += chunk
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise ConnectionResetError("not an HTTP status line")
    return int(parts[1])


def wait_healthy(server: RunningServer, timeout_s: float) -> float:
    """Poll ``GET /health`` until 200; return the monotonic time it first answered."""
    deadline = time.monotonic() + timeout_s
    while True:
        if server.process.poll() is not None:
            raise ServerError(
                f"{server.spec.name} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            if http_get_status(server.port, "/health") == 200:
                return time.monotonic()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ServerError(
                f"{server.spec.name} not healthy after {timeout_s:.0f} s:\n{server.log_tail()}"
            )
        time.sleep(_POLL_S)


def stop(process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(grace_s)


@contextlib.contextmanager
def running(
    spec: ServerSpec, core: int | None, startup_timeout_s: float = 20.0
) -> Iterator[tuple[RunningServer, float]]:
    """A started, healthy server and its cold start (spawn to first 200 on /health)."""
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edgebench-")))
        env = {**os.environ, **spec.env, "PYTHONUNBUFFERED": "1"}
        if spec.needs_data_dir:
            data_dir = workdir / "data"
            data_dir.mkdir()
            env["CATALYST_DATA_DIR"] = str(data_dir)
        port = free_port()
        argv = [arg.replace("{port}", str(port)) for arg in spec.argv]
        log_path = workdir / "server.log"
        log_file = stack.enter_context(log_path.open("wb"))
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                pinned(argv, core),
                env=env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ServerError(f"cannot start {spec.name}: {exc}") from exc
        server = RunningServer(spec, process, port, log_path)
        try:
            healthy_at = wait_healthy(server, startup_timeout_s)
            yield server, healthy_at - started
        finally:
            stop(process)


def _descendants(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in task.read_text().split():
                found.extend(_descendants(int(child)))
    return found


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (VmRSS, KiB)."""
    total = 0
    for member in _descendants(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total
