"""The scale-out configuration's moving parts, shared by its fault suite
(tests/e2e/test_scale_out_faults.py) and the soak (bench/soak.py): the local Discord with a
count of what reached it, the fleet of edge and worker processes, and the steady mix of
interactions sent through the local Discord's page API."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from nacl.signing import SigningKey

from catalyst_interactions.discord.snowflake import make_snowflake
from catalyst_interactions.emulator import Emulator

LOADING = 1 << 7
"""The flag of a deferred answer's "… is thinking" placeholder."""
_WEBHOOK = re.compile(r"^/api/v10/webhooks/\d+/([^/]+)(/messages/@original)?$")


# -- the local Discord, with a count of what reached it ------------------------------------
class CountingDiscord:
    """The emulator behind a counter of what reached it per interaction token.

    A deferred answer may be edited several times (progress first, then the answer), so the
    *final* writes are counted apart: an edit that uploads a file (a chart) or says "Sorry"
    (the worker's failure notice), and every follow-up message. Two final writes for one
    token are an effect done twice.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.edits: Counter[str] = Counter()
        self.finals: Counter[str] = Counter()
        self.followups: Counter[str] = Counter()
        self.answered_at: dict[str, float] = {}
        """When each token's first final write arrived (wall clock)."""
        self.final_kinds: dict[str, list[str]] = {}
        """Per token, what each final write was: ``upload:<PNG digest>`` or ``notice``."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.emulator(scope, receive, send)
            return
        match = _WEBHOOK.match(scope["path"])
        status: list[int] = []
        body = bytearray()

        async def keep() -> Any:
            message = await receive()
            if match is not None:
                body.extend(message.get("body", b""))
            return message

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.emulator(scope, keep, watch)
        if match is None or not status or status[0] >= 300:
            return
        token, original = match.group(1), match.group(2)
        if scope["method"] == "PATCH" and original:
            self.edits[token] += 1
            headers = dict(scope["headers"])
            upload = headers.get(b"content-type", b"").startswith(b"multipart/")
            notice = b'"content":"Sorry' in body or b'"content": "Sorry' in body
            if not (upload or notice):
                return  # progress
            self.finals[token] += 1
            if upload:
                start, end = body.find(b"\x89PNG"), body.find(b"IEND")
                kind = "upload:" + hashlib.sha256(bytes(body[start : end + 8])).hexdigest()[:16]
            else:
                kind = "notice"
            self.final_kinds.setdefault(token, []).append(kind)
        elif scope["method"] == "POST" and not original:
            self.followups[token] += 1
        else:
            return
        self.answered_at.setdefault(token, time.time())


# -- the processes under test ----------------------------------------------------------------
@dataclass
class Fleet:
    env: dict[str, str]
    port: int
    logs: Path
    edges: subprocess.Popen[bytes] | None = None
    workers: subprocess.Popen[bytes] | None = None
    seen: set[int] = field(default_factory=set)
    """Every descendant pid ever observed (for the no-process-left-behind check)."""

    def _start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "catalyst_interactions", *argv],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> None:
        self.edges = self._start(
            "edges", "serve", "--no-workers", "--processes", "2", "--port", str(self.port)
        )
        self.workers = self._start("workers", "worker", "--processes", "2")

    def children(self, proc: subprocess.Popen[bytes] | None) -> list[int]:
        if proc is None:
            return []
        found = descendants(proc.pid)
        self.seen.update(found)
        return [pid for pid in found if pid != proc.pid]

    def direct_children(self, proc: subprocess.Popen[bytes] | None) -> list[int]:
        if proc is None:
            return []
        kids: list[int] = []
        for task in Path(f"/proc/{proc.pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                kids += [int(p) for p in task.read_text().split()]
        return [pid for pid in kids if "resource_tracker" not in cmdline(pid)]

    def stop(self) -> None:
        for proc in (self.edges, self.workers):
            if proc is not None and proc.poll() is None:
                self.children(proc)
                proc.send_signal(signal.SIGTERM)
        for proc in (self.edges, self.workers):
            if proc is not None:
                try:
                    proc.wait(45)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}"
            for p in sorted(self.logs.glob("*.log"))
        )


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in task.read_text().split():
                found.extend(descendants(int(child)))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_until(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# -- the mixed load ---------------------------------------------------------------------------
@dataclass
class Sent:
    kind: str
    at: float
    """Wall clock when it was sent."""
    result: dict[str, Any]
    """The emulator's answer (``ok``, ``response_type``, ``elapsed_ms``, ...)."""
    reason: str | None = None
    done: float = field(default_factory=time.time)
    """Wall clock when the initial answer came back."""


class Mix:
    """Sends the mix at ``rate`` per second through the emulator's page API (PINGs go to the
    edge directly, signed with the emulator's key, as Discord's own health checks do)."""

    def __init__(
        self,
        page: str,
        edge: str,
        key: SigningKey,
        app_id: str,
        emulator: Emulator,
        rate: float,
    ) -> None:
        self.page = page
        self.emulator = emulator
        self.rate = rate
        self.edge = edge
        self.key = key
        self.app_id = app_id
        self.sent: list[Sent] = []
        self.pings: Counter[str] = Counter()
        self.rng = random.Random(12)
        self.stop = threading.Event()
        self.commands: dict[str, str] = {}
        self.charts: list[str] = []
        """Interaction ids of the /chart commands that were answered."""
        self._serial = 0

    def run(self, duration_s: float) -> None:
        asyncio.run(self._run(duration_s))

    async def _run(self, duration_s: float) -> None:
        async with (
            httpx.AsyncClient(base_url=self.page, timeout=30) as page,
            httpx.AsyncClient(timeout=10) as edge,
        ):
            state = (await page.get("/ui/state")).json()
            self.commands = {c["name"]: str(c["id"]) for c in state["commands"]}
            tasks: set[asyncio.Task[None]] = set()
            start = time.monotonic()
            index = 0
            while not self.stop.is_set() and time.monotonic() - start < duration_s:
                due = start + index / self.rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                task = asyncio.create_task(self._one(page, edge, index))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                index += 1
            await asyncio.gather(*tasks)

    async def _one(self, page: httpx.AsyncClient, edge: httpx.AsyncClient, index: int) -> None:
        pick = self.rng.random()
        at = time.time()
        if pick < 0.15:
            await self._ping(edge, at)
            return
        body: dict[str, Any]
        reason = None
        if pick < 0.40:
            kind, body = "help", self._command("help", "regular", {})
        elif pick < 0.72:
            ticker = self.rng.choice(["AAPL", "MSFT", "NVDA", "TSLA", "AMZN"])
            timeframe = self.rng.choice(["1D", "5D", "1M"])
            kind = "chart"
            body = self._command("chart", "regular", {"ticker": ticker, "timeframe": timeframe})
        elif pick < 0.88 and self.charts:
            kind = "click"
            # A chart already drawn (a busy machine may still be drawing the newest ones).
            candidates = self.rng.sample(self.charts, min(len(self.charts), 30))
            clicks = (self._click(c) for c in candidates)
            found = next((b for b in clicks if b is not None), None)
            if found is None:
                return
            body = found
        else:
            self._serial += 1
            reason = f"e2e-{self._serial}"
            value = f"{self.rng.randint(0, 100) / 100:.2f}"
            kind = "admin"
            body = self._command(
                "admin set",
                "admin",
                {"parameter": "min_score", "value": value, "reason": reason},
            )
        try:
            response = await page.post("/ui/interactions", json=body)
            result = response.json()
        except httpx.HTTPError as exc:
            result = {"ok": False, "error": f"page request failed: {exc!r}"}
        self.sent.append(Sent(kind, at, result, reason))
        if kind == "chart" and result.get("ok"):
            self.charts.append(str(result["interaction_id"]))

    def _command(self, name: str, persona: str, options: dict[str, Any]) -> dict[str, Any]:
        path = name.split()
        return {
            "kind": "command",
            "persona": persona,
            "command_id": self.commands[path[0]],
            "path": path,
            "options": options,
        }

    def _click(self, interaction_id: str) -> dict[str, Any] | None:
        """Press a button of the chart message ``/chart`` interaction made, once drawn."""
        record = self.emulator.store.interactions.get(interaction_id)
        message_id = record.original_id if record is not None else None
        message = self.emulator.store.messages.get(message_id or "")
        if message is None or int(message.get("flags", 0)) & LOADING:
            return None
        buttons = [
            c["custom_id"]
            for row in message.get("components", [])
            for c in row.get("components", [])
            if c.get("type") == 2 and c.get("custom_id") and not c.get("disabled")
        ]
        if not buttons:
            return None
        return {
            "kind": "component",
            "persona": "regular",
            "message_id": str(message_id),
            "custom_id": self.rng.choice(buttons),
        }

    async def _ping(self, edge: httpx.AsyncClient, at: float) -> None:
        self._serial += 1
        payload = {
            "id": make_snowflake(int(time.time() * 1000), self._serial % 4096),
            "application_id": self.app_id,
            "type": 1,
            "token": "ping",
            "version": 1,
        }
        body = json.dumps(payload).encode()
        stamp = str(int(time.time()))
        headers = {
            "X-Signature-Ed25519": self.key.sign(stamp.encode() + body).signature.hex(),
            "X-Signature-Timestamp": stamp,
            "Content-Type": "application/json",
        }
        try:
            response = await edge.post(self.edge, content=body, headers=headers)
            outcome = "pong" if response.json() == {"type": 1} else f"bad {response.status_code}"
        except (httpx.HTTPError, ValueError) as exc:
            outcome = type(exc).__name__
        self.pings[outcome] += 1
        self.sent.append(Sent("ping", at, {"ok": outcome == "pong", "ping": outcome}))


def ready(port: int) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200
    return False


def seed(url: str) -> None:
    from catalyst_interactions.store import ParameterType, Store, database_url

    async def seed() -> None:
        store = Store(database_url(url, Path(".")))
        try:
            await store.migrate()
            await store.parameters.define(
                "min_score", ParameterType.FLOAT, 0.5, minimum=0, maximum=1
            )
        finally:
            await store.close()

    asyncio.run(seed())
