"""A fixed-rate, open-loop HTTP/1.1 load generator (wrk2 is not available here).

wrk is closed-loop: a slow answer delays the next request, so its latencies hide queueing
("coordinated omission"). Here request *i* is due at ``start + i / rate`` whatever
happened before, and its latency is measured from that due time, so a stall shows up
in every request that had to wait for it. Keep-alive connections, no pipelining: a due
request waits for a free connection, and that wait counts.

Run pinned to its own core: ``taskset -c 1 python bench/_openloop.py --port P --pool F
--rate R --duration S --expected-type 1``; prints one JSON object. Exits 1 when any
answer was not a 200 with the expected callback type.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

import msgspec

from _signing import read_pool

HOST = "127.0.0.1"
_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:\s*chunked", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)


@dataclass
class OpenLoopResult:
    rate: float
    duration_s: float
    completed: int
    non200: int
    failed: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    service_p50_ms: float
    service_p99_ms: float
    send_lag_p99_ms: float
    first_bad: str


def _chunked_length(buf: bytearray, start: int) -> int | None:
    """Total length of a chunked body starting at ``start``, or None if incomplete."""
    pos = start
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buf[pos:line_end]).split(b";", 1)[0], 16)
        pos = line_end + 2 + size + 2
        if pos > len(buf):
            return None
        if size == 0:
            return pos - start


def split_response(buf: bytearray) -> tuple[int, bytes, int, bool] | None:
    """``(status, body, consumed, keep_alive)`` for the first complete response in ``buf``."""
    head_end = buf.find(_HEADER_END)
    if head_end < 0:
        return None
    head = bytes(buf[:head_end])
    status = int(head[9:12])
    keep_alive = head.startswith(b"HTTP/1.1") and not _CLOSE.search(head)
    body_start = head_end + 4
    length_match = _CONTENT_LENGTH.search(head)
    if length_match is not None:
        end = body_start + int(length_match.group(1))
        if len(buf) < end:
            return None
        return status, bytes(buf[body_start:end]), end, keep_alive
    if _CHUNKED.search(head):
        total = _chunked_length(buf, body_start)
        if total is None:
            return None
        raw = bytes(buf[body_start : body_start + total])
        return status, _dechunk(raw), body_start + total, keep_alive
    return status, b"", body_start, keep_alive


def _dechunk(raw: bytes) -> bytes:
    out: list[bytes] = []
    pos = 0
    while True:
        line_end = raw.index(b"\r\n", pos)
        size = int(raw[pos:line_end].split(b";", 1)[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(raw[line_end + 2 : line_end + 2 + size])
        pos = line_end + 2 + size + 2


class _Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, generator: _Generator) -> None:
        self.generator = generator
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.busy = False
        self.retired = False
        self.due = 0.0
        self.sent_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.generator.ready(self)

    def send(self, request: bytes, due: float) -> None:
        assert self.transport is not None
        self.busy = True
        self.due = due
        self.sent_at = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        parsed = split_response(self.buf)
        if parsed is None:
            return
        status, body, consumed, keep_alive = parsed
        del self.buf[:consumed]
        self.busy = False
        self.generator.answered(self, status, body, keep_alive)

    def connection_lost(self, exc: Exception | None) -> None:
        self.generator.lost(self)

    def close(self) -> None:
        self.retired = True
        if self.transport is not None:
            self.transport.close()


class _Generator:
    def __init__(
        self,
        requests: list[bytes],
        rate: float,
        expected_type: int,
        warmup_s: float,
        port: int,
        spin: bool = False,
    ) -> None:
        self.requests = requests
        self.rate = rate
        self.type_pattern = re.compile(rb'"type"\s*:\s*%d[\s,}]' % expected_type)
        self.warmup_s = warmup_s
        self.port = port
        self.idle: deque[_Connection] = deque()
        self.backlog: deque[float] = deque()
        self.next_index = 0
        self.start = 0.0
        self.latencies: list[float] = []
        self.service: list[float] = []
        self.send_lag: list[float] = []
        self.outstanding = 0
        self.non200 = self.failed = 0
        self.first_bad = ""
        self.stopping = False
        self.open: set[_Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.finished = asyncio.Event()
        self.spin = spin

    def _bad(self, why: str) -> None:
        if not self.first_bad:
            self.first_bad = why

    def _count_done(self) -> None:
        self.outstanding -= 1
        if self.outstanding == 0:
            self.finished.set()

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: _Connection(self), HOST, self.port)
        except OSError as exc:
            self.failed += 1
            self._bad(f"cannot connect: {exc}")

    def connect_later(self) -> None:
        """Open a replacement connection; it joins the idle pool when made."""
        if self.stopping:
            return
        task = asyncio.get_running_loop().create_task(self._connect())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def ready(self, connection: _Connection) -> None:
        self.open.add(connection)
        self.idle.append(connection)
        self.dispatch()

    def dispatch(self) -> None:
        while self.backlog and self.idle:
            connection = self.idle.popleft()
            due = self.backlog.popleft()
            request = self.requests[self.next_index]
            self.next_index += 1
            connection.send(request, due)
            if due - self.start >= self.warmup_s:
                self.send_lag.append(connection.sent_at - due)

    def answered(self, connection: _Connection, status: int, body: bytes, keep_alive: bool) -> None:
        now = time.perf_counter()
        if connection.due - self.start >= self.warmup_s:
            self.latencies.append(now - connection.due)
            self.service.append(now - connection.sent_at)
        if status != 200:
            self.non200 += 1
            self._bad(f"{status} {body[:200].decode(errors='replace')}")
        elif not self.type_pattern.search(body):
            self.failed += 1
            self._bad(f"{status} {body[:200].decode(errors='replace')}")
        if keep_alive:
            self.idle.append(connection)
        else:
            # Servers without keep-alive (werkzeug): every request pays for a new connection.
            connection.close()
            self.connect_later()
        self.dispatch()
        self._count_done()

    def lost(self, connection: _Connection) -> None:
        self.open.discard(connection)
        if connection in self.idle:
            self.idle.remove(connection)
        if self.stopping or connection.retired:
            return
        if connection.busy:
            self.failed += 1
            self._bad("connection closed by the server during a request")
            self._count_done()
        self.connect_later()

    async def run(self, connections: int, duration_s: float) -> None:
        try:
            await asyncio.gather(*(self._connect() for _ in range(connections)))
            if self.failed:
                return
            await self._drive(duration_s)
        finally:
            self.stopping = True
            for connection in list(self.open):
                connection.close()

    async def _drive(self, duration_s: float) -> None:
        total = int(self.rate * duration_s)
        if total > len(self.requests):
            raise SystemExit(f"pool holds {len(self.requests)} requests, the run needs {total}")
        self.outstanding = total
        interval = 1.0 / self.rate
        self.start = time.perf_counter()
        queued = 0
        while queued < total:
            now = time.perf_counter()
            while queued < total and self.start + queued * interval <= now:
                self.backlog.append(self.start + queued * interval)
                queued += 1
            self.dispatch()
            delay = self.start + queued * interval - time.perf_counter()
            if self.spin and delay < 0.001:
                await asyncio.sleep(0)
            else:
                # Timers resolve to 1 ms: requests due within a tick leave together, and
                # the wait counts in their latency. A sleeping sender is not penalised by
                # the scheduler the way a spinning one is on a shared core.
                await asyncio.sleep(max(delay, 0.001))
        try:
            await asyncio.wait_for(self.finished.wait(), timeout=10.0)
        except TimeoutError:
            self.failed += self.outstanding
            self._bad(f"{self.outstanding} requests unanswered 10 s after the last was due")


def _percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


def build_requests(pool: Path, port: int) -> list[bytes]:
    host = f"{HOST}:{port}"
    return [
        (
            f"POST /interactions HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nX-Signature-Ed25519: {signature}\r\n"
            f"X-Signature-Timestamp: {timestamp}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for signature, timestamp, body in read_pool(pool)
    ]


def measure(
    port: int,
    pool: Path,
    rate: float,
    duration_s: float,
    connections: int,
    expected_type: int,
    spin: bool = False,
) -> OpenLoopResult:
    """Drive ``rate`` requests/s for ``duration_s`` (the first 20%, at most 1 s, is warm-up)."""
    warmup_s = min(1.0, duration_s * 0.2)
    generator = _Generator(build_requests(pool, port), rate, expected_type, warmup_s, port, spin)
    try:
        import uvloop
    except ImportError:
        asyncio.run(generator.run(connections, duration_s))
    else:
        uvloop.run(generator.run(connections, duration_s))
    return OpenLoopResult(
        rate=rate,
        duration_s=duration_s,
        completed=len(generator.latencies),
        non200=generator.non200,
        failed=generator.failed,
        p50_ms=_percentile(generator.latencies, 50),
        p99_ms=_percentile(generator.latencies, 99),
        max_ms=_percentile(generator.latencies, 100),
        service_p50_ms=_percentile(generator.service, 50),
        service_p99_ms=_percentile(generator.service, 99),
        send_lag_p99_ms=_percentile(generator.send_lag, 99),
        first_bad=generator.first_bad,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool", type=Path, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--expected-type", type=int, default=1)
    parser.add_argument(
        "--spin", action="store_true", help="busy-wait between requests instead of 1 ms ticks"
    )
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or args.connections <= 0:
        parser.error("--rate, --duration and --connections must be positive")
    result = measure(
        args.port,
        args.pool,
        args.rate,
        args.duration,
        args.connections,
        args.expected_type,
        args.spin,
    )
    sys.stdout.write(msgspec.json.encode(asdict(result)).decode() + "\n")
    return 1 if result.non200 or result.failed or result.first_bad else 0


if __name__ == "__main__":
    sys.exit(main())
