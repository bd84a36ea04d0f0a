"""RSS of a server and its children, sampled in a thread for the hostile benchmarks."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from _servers import _descendants, rss_kib


class Sampler:
    """Every ``interval_s``: ``(seconds since start, RSS bytes, process count)`` of ``pid``
    and its descendants (VmRSS summed; pages shared between processes count in each)."""

    def __init__(self, pid: int, interval_s: float = 0.5) -> None:
        self.pid, self.interval_s = pid, interval_s
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> int:
        rss = rss_kib(self.pid) * 1024
        self.samples.append((time.monotonic() - self._started, rss, len(_descendants(self.pid))))
        return rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()


def breakdown(pid: int) -> list[tuple[int, int, str]]:
    """``(pid, RSS bytes, command)`` of ``pid`` and each descendant, largest first."""
    rows = []
    for member in _descendants(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
            command = Path(f"/proc/{member}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        rss = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)
        rows.append((member, rss * 1024, command[:90]))
    return sorted(rows, key=lambda row: -row[1])


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


MIB = 1024 * 1024
