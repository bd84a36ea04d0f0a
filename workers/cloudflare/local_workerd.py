"""Run the Worker in workerd on loopback, for the tests and the benchmark.

``workerd`` (npm, pinned in package-lock.json) serves a Cap'n Proto config generated here
into a scratch directory: the Worker's module, a manifest exported by the backend, text
vars, and secrets read from the process environment (``fromEnvironment``) so that no
secret is written to disk. The listening socket is bound by Python and handed to workerd
(``--socket-fd``), so the port is known without a race and readiness is polled on
``GET /health``. Outbound fetches may reach loopback only.

Used from Python (``running_workerd``) or by hand::

    python workers/cloudflare/local_workerd.py --manifest src/manifest.json \\
        --var BACKEND_URL=http://127.0.0.1:8081 --port 8787
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER_JS = HERE / "src" / "index.js"
WORKERD = HERE / "node_modules" / ".bin" / "workerd"
COMPATIBILITY_DATE = "2025-09-01"
SECRET_NAMES = ("DISCORD_PUBLIC_KEY", "HANDOVER_SECRET")


class WorkerdError(RuntimeError):
    """workerd is missing, did not start, or exited early."""


@dataclass(frozen=True)
class WorkerSpec:
    """One Worker service in the config, reachable on its own socket."""

    name: str
    module: Path
    manifest: Path | None = None
    vars: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=lambda: {s: s for s in SECRET_NAMES})
    """Binding name → the environment variable of the workerd process it is read from."""


def workerd_binary() -> Path:
    if not WORKERD.exists():
        raise WorkerdError(f"workerd is not installed: run `npm ci` in {HERE}")
    return WORKERD


def _capnp_text(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Cap'n Proto text literal


def render_config(workers: Sequence[WorkerSpec], directory: Path) -> Path:
    """Write ``config.capnp`` (and copies of the modules) into ``directory``."""
    services = []
    sockets = []
    consts = []
    for spec in workers:
        folder = directory / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(spec.module, folder / "index.js")
        modules = [f'(name = "index.js", esModule = embed "{spec.name}/index.js")']
        if spec.manifest is not None:
            shutil.copyfile(spec.manifest, folder / "manifest.json")
            modules.append(f'(name = "manifest.json", json = embed "{spec.name}/manifest.json")')
        bindings = [
            f"(name = {_capnp_text(k)}, text = {_capnp_text(v)})" for k, v in spec.vars.items()
        ]
        bindings += [f'(name = "{b}", fromEnvironment = "{e}")' for b, e in spec.secrets.items()]
        const = "worker" + "".join(p.capitalize() for p in spec.name.split("_"))
        services.append(f'(name = "{spec.name}", worker = .{const})')
        sockets.append(
            f'(name = "{spec.name}", address = "127.0.0.1:0", http = (), service = "{spec.name}")'
        )
        consts.append(
            f"const {const} :Workerd.Worker = (\n"
            f"  modules = [{', '.join(modules)}],\n"
            f'  compatibilityDate = "{COMPATIBILITY_DATE}",\n'
            f"  bindings = [{', '.join(bindings)}],\n"
            '  globalOutbound = "loopback",\n);\n'
        )
    services.append('(name = "loopback", network = (allow = ["local"]))')
    text = (
        'using Workerd = import "/workerd/workerd.capnp";\n\n'
        "const config :Workerd.Config = (\n"
        f"  services = [{', '.join(services)}],\n"
        f"  sockets = [{', '.join(sockets)}],\n);\n\n" + "\n".join(consts)
    )
    path = directory / "config.capnp"
    path.write_text(text)
    return path


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


def _healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return conn.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


@dataclass
class RunningWorkerd:
    process: subprocess.Popen[bytes]
    urls: dict[str, str]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def running_workerd(
    workers: Sequence[WorkerSpec],
    *,
    secrets: Mapping[str, str],
    core: int | None = None,
    startup_timeout_s: float = 20.0,
) -> Iterator[RunningWorkerd]:
    """Start one workerd process serving ``workers``; yields their base URLs by name."""
    binary = workerd_binary()
    with contextlib.ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="workerd-")))
        config = render_config(workers, directory)
        socks = {spec.name: stack.enter_context(_listening_socket()) for spec in workers}
        argv = [str(binary), "serve", str(config)]
        for name, sock in socks.items():
            argv += ["--socket-fd", f"{name}={sock.fileno()}"]
        if core is not None:
            argv = ["taskset", "-c", str(core), *argv]
        log_path = directory / "workerd.log"
        log_file = stack.enter_context(log_path.open("wb"))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", tempfile.gettempdir()),
            **secrets,
        }
        process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            pass_fds=[s.fileno() for s in socks.values()],
            start_new_session=True,
        )
        running = RunningWorkerd(
            process,
            {n: f"http://127.0.0.1:{s.getsockname()[1]}" for n, s in socks.items()},
            log_path,
        )
        try:
            deadline = time.monotonic() + startup_timeout_s
            for sock in socks.values():
                while not _healthy(sock.getsockname()[1]):
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise WorkerdError(f"workerd did not start:\n{running.log_text()[-3000:]}")
                    time.sleep(0.02)
            yield running
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the Worker in workerd on loopback.")
    parser.add_argument(
        "--manifest",
        type=Path,
        required=True,
        help="from `catalyst-interactions manifest --out FILE`",
    )
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--seconds", type=float, default=3600.0)
    args = parser.parse_args(argv)
    missing = [s for s in SECRET_NAMES if not os.environ.get(s)]
    if missing:
        sys.stderr.write(f"set {', '.join(missing)} in the environment\n")
        return 2
    variables = dict(v.split("=", 1) for v in args.var)
    spec = WorkerSpec("edge", WORKER_JS, args.manifest, variables)
    with running_workerd([spec], secrets={s: os.environ[s] for s in SECRET_NAMES}) as run:
        sys.stdout.write(f"Worker listening on {run.urls['edge']}/interactions\n")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
