"""The command line. Configuration errors exit non-zero with one clear line."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from . import __version__
from .cli_settings import (
    add_env_file_option,
    env_file,
    inspecting_settings,
    load_settings,
)
from .settings import ConfigError, Settings

if TYPE_CHECKING:
    from .jobs import JobQueue, JobState

CONFIG_ERROR_EXIT = 2
_F = TypeVar("_F", bound=Callable[..., Any])
_T = TypeVar("_T")


def _fail(message: str) -> NoReturn:
    """Exit with status 2 and one ``error:`` line per problem."""
    for line in message.splitlines() or [""]:
        click.echo(f"error: {line}", err=True)
    sys.exit(CONFIG_ERROR_EXIT)


@contextmanager
def _start_errors() -> Iterator[None]:
    """A setting or the queue URL that cannot be used, found while starting: one line, exit 2."""
    from .jobs import QueueError

    try:
        yield
    except ConfigError as exc:
        _fail(str(exc))
    except QueueError as exc:
        _fail(f"CATALYST_QUEUE_URL: {exc}")


def _metrics_options(port_help: str) -> Callable[[_F], _F]:
    """--metrics-port and --metrics-host, for the commands that start processes."""

    def add(command: _F) -> _F:
        command = click.option(
            "--metrics-host",
            default="127.0.0.1",
            show_default=True,
            help="Address the --metrics-port listener binds to.",
        )(command)
        return click.option("--metrics-port", type=int, help=port_help)(command)

    return add


def _settings() -> Settings:
    """Every command's settings (environment, then --env-file or ./.env), all checked."""
    try:
        return load_settings()
    except ConfigError as exc:
        _fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="catalyst-interactions")
def main() -> None:
    """Serve Discord interactions for Catalyst Bot."""


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 for every interface).",
)
@click.option("--port", default=8081, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-workers", is_flag=True, help="Run the edge only (workers run elsewhere).")
@_metrics_options(
    "Serve /metrics and /ready on this port only (not on --port); with several "
    "processes, process i (edges first, then workers) uses this port + i."
)
@click.option(
    "--processes",
    default="1",
    show_default=True,
    help="Edge processes sharing the port: a number, or auto for one per core.",
)
@click.option(
    "--worker-processes",
    type=click.IntRange(min=1),
    help="Worker processes (default: as many as edge processes).",
)
@click.option(
    "--layout",
    type=click.Choice(["split", "single"]),
    default="split",
    show_default=True,
    help="split: edges and workers in their own processes under a supervisor (SIGHUP "
    "reloads; one edge alone runs without one); single: one process, edge and workers on "
    "one event loop (the old layout, kept for comparison).",
)
def serve(
    host: str,
    port: int,
    no_workers: bool,
    metrics_port: int | None,
    metrics_host: str,
    processes: str,
    worker_processes: int | None,
    layout: str,
) -> None:
    """Run the edge (POST /interactions) and, unless --no-workers, the workers."""
    from .preflight import require_installed
    from .processes import parse_processes
    from .runner import run_serve, run_server

    settings = _settings()
    with _start_errors():
        settings.public_key()
        # Checked here, before any process starts: one line, not a child's traceback.
        problem = settings.admin_scope_problem()
        if problem is not None:
            _fail(problem)
        require_installed(settings, workers=not no_workers)
        edges = parse_processes(processes)
        if layout == "single" and (edges != 1 or worker_processes is not None):
            _fail("--layout single runs one process: drop --processes / --worker-processes")
        if layout == "single" or (edges == 1 and no_workers):
            # One process. A lone edge runs without a supervisor too (one would cost a
            # process, memory and start-up time for nothing to keep apart).
            run_server(
                settings,
                host=host,
                port=port,
                workers=not no_workers,
                metrics_host=metrics_host,
                metrics_port=metrics_port,
            )
            return
        run_serve(
            settings,
            host=host,
            port=port,
            edges=edges,
            workers=0 if no_workers else (worker_processes or edges),
            reload_settings=_reloader(),
            metrics_host=metrics_host,
            metrics_port=metrics_port,
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the page listens.")
@click.option("--port", default=8081, show_default=True, type=int, help="The page's port.")
@click.option(
    "--edge-port",
    default=0,
    show_default="any free port",
    type=int,
    help="The edge's loopback port (printed at start); `send` talks to it.",
)
@click.option(
    "--demo/--no-demo",
    default=True,
    show_default=True,
    help="Start with the simulated demo history (alerts, #alerts messages, a pending report).",
)
@click.option(
    "--use-env",
    is_flag=True,
    help="Keep the data dir, database, queue, Redis, recorder, chart store and tokens from "
    "the environment/.env (by default dev ignores them and uses data/dev).",
)
def dev(host: str, port: int, edge_port: int, demo: bool, use_env: bool) -> None:
    """Run everything locally: edge, workers and the local Discord page (no account needed)."""
    import dataclasses

    from .dev import DevStartError, build_dev, run_dev
    from .dev.stack import DEV_DATA_DIR, isolated_settings
    from .logs import configure_logging
    from .settings import environment

    if use_env:
        settings = _settings()
        if "CATALYST_DATA_DIR" not in settings.configured:
            settings = dataclasses.replace(settings, data_dir=DEV_DATA_DIR)
    else:
        try:
            settings, ignored = isolated_settings(environment(env_file=env_file()))
        except ConfigError as exc:
            _fail(str(exc))
        if ignored:
            click.echo(
                f"dev: ignoring {', '.join(ignored)} from the environment/.env and using "
                f"{settings.data_dir}; pass --use-env to keep them",
                err=True,
            )
    log_format = settings.log_format if "CATALYST_LOG_FORMAT" in settings.configured else "text"
    stack = build_dev(settings, host=host, port=port, edge_port=edge_port, demo=demo)
    configure_logging(settings.log_level, log_format, [stack.emulator.bot_token.reveal()])
    try:
        run_dev(stack, announce=click.echo)
    except (DevStartError, ConfigError) as exc:
        _fail(str(exc))


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the private seed (hex) to this file, mode 0600.",
)
def keys(out: Path | None) -> None:
    """Generate an Ed25519 key pair for local testing (never for a real application)."""
    from nacl.signing import SigningKey

    key = SigningKey.generate()
    click.echo(f"DISCORD_PUBLIC_KEY={key.verify_key.encode().hex()}")
    if out is not None:
        out.write_text(key.encode().hex() + "\n")
        out.chmod(0o600)
        click.echo(f"private seed written to {out}")


@main.command()
@click.argument("what", type=click.Choice(["ping", "help"]), default="ping")
@click.option(
    "--url",
    default="http://127.0.0.1:8082/interactions",
    show_default=True,
    help="The edge's endpoint (`make run` puts it on port 8082).",
)
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("data/dev/dev-signing-key"),
    show_default=True,
    help="Private seed (hex) written by `make run` / `keys --out`.",
)
def send(what: str, url: str, key_file: Path) -> None:
    """Sign an interaction with a local test key and POST it; prints the answer."""
    import httpx
    from nacl.signing import SigningKey

    from .discord.snowflake import make_snowflake
    from .discord.verify import signed_headers

    key = SigningKey(bytes.fromhex(key_file.read_text().strip()))
    now_ms = int(time.time() * 1000)
    payload: dict[str, Any] = {
        "id": make_snowflake(now_ms),
        "application_id": "1",
        "token": "local-test-token",
        "version": 1,
        "type": 1 if what == "ping" else 2,
    }
    if what == "help":
        payload |= {
            "data": {"id": "1", "name": "help", "type": 1},
            "member": {"user": {"id": "10", "username": "tester"}, "roles": [], "permissions": "0"},
            "guild_id": "1",
            "channel_id": "1",
        }
    body = json.dumps(payload).encode()
    response = httpx.post(url, content=body, headers=signed_headers(key, body))
    click.echo(f"{response.status_code} {response.text}")


def _rest(settings: Settings, *, needs_bot_token: bool = True) -> Any:
    from .discord.rest import DiscordRest

    if not settings.application_id:
        _fail("DISCORD_APPLICATION_ID is not set (Developer Portal, General Information)")
    if needs_bot_token and settings.bot_token is None:
        _fail("DISCORD_BOT_TOKEN is not set (Developer Portal, Bot, Reset Token)")
    return DiscordRest(
        base_url=settings.api_base,
        application_id=settings.application_id,
        bot_token=settings.bot_token,
    )


def _run_discord(coro: Any) -> Any:
    """Run a REST coroutine; Discord's refusals become one line and exit code 1."""
    import asyncio

    from .discord.rest import DiscordError

    try:
        return asyncio.run(coro)
    except DiscordError as exc:
        click.echo(f"error: Discord refused: {exc}", err=True)
        sys.exit(1)


@main.command("register")
@click.option("--json", "as_json", is_flag=True, help="Print the registration payload only.")
@click.option(
    "--guild", "guild_id", help="Register in one guild (instant) instead of the normal plan."
)
@click.option(
    "--global",
    "global_",
    is_flag=True,
    help="The normal plan (the default): admin commands in the home servers, the rest global.",
)
@click.option("--dry-run", is_flag=True, help="Show the difference without applying it.")
def register_cmd(as_json: bool, guild_id: str | None, global_: bool, dry_run: bool) -> None:
    """Build the command JSON from the registry, diff it with Discord's and apply it.

    Admin commands are registered only in the home servers (CATALYST_ADMIN_GUILD_IDS):
    elsewhere nobody may use them, so nobody sees them.
    """
    from .bot import build_registry
    from .ops.registration import diff_commands, registration_plan

    registry = build_registry()
    payload = registry.commands_json()
    if as_json:
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    if guild_id and global_:
        _fail("choose one of --guild ID and --global")
    if guild_id is not None and not guild_id.isdigit():
        _fail("--guild must be a numeric guild id")
    settings = _settings()
    problem = settings.admin_scope_problem()
    if problem is not None and guild_id is None:
        _fail(problem)
    plan = registration_plan(
        payload, registry.home_only_commands(), settings.admin_guild_ids, only_guild=guild_id
    )
    rest = _rest(settings)

    async def go() -> None:
        async with rest:
            for where_id, commands in plan.items():
                where = f"guild {where_id}" if where_id else "global"
                current = await rest.get_commands(where_id)
                diff = diff_commands(commands, current)
                click.echo(f"Commands ({where}):\n{diff.render()}")
                if dry_run:
                    click.echo("dry run: nothing applied")
                elif diff.empty:
                    click.echo("already up to date: nothing applied")
                else:
                    await rest.bulk_overwrite_commands(commands, where_id)
                    click.echo(f"applied with one bulk overwrite ({len(commands)} commands)")

    _run_discord(go())


@main.command("endpoint")
@click.argument("url")
def endpoint_cmd(url: str) -> None:
    """Point the application's Interactions Endpoint URL at URL (also the rollback)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        _fail(f"{url!r} is not an http(s) URL")
    rest = _rest(_settings())

    async def go() -> None:
        async with rest:
            before = await rest.get_application()
            after = await rest.edit_application({"interactions_endpoint_url": url})
        click.echo(
            f"interactions endpoint: {before.get('interactions_endpoint_url')} -> "
            f"{after.get('interactions_endpoint_url')}"
        )

    _run_discord(go())


@main.command()
@click.option("--concurrency", type=int, help="Jobs run at once (default from settings).")
@click.option(
    "--processes",
    default="1",
    show_default=True,
    help="Worker processes under a supervisor: a number, or auto for one per core.",
)
@_metrics_options("Serve /metrics and /ready on this port (process i of --processes: port + i).")
def worker(
    concurrency: int | None, processes: str, metrics_port: int | None, metrics_host: str
) -> None:
    """Run workers only (scale-out): claim deferred jobs and deliver them."""
    from .preflight import require_installed
    from .processes import parse_processes
    from .runner import run_worker, run_workers

    settings = _with_concurrency(_settings(), concurrency)
    with _start_errors():
        require_installed(settings, workers=True)
        count = parse_processes(processes)
        if count == 1:
            run_worker(settings, metrics_host=metrics_host, metrics_port=metrics_port)
        else:
            run_workers(
                settings,
                processes=count,
                metrics_host=metrics_host,
                metrics_port=metrics_port,
                reload_settings=_reloader(concurrency),
            )


def _reloader(concurrency: int | None = None) -> Callable[[], Settings]:
    """What SIGHUP re-reads: the same environment file, the same command-line overrides."""
    path = env_file()
    return lambda: _with_concurrency(Settings.from_env(env_file=path), concurrency)


def _with_concurrency(settings: Settings, concurrency: int | None) -> Settings:
    import dataclasses

    if concurrency is None:
        return settings
    return dataclasses.replace(settings, worker_concurrency=concurrency)


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def manifest(out: Path | None) -> None:
    """Export what an edge in front of us (the Cloudflare Worker) needs to know: which
    handlers are deferred (ack 5/6, ephemeral or not) and which answers are static."""
    import asyncio

    from .app import build_resources
    from .bot import build_registry
    from .framework.context import AccessPolicy
    from .framework.dispatch import Dispatcher
    from .ops.manifest import build_manifest

    settings = _settings()
    registry = build_registry()
    # The static answers (/help) read only the registry; the checks before them (the per-user
    # rate) read the resources, which open nothing until used and are closed at once.
    resources = build_resources(settings, workers=False)
    dispatcher = Dispatcher(registry, resources=resources, access=AccessPolicy())

    async def build() -> dict[str, Any]:
        try:
            return await build_manifest(registry, dispatcher, auto_budget_s=settings.auto_budget_s)
        finally:
            await resources.aclose()

    data = asyncio.run(build())
    text = json.dumps(data, indent=2, sort_keys=True)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n")
        click.echo(f"manifest written to {out}")


@main.command()
@click.argument("corpus", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--old", "old_url", required=True, help="The old endpoint's interactions URL.")
@click.option("--new", "new_url", required=True, help="The new endpoint's interactions URL.")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/dev/dev-signing-key"),
    show_default=True,
    help="Staging private seed (hex); both endpoints must trust its public key.",
)
@click.option("--timeout", "timeout_s", default=10.0, show_default=True, help="Seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def replay(
    corpus: Path, old_url: str, new_url: str, key_file: Path, timeout_s: float, as_json: bool
) -> None:
    """Replay a recorded corpus (CATALYST_RECORD_PATH) against both endpoints and compare;
    exits 1 when the new endpoint regresses (rules in docs/migration.md)."""
    from .ops.replay import ReplayError, load_corpus, load_key
    from .ops.replay import replay as run_replay

    try:
        report = run_replay(
            load_corpus(corpus),
            old_url=old_url,
            new_url=new_url,
            key=load_key(key_file),
            timeout_s=timeout_s,
        )
    except ReplayError as exc:
        _fail(str(exc))
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else report.render())
    sys.exit(1 if report.regressions else 0)


@main.group()
def jobs() -> None:
    """List pending, running and dead jobs; retry or drop one."""


def _on_queue(use: Callable[[JobQueue], Awaitable[_T]]) -> _T:
    """Run ``use(queue)`` on the configured job queue, then close the queue."""
    import asyncio

    from .jobs import open_queue

    settings, chosen = inspecting_settings(_settings())
    if chosen is not None and not settings.queue_url:
        click.echo(chosen, err=True)
    with _start_errors():
        queue = open_queue(settings.queue_url or "", data_dir=settings.data_dir)

    async def go() -> _T:
        try:
            return await use(queue)
        finally:
            await queue.close()

    return asyncio.run(go())


@jobs.command("list")
@click.option(
    "--state",
    type=click.Choice(["pending", "running", "dead"]),
    multiple=True,
    help="Only these states (default: all).",
)
@click.option("--limit", default=50, show_default=True, help="Most jobs shown per state.")
def jobs_list(state: tuple[JobState, ...], limit: int) -> None:
    """Show jobs by state: id, handler, attempts, age and the last error."""

    async def show(queue: JobQueue) -> None:
        for st in state or ("pending", "running", "dead"):
            rows = await queue.list(st, limit)
            click.echo(f"{st}: {len(rows)}")
            for info in rows:
                age = time.time() - info.enqueued_at
                why = info.reason or info.last_error or ""
                click.echo(
                    f"  {info.id}  {info.handler}  attempts={info.attempts}  age={age:.0f}s  {why}"
                )

    _on_queue(show)


@jobs.command("retry")
@click.argument("job_id")
def jobs_retry(job_id: str) -> None:
    """Make a dead job pending again."""
    if not _on_queue(lambda queue: queue.requeue_dead(job_id)):
        _fail(f"no dead job {job_id}")
    click.echo(f"job {job_id} is pending again")


@jobs.command("drop")
@click.argument("job_id")
def jobs_drop(job_id: str) -> None:
    """Delete a job (its interaction id stays deduplicated)."""
    if not _on_queue(lambda queue: queue.drop(job_id)):
        _fail(f"no job {job_id}")
    click.echo(f"job {job_id} dropped")


@main.command()
def check() -> None:
    """Check the settings, then reach every configured resource (database, queue, Redis,
    chart store, LLM, market provider, Discord): one line each, secrets masked; exit 1 if
    one fails. `/ready` runs the same probes."""
    import asyncio

    from .preflight import missing_packages, probes, run_probes
    from .redaction import scrub

    settings = _settings()
    secrets = settings.secret_values()
    missing = missing_packages(settings, workers=True)
    for line in missing:
        click.echo(f"FAIL  packages     {line}")
    if not missing:
        click.echo("ok    packages     every package the configuration needs is installed")
    results = asyncio.run(run_probes(probes(settings)))
    for result in results:
        click.echo(scrub(result.line(), secrets))
    sys.exit(1 if missing or not all(r.ok for r in results) else 0)


@main.group()
def config() -> None:
    """Show the settings in effect; generate the configuration docs."""


@config.command("show")
def config_show() -> None:
    """Check every setting and print the values in effect (secrets masked)."""
    settings = _settings()
    for spec, value in settings.items():
        origin = "set" if spec.env in settings.configured else "default"
        click.echo(f"{spec.env}={_masked(spec.env, value)}  ({origin})")


def _masked(name: str, value: Any) -> str:
    from .secret import Secret

    if value is None:
        return ""
    if isinstance(value, Secret):
        return "********"
    if isinstance(value, str) and name.endswith("_URL"):
        from .redaction import mask_url_password

        return mask_url_password(value)
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    if isinstance(value, dict):
        return ",".join(f"{k}={v:g}" for k, v in value.items())
    return str(value)


@config.command("docs")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The repository checkout to write docs/configuration.md and .env.example into.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file is out of date.")
def config_docs(root: Path, check: bool) -> None:
    """Generate docs/configuration.md and .env.example from the settings' declarations."""
    from . import config_docs as docs

    if check:
        out_of_date = docs.stale(root)
        for path in out_of_date:
            click.echo(f"out of date: {path} (run `make docs`)", err=True)
        sys.exit(1 if out_of_date else 0)
    for path in docs.write(root):
        click.echo(f"wrote {path}")


def _add_operator_commands() -> None:
    from .ops.admin_cli import admin_group, import_legacy_command

    main.add_command(admin_group)
    main.add_command(import_legacy_command)


_add_operator_commands()
# Last, so that it reaches every command, including ones added above.
add_env_file_option(main)


if __name__ == "__main__":  # pragma: no cover
    main()
