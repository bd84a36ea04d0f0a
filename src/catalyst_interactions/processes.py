"""``serve``'s process layout: edges and workers in their own processes, under one supervisor.

The supervisor binds the listening socket once and hands it to every edge process, which all
``accept`` on it (one shared socket rather than SO_REUSEPORT: a connection waiting in the
backlog is taken by whichever edge is free, also while one edge is being replaced). Workers
run in separate processes at a lower priority, so the edge keeps its pace while charts are
rendered and delivered; their render processes are lower still (``bot.charting``).

Signals to the supervisor:

* SIGTERM / SIGINT: stop. Edges first (each finishes the requests it has read, and every
  deferred job they acknowledged is already in the durable queue), then workers (each lets
  running jobs finish for a grace period and hands the rest back to the queue).
* SIGHUP: reload, one process at a time: a new process is started and ready before the one it
  replaces is stopped as above, so the port never stops answering. A process with its own
  metrics port (``--metrics-port``) is stopped first, since only one can bind that port; with
  one edge, connections then wait in the socket's queue for the few seconds the new one takes.

A child that dies on its own is restarted (after a pause when it dies right after starting).
Every child exits when the supervisor dies, even by SIGKILL (:mod:`.ops.lifeline`).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from typing import Literal

from .settings import ConfigError, Settings, cores

log = logging.getLogger("catalyst_interactions.processes")

WORKER_NICE = 5
"""Workers yield to the edge when both want a core; their render processes yield more."""
STOP_GRACE_S = 20.0
"""How long a child may take to stop before it is killed (uvicorn's drain + a worker's grace)."""
READY_TIMEOUT_S = 60.0
CRASH_LOOP_S = 2.0
"""A child dying sooner than this after its start is restarted only after a pause."""

Kind = Literal["edge", "worker"]


def parse_processes(value: str, option: str = "--processes") -> int:
    """``auto`` (one per core) or a positive integer."""
    text = value.strip().lower()
    if text == "auto":
        return cores()
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{option} must be a positive number or auto; got {value!r}")
    return int(text)


def share_of_workers(settings: Settings, processes: int) -> Settings:
    """Each of ``processes`` worker processes gets its share of the host's job slots and
    render processes (the settings describe one host)."""
    if processes <= 1:
        return settings
    pool = settings.process_pool_size
    return dataclasses.replace(
        settings,
        worker_concurrency=max(1, settings.worker_concurrency // processes),
        process_pool_size=0 if pool == 0 else max(1, pool // processes),
    )


@dataclass(frozen=True, slots=True)
class Layout:
    edges: int
    """Edge processes sharing the listening socket (0: workers only)."""
    workers: int
    """Worker processes (0: the edges only, workers run elsewhere)."""
    metrics_port: int | None = None
    """Each process's own ``/metrics`` and ``/ready`` listener: edge *i* on
    ``metrics_port + i``, worker *j* on ``metrics_port + edges + j``."""
    metrics_host: str = "127.0.0.1"

    def metrics_address(self, kind: Kind, index: int) -> tuple[str, int] | None:
        if self.metrics_port is None:
            return None
        offset = index if kind == "edge" else self.edges + index
        return self.metrics_host, self.metrics_port + offset


# -- what runs in a child (module-level functions of picklable values: spawned, not forked) --
def _become_child(parent_pid: int) -> None:
    """A served child's first step: it dies with the supervisor (SIGTERM) and leaves the
    terminal's process group, so Ctrl-C reaches the supervisor, which stops it in order."""
    from .ops.lifeline import tie_to_parent

    tie_to_parent(parent_pid, signal_on_death=signal.SIGTERM)
    os.setpgid(0, 0)


def _edge_main(
    settings: Settings,
    sock: socket.socket,
    parent_pid: int,
    ready: Event,
    index: int,
    metrics_address: tuple[str, int] | None,
) -> None:
    _become_child(parent_pid)
    from .runner import serve_edge_on

    serve_edge_on(
        settings, sock, on_ready=ready.set, name=f"edge-{index}", metrics_address=metrics_address
    )


def _worker_main(
    settings: Settings,
    parent_pid: int,
    ready: Event,
    index: int,
    metrics_address: tuple[str, int] | None,
) -> None:
    from .ops.lifeline import lower_priority

    _become_child(parent_pid)
    lower_priority(WORKER_NICE)
    from .runner import run_worker

    host, port = metrics_address or ("127.0.0.1", None)
    run_worker(
        settings,
        metrics_host=host,
        metrics_port=port,
        on_ready=ready.set,
        name=f"worker-{index}",
    )


@dataclass(slots=True)
class _Child:
    kind: Kind
    index: int
    process: SpawnProcess
    ready: Event
    started: float


class Supervisor:
    """Starts, watches, reloads and stops the edge and worker processes of one host."""

    def __init__(
        self,
        settings: Settings,
        layout: Layout,
        *,
        host: str = "127.0.0.1",
        port: int = 8081,
        reload_settings: Callable[[], Settings] | None = None,
    ) -> None:
        if layout.edges < 0 or layout.workers < 0 or layout.edges + layout.workers == 0:
            raise ConfigError("nothing to run: no edge and no worker processes")
        self._settings = dataclasses.replace(settings, edge_processes=max(1, layout.edges))
        self._layout = layout
        self._host = host
        self._port = port
        self._reload_settings = reload_settings
        self._ctx = multiprocessing.get_context("spawn")
        self._children: list[_Child] = []
        self._sock: socket.socket | None = None
        self._signals: list[int] = []
        self.bound_port: int | None = None

    # -- children -----------------------------------------------------------------------
    def _start(self, kind: Kind, index: int) -> _Child:
        ready = self._ctx.Event()
        process: SpawnProcess
        if kind == "edge":
            assert self._sock is not None
            process = self._ctx.Process(
                target=_edge_main,
                args=(
                    self._settings,
                    self._sock,
                    os.getpid(),
                    ready,
                    index,
                    self._layout.metrics_address(kind, index),
                ),
                name=f"catalyst-edge-{index}",
            )
        else:
            process = self._ctx.Process(
                target=_worker_main,
                args=(
                    share_of_workers(self._settings, self._layout.workers),
                    os.getpid(),
                    ready,
                    index,
                    self._layout.metrics_address(kind, index),
                ),
                name=f"catalyst-worker-{index}",
            )
        process.start()
        log.info("process started", extra={"kind": kind, "index": index, "pid": process.pid})
        return _Child(kind, index, process, ready, time.monotonic())

    def _wait_ready(self, child: _Child) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if child.ready.wait(0.1):
                return True
            if not child.process.is_alive():
                return False
        return False

    @staticmethod
    def _stop_child(child: _Child) -> None:
        if child.process.is_alive() and child.process.pid is not None:
            os.kill(child.process.pid, signal.SIGTERM)
        child.process.join(STOP_GRACE_S)
        if child.process.is_alive():
            log.error("process did not stop in time; killing it", extra={"pid": child.process.pid})
            child.process.kill()
            child.process.join(5)

    # -- the supervisor's loop ------------------------------------------------------------
    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"cannot listen on {self._host}:{self._port}: {exc.strerror}"
            ) from None
        sock.listen(2048)
        sock.set_inheritable(True)
        return sock

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._signals.append(signum)

    def run(self, *, on_listening: Callable[[int], None] | None = None) -> None:
        """Run until SIGTERM or SIGINT; ``on_listening`` gets the bound port once all
        children are ready."""
        if self._layout.edges:
            self._sock = self._bind()
            self.bound_port = int(self._sock.getsockname()[1])
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        previous_fd = signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            for index in range(self._layout.edges):
                self._children.append(self._start("edge", index))
            for index in range(self._layout.workers):
                self._children.append(self._start("worker", index))
            for child in list(self._children):
                if not self._wait_ready(child):
                    raise ConfigError(
                        f"the {child.kind} process {child.index} did not start "
                        "(its error is in the log above)"
                    )
            log.info(
                "serving",
                extra={
                    "host": self._host,
                    "port": self.bound_port,
                    "edges": self._layout.edges,
                    "workers": self._layout.workers,
                },
            )
            if on_listening is not None and self.bound_port is not None:
                on_listening(self.bound_port)
            self._loop(wake_r)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(previous_fd)
            wake_r.close()
            wake_w.close()
            if self._sock is not None:
                self._sock.close()

    def _loop(self, wake: socket.socket) -> None:
        while True:
            wait([wake, *(c.process.sentinel for c in self._children)], timeout=1.0)
            try:
                while wake.recv(512):
                    pass
            except BlockingIOError:
                pass
            while self._signals:
                signum = self._signals.pop(0)
                if signum == signal.SIGHUP:
                    self._reload()
                else:
                    log.info("stopping", extra={"signal": signal.Signals(signum).name})
                    return
            for position, child in enumerate(self._children):
                if child.process.is_alive():
                    continue
                log.error(
                    "process died; restarting it",
                    extra={
                        "kind": child.kind,
                        "index": child.index,
                        "exit": child.process.exitcode,
                    },
                )
                if time.monotonic() - child.started < CRASH_LOOP_S:
                    time.sleep(CRASH_LOOP_S)
                self._children[position] = self._start(child.kind, child.index)

    def _reload(self) -> None:
        """Replace every child, one at a time, the new one ready before the old one stops."""
        if self._reload_settings is not None:
            try:
                self._settings = dataclasses.replace(
                    self._reload_settings(), edge_processes=max(1, self._layout.edges)
                )
            except ConfigError as exc:
                log.error("reload refused: %s", exc)
                return
        log.info("reloading")
        for position, old in enumerate(list(self._children)):
            if self._layout.metrics_address(old.kind, old.index) is not None:
                # Its metrics port can be bound by one process only: the old one goes first.
                # (Connections meanwhile wait in the shared socket's queue for another edge.)
                self._stop_child(old)
                self._children[position] = new = self._start(old.kind, old.index)
                if not self._wait_ready(new):
                    log.error("replacement did not start; the supervisor will retry it")
                continue
            new = self._start(old.kind, old.index)
            if not self._wait_ready(new):
                log.error("replacement did not start; keeping the old process")
                self._stop_child(new)
                continue
            self._children[position] = new
            self._stop_child(old)
        log.info("reloaded")

    def _stop_all(self) -> None:
        # Edges first: what they acknowledge is in the queue by the time they exit; workers
        # then finish or hand back what they hold.
        for kind in ("edge", "worker"):
            for child in self._children:
                if child.kind == kind and child.process.is_alive() and child.process.pid:
                    os.kill(child.process.pid, signal.SIGTERM)
            for child in self._children:
                if child.kind == kind:
                    self._stop_child(child)
        self._children.clear()
