"""``catalyst-interactions dev``: the edge, the workers and the local Discord in one process.

Two uvicorn servers share one event loop: the emulator (page + REST) on the chosen port and
the edge on a loopback port of its own, so the emulator reaches the edge over real HTTP
exactly as Discord would. Start-up uses the real paths only: the emulator signs with a fresh
key whose public half the edge verifies, the workers' REST client points at the emulator,
the endpoint URL is set with ``PATCH /applications/@me`` (the emulator PINGs it) and the
commands are registered with the same bulk overwrite ``catalyst-interactions register`` uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from ..app import Runtime, build_runtime
from ..discord.rest import DiscordError, DiscordRest
from ..emulator.app import Emulator, make_bot_token
from ..emulator.ratelimit import RateLimitRules
from ..emulator.world import (
    ADMIN_CHANNEL_ID,
    ADMIN_ROLE_ID,
    ADMIN_USER_ID,
    ALERTS_CHANNEL_ID,
    DEV_APPLICATION_ID,
    default_world,
)
from ..fileperms import write_private
from ..framework.registry import Registry
from ..ops.registration import registration_plan
from ..secret import Secret
from ..settings import Settings

if TYPE_CHECKING:
    from ..bot.resources import Resources
    from .demo import DemoSummary

__all__ = ["DEV_DATA_DIR", "DevStack", "DevStartError", "build_dev", "isolated_settings", "run_dev"]

log = logging.getLogger("catalyst_interactions.dev.stack")

GRACEFUL_SHUTDOWN_S = 3


DEV_DATA_DIR = Path("data") / "dev"

#: What ``dev`` ignores from the environment and ``.env`` unless asked (``--use-env``): every
#: production resource and credential. ``make run`` in a production checkout must not write
#: the production database as the page's admin persona, steal production jobs, post with the
#: real bot token or spend paid API keys.
PRODUCTION_VARIABLES = (
    "CATALYST_DATA_DIR",
    "CATALYST_DATABASE_URL",
    "CATALYST_QUEUE_URL",
    "CATALYST_REDIS_URL",
    "CATALYST_RECORD_PATH",
    "CATALYST_CHART_STORE_URL",
    "CATALYST_S3_ENDPOINT_URL",
    "CATALYST_S3_ACCESS_KEY",
    "CATALYST_S3_SECRET_KEY",
    "DISCORD_PUBLIC_KEY",
    "DISCORD_APPLICATION_ID",
    "DISCORD_BOT_TOKEN",
    "DISCORD_API_BASE",
    "CATALYST_STATE_SECRET",
    "CATALYST_HANDOVER_SECRET",
    "CATALYST_MARKET_PROVIDER",
    "TIINGO_API_KEY",
    "POLYGON_API_KEY",
    # An LLM's URL and model are kept (a local model server is a normal way to try /research);
    # its key is a paid credential.
    "CATALYST_LLM_API_KEY",
)


def isolated_settings(env: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """Settings from ``env`` without any production variable, on the data dir ``data/dev``;
    and the production variables that were set (now ignored)."""
    ignored = [name for name in PRODUCTION_VARIABLES if env.get(name, "").strip()]
    kept = {k: v for k, v in env.items() if k not in PRODUCTION_VARIABLES}
    settings = Settings.from_mapping(kept)
    return dataclasses.replace(settings, data_dir=DEV_DATA_DIR), ignored


class DevStartError(Exception):
    """The stack could not start (port in use, endpoint not verified, registration refused)."""


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the stack (two servers, one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Without it a response written in two parts waits for a delayed ACK (~40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DevStartError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(256)
    sock.setblocking(False)
    return sock


def _url_host(host: str) -> str:
    """A host to put in URLs: a wildcard bind is reached through loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class DevStack:
    """Everything ``dev`` runs, not started: ``await start()`` / ``await stop()``, or
    ``background()``. ``registry`` defaults to the bot's commands.

    ``settings`` supplies the data dir, queue, database and tuning; the key, application id,
    bot token, API base and admin ids are replaced by the emulator's. ``port=0`` picks a
    free port (tests). ``demo`` fills the database (once) and the channels (every start)
    with the simulated demo history (dev/demo.py).
    """

    def __init__(
        self,
        settings: Settings,
        registry: Registry[Resources] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8081,
        edge_port: int = 0,
        clock: Callable[[], float] = time.time,
        rate_limits: RateLimitRules | None = None,
        deadline_s: float = 3.0,
        demo: bool = False,
    ) -> None:
        self._settings_in = settings
        self._demo = demo
        self._registry = registry
        self.host = host
        self._port = port
        self._edge_port = edge_port
        application_id = settings.application_id or DEV_APPLICATION_ID
        self.env_file = settings.data_dir / "dev.env"
        """What the bot-token commands need to reach this local Discord (see docs)."""
        self.emulator = Emulator(
            world=default_world(application_id),
            bot_token=_bot_token(settings.data_dir / "dev-bot-token", application_id),
            # A specific address the operator chose is answered too; a wildcard bind still
            # answers loopback names only (DNS-rebinding defence).
            extra_hosts=frozenset() if host in ("", "0.0.0.0", "::") else frozenset({host}),
            clock=clock,
            rate_limits=rate_limits,
            deadline_s=deadline_s,
        )
        self.runtime: Runtime | None = None
        self.settings: Settings | None = None
        self._servers: list[_Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._sockets: list[socket.socket] = []
        self.url = ""
        self.edge_url = ""
        self.demo: DemoSummary | None = None
        """What the demo added and posted, once started with ``demo=True``."""
        self.key_file = settings.data_dir / "dev-signing-key"
        """The emulator's private seed, for ``catalyst-interactions send --key-file``."""

    def __repr__(self) -> str:
        return f"DevStack(url={self.url!r}, edge_url={self.edge_url!r})"

    @property
    def api_base(self) -> str:
        return self.emulator.api_base

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind, serve, verify the endpoint and register the commands; then it is ready."""
        page_sock = _bind(self.host, self._port)
        self._sockets.append(page_sock)
        edge_sock = _bind("127.0.0.1", self._edge_port)
        self._sockets.append(edge_sock)
        page_port = page_sock.getsockname()[1]
        self.url = f"http://{_url_host(self.host)}:{page_port}"
        self.emulator.public_base = self.url
        self.edge_url = f"http://127.0.0.1:{edge_sock.getsockname()[1]}"
        world = self.emulator.world
        self.settings = dataclasses.replace(
            self._settings_in,
            public_key_hex=self.emulator.public_key_hex,
            application_id=world.application_id,
            bot_token=self.emulator.bot_token,
            api_base=self.emulator.api_base,
            admin_user_ids=self._settings_in.admin_user_ids | {ADMIN_USER_ID},
            admin_role_ids=self._settings_in.admin_role_ids | {ADMIN_ROLE_ID},
            admin_guild_ids=self._settings_in.admin_guild_ids | {world.guild_id},
        )
        self.emulator.export_signing_key(self.key_file)
        self.runtime = build_runtime(self.settings, registry=self._registry, workers=True)
        edge_ready = asyncio.Event()

        async def mark_ready() -> None:
            edge_ready.set()

        self.runtime.app.startup_hooks.append(mark_ready)
        for app, sock in ((self.emulator, page_sock), (self.runtime.app, edge_sock)):
            config = uvicorn.Config(
                app,
                lifespan="on",
                access_log=False,
                log_config=None,
                server_header=False,
                http="httptools",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            )
            server = _Server(config)
            self._servers.append(server)
            self._tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
        ready = asyncio.create_task(edge_ready.wait())
        done, _ = await asyncio.wait({ready, *self._tasks}, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            await self.stop()
            raise DevStartError("the edge did not start; see the log above")
        try:
            await self._connect()
            if self._demo:
                await self._start_demo()
        except BaseException:
            await self.stop()
            raise
        self._write_env_file()

    async def _start_demo(self) -> None:
        """The demo world: simulated history in the database, messages in the channels."""
        from .demo import start_demo

        assert self.settings is not None
        assert self.runtime is not None
        if self.settings.market_provider != "demo":
            # Its history is priced from the simulated market; real prices would not match.
            log.warning(
                "demo world not started: it needs CATALYST_MARKET_PROVIDER=demo",
                extra={"market_provider": self.settings.market_provider},
            )
            return
        services = self.runtime.resources
        assert services is not None  # build_runtime always builds them
        rest = self._rest()
        try:
            async with rest:
                self.demo = await start_demo(
                    rest, services, alerts_channel=ALERTS_CHANNEL_ID, admin_channel=ADMIN_CHANNEL_ID
                )
        except DiscordError as exc:
            raise DevStartError(f"posting the demo messages failed: {exc}") from None

    def _rest(self) -> DiscordRest:
        """The real REST client, pointed at this local Discord with its bot token."""
        assert self.settings is not None
        return DiscordRest(
            base_url=self.settings.api_base,
            application_id=self.emulator.world.application_id,
            bot_token=self.settings.bot_token,
            max_attempts=2,
        )

    def _write_env_file(self) -> None:
        """``dev.env``: ``--env-file data/dev/dev.env`` points any command at this stack."""
        assert self.settings is not None
        lines = [
            "# Written by `catalyst-interactions dev` at every start: the local Discord's",
            "# REST API and bot token, for `admin post-report` and the other bot-token",
            "# commands:  catalyst-interactions admin post-report --env-file <this file> FILE",
            f"DISCORD_API_BASE={self.api_base}",
            f"DISCORD_APPLICATION_ID={self.emulator.world.application_id}",
            f"DISCORD_BOT_TOKEN={self.emulator.bot_token.reveal()}",
            f"CATALYST_DATA_DIR={self.settings.data_dir.resolve()}",
            f"CATALYST_ADMIN_CHANNEL_ID={ADMIN_CHANNEL_ID}",
        ]
        write_private(self.env_file, "\n".join(lines) + "\n")  # it holds a token

    async def _connect(self) -> None:
        """The two things an operator does in the Developer Portal, through the real client."""
        assert self.settings is not None
        assert self.runtime is not None
        rest = self._rest()
        try:
            async with rest:
                await rest.edit_application(
                    {"interactions_endpoint_url": self.edge_url + "/interactions"}
                )
                registry = self.runtime.registry
                plan = registration_plan(
                    registry.commands_json(),
                    registry.home_only_commands(),
                    self.settings.admin_guild_ids,
                )
                for guild_id, commands in plan.items():
                    await rest.bulk_overwrite_commands(commands, guild_id)
        except DiscordError as exc:
            raise DevStartError(f"setting up the application failed: {exc}") from None

    async def stop(self) -> None:
        """Stop accepting, end live streams, let requests finish, stop the workers."""
        self.emulator.store.hub.close()
        for server in self._servers:
            server.should_exit = True
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for sock in self._sockets:
            sock.close()
        self._servers.clear()
        self._tasks.clear()
        self._sockets.clear()

    async def wait_closed(self) -> None:
        """Until a server stops on its own (it normally runs until :meth:`stop`)."""
        if self._tasks:
            await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)

    @contextlib.contextmanager
    def background(self, timeout_s: float = 20.0) -> Iterator[DevStack]:
        """Run the stack on its own event loop in a thread (for synchronous tests)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []
        stopping = asyncio.Event()

        async def main() -> None:
            try:
                await self.start()
            except Exception as exc:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(exc)
                started.set()
                return
            started.set()
            await stopping.wait()
            await self.stop()

        thread = threading.Thread(
            target=loop.run_until_complete, args=(main(),), name="catalyst-dev", daemon=True
        )
        thread.start()
        if not started.wait(timeout_s):
            raise DevStartError("the dev stack did not start in time")
        if failure:
            thread.join(timeout_s)
            loop.close()
            raise failure[0]
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(stopping.set)
            thread.join(timeout_s)
            loop.close()


def _bot_token(path: Path, application_id: str) -> Secret:
    """The local Discord's bot token, kept in the data dir so a loaded ``dev.env`` stays
    valid across restarts. It opens nothing but this machine's emulator."""
    try:
        saved = path.read_text(encoding="utf-8").strip()
    except OSError:
        saved = ""
    head = make_bot_token(application_id).reveal().split(".", 1)[0]  # base64 of the app id
    if saved.startswith(head + "."):  # made for this application: keep it
        return Secret(saved)
    token = make_bot_token(application_id)
    write_private(path, token.reveal() + "\n")
    return token


build_dev = DevStack
"""The whole local system, not started (:class:`DevStack`; the name the CLI and tests use)."""


def run_dev(stack: DevStack, *, announce: Callable[[str], None]) -> None:
    """Run until Ctrl-C or SIGTERM; ``announce`` gets the ready message."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stack.start()
        announce(ready_message(stack))
        waiter = asyncio.create_task(stop.wait())
        closed = asyncio.create_task(stack.wait_closed())
        await asyncio.wait({waiter, closed}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        closed.cancel()
        await stack.stop()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        asyncio.run(main())


def ready_message(stack: DevStack) -> str:
    settings = stack.settings
    data_dir = settings.data_dir if settings is not None else "?"
    commands = len(stack.emulator.store.all_commands())
    lines = [
        f"Local Discord ready: {stack.url}/",
        f"  edge: {stack.edge_url}/interactions (signing key: {stack.key_file})",
        f"  REST: {stack.api_base} · {commands} command(s) registered · data: {data_dir}",
    ]
    if stack.demo is not None:
        lines.append(
            f"  demo: {stack.demo.alert_messages} alert(s) in #alerts"
            + (", a pending report in #admin" if stack.demo.report_posted else "")
            + " · simulated history (reset: stop, delete the data dir, start again)"
        )
    lines += [
        f"  bot-token commands: add --env-file {stack.env_file} (e.g. admin post-report)",
        "  Ctrl-C stops everything.",
    ]
    return "\n".join(lines)
