"""Run wrk against one server with a pool of signed requests, and read its report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from _servers import BENCH, pinned

LUA_SCRIPT = BENCH / "wrk_requests.lua"
_FIRST_BAD = re.compile(r"^EDGEBENCH FAILED: first bad answer: (.*)$", re.MULTILINE)
_WRAPPED = re.compile(r"^EDGEBENCH .*wrapped=[1-9]", re.MULTILINE)
_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.MULTILINE)
_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.MULTILINE)
_CHECK = re.compile(
    r"^EDGEBENCH responses=(\d+) non200=(\d+) badbody=(\d+) socket_errors=(\d+)", re.MULTILINE
)
_NEXT = re.compile(r"^EDGEBENCH .* next=(\d+)", re.MULTILINE)


class WrkError(RuntimeError):
    """wrk failed, or some answer was not a correct 200: the figures are void."""


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    responses: int
    next_offset: int


def parse_report(text: str) -> WrkResult:
    """Figures from wrk's ``--latency`` report plus the Lua script's check line.

    Raises :class:`WrkError` when a figure is missing or any answer was not a 200 with
    the expected body, so that a run of errors can never print as a result.
    """
    check = _CHECK.search(text)
    if check is None:
        raise WrkError(f"no EDGEBENCH check line in wrk's report:\n{text[-3000:]}")
    responses, non200, badbody, socket_errors = (int(g) for g in check.groups())
    non2xx = _NON_2XX.search(text)
    if non200 or badbody or socket_errors or (non2xx and int(non2xx.group(1))):
        first_bad = _FIRST_BAD.search(text)
        raise WrkError(
            f"{non200} non-200 answers, {badbody} unexpected bodies, "
            f"{socket_errors} socket errors out of {responses}"
            + (f"; first bad answer: {first_bad.group(1)}" if first_bad else "")
            + ("; the pool wrapped (replayed ids are refused)" if _WRAPPED.search(text) else "")
        )
    rps = _RPS.search(text)
    percentiles = {p: float(v) * _UNITS_MS[u] for p, v, u in _PERCENTILE.findall(text)}
    if rps is None or set(percentiles) != {"50", "99"}:
        raise WrkError("wrk report lacks Requests/sec or the --latency distribution")
    next_offset = _NEXT.search(text)
    return WrkResult(
        float(rps.group(1)),
        percentiles["50"],
        percentiles["99"],
        responses,
        int(next_offset.group(1)) if next_offset else 0,
    )


def run_wrk(
    url: str,
    pool: Path,
    expected_type: int,
    *,
    connections: int,
    duration_s: float,
    core: int | None,
    offset: int = 0,
) -> WrkResult:
    """One closed-loop wrk run (one thread, pinned), checked and parsed.

    ``offset`` skips the pool entries earlier runs against the same server used;
    the result's ``next_offset`` is where the next run should start.
    """
    executable = shutil.which("wrk")
    if executable is None:
        raise WrkError("wrk is not installed")
    argv = [
        executable,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        url,
        "--",
        str(pool),
        str(expected_type),
        str(offset),
    ]
    try:
        done = subprocess.run(
            pinned(argv, core),
            capture_output=True,
            text=True,
            timeout=duration_s + 60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise WrkError(f"wrk did not finish within {duration_s + 60:.0f} s") from exc
    output = done.stdout + done.stderr
    if done.returncode != 0 and _CHECK.search(output) is None:
        raise WrkError(f"wrk exited with {done.returncode}:\n{output[-3000:]}")
    result = parse_report(output)
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode} though its checks passed")
    return result
