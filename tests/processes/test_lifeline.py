"""Render processes exit with their parent, however it died, and run at a lower priority."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.fault, pytest.mark.loopback]

HERE = Path(__file__).parent


def alive(pid: int) -> bool:
    """Running or sleeping; a zombie (exited, not yet reaped by init) counts as gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z"


def nice_of(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of stat: the nice value


def test_sigkilled_parent_leaves_no_render_process(tmp_path: Path) -> None:
    env = os.environ | {"PYTHONPATH": str(HERE.parent)}
    parent = subprocess.Popen(
        [sys.executable, str(HERE / "render_parent.py"), str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert 1 <= len(pids) <= 2, line
        for pid in pids:
            assert alive(pid)
            # The pool's processes run below their parent's priority (nice 7 asked here);
            # the kernel caps niceness at 19, which a parent already niced may reach.
            assert nice_of(pid) == min(19, nice_of(parent.pid) + 7)
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid in pids if alive(pid)] == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(5)
