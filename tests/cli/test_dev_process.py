"""`dev` (what `make run` starts) as a process: its ports, a clean Ctrl-C, and the data
directory the other commands then read."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.servers import free_port

CLI = [sys.executable, "-m", "catalyst_interactions"]
pytestmark = pytest.mark.loopback


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "CATALYST_"))}


def _start_dev(cwd: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """``dev`` in its own process group (as a terminal runs it); returns it and its edge URL."""
    proc = subprocess.Popen(
        [*CLI, "dev", "--port", str(free_port()), *args],
        env=_env(),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        found = re.search(r"edge: (http://127\.0\.0\.1:\d+)/interactions", line)
        if found:
            return proc, found.group(1)
        assert time.monotonic() < deadline, "dev did not start"
    raise AssertionError(f"dev exited: {proc.wait()} {proc.stderr.read() if proc.stderr else ''}")


def test_ctrl_c_stops_dev_and_its_render_processes_without_tracebacks(tmp_path: Path) -> None:
    """Two `dev`s side by side (the edge port is any free one by default); Ctrl-C, which a
    terminal sends to the whole process group, stops one cleanly: render processes included,
    no KeyboardInterrupt traceback."""
    first, first_edge = _start_dev(tmp_path / "a" if (tmp_path / "a").mkdir() is None else tmp_path)
    try:
        second, second_edge = _start_dev(
            tmp_path / "b" if (tmp_path / "b").mkdir() is None else tmp_path
        )
        assert first_edge != second_edge
        try:
            # The demo posts its alerts with charts: the render pool is running.
            deadline = time.monotonic() + 60
            while len(_children(second.pid)) < 2:
                assert time.monotonic() < deadline, "no render processes started"
                time.sleep(0.2)
            assert httpx.get(second_edge + "/health").status_code == 200
            os.killpg(second.pid, signal.SIGINT)
            assert second.wait(30) == 0
            errors = second.stderr.read() if second.stderr else ""
            assert "KeyboardInterrupt" not in errors and "Traceback" not in errors, errors
        finally:
            if second.poll() is None:
                os.killpg(second.pid, signal.SIGKILL)
    finally:
        os.killpg(first.pid, signal.SIGINT)
        first.wait(30)


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def test_jobs_list_reads_the_queue_make_run_uses(tmp_path: Path) -> None:
    """Without CATALYST_DATA_DIR, `jobs list` after `make run` reads dev's queue."""
    proc, _ = _start_dev(tmp_path, "--no-demo")
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(30) == 0
    assert (tmp_path / "data" / "dev" / "queue.db").exists()
    listed = subprocess.run(
        [*CLI, "jobs", "list"], env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    assert "data: data/dev (make run's" in listed.stderr
    assert not (tmp_path / "data" / "queue.db").exists()  # nothing opened a second queue
