"""The command line. Configuration errors exit non-zero with one clear line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .settings import ConfigError, Settings

CONFIG_ERROR_EXIT = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(CONFIG_ERROR_EXIT)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        _fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="catalyst-interactions")
def main() -> None:
    """Serve Discord interactions for Catalyst Bot."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8081, show_default=True, type=int)
@click.option("--no-workers", is_flag=True, help="Run the edge only (workers run elsewhere).")
def serve(host: str, port: int, no_workers: bool) -> None:
    """Run the edge (POST /interactions) and, unless --no-workers, the workers."""
    from .runner import run_server

    settings = _settings()
    try:
        settings.public_key()
    except ConfigError as exc:
        _fail(str(exc))
    run_server(settings, host=host, port=port, workers=not no_workers)


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the private seed (hex) to this file, mode 0600.")
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
@click.option("--url", default="http://127.0.0.1:8081/interactions", show_default=True)
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("data/dev-signing-key"), show_default=True,
              help="Private seed (hex) written by `make run` / `keys --out`.")
def send(what: str, url: str, key_file: Path) -> None:
    """Sign an interaction with a local test key and POST it; prints the answer."""
    import httpx
    from nacl.signing import SigningKey

    from .discord.snowflake import make_snowflake

    key = SigningKey(bytes.fromhex(key_file.read_text().strip()))
    now_ms = int(time.time() * 1000)
    payload: dict[str, Any] = {"id": make_snowflake(now_ms), "application_id": "1",
                               "token": "local-test-token", "version": 1,
                               "type": 1 if what == "ping" else 2}
    if what == "help":
        payload |= {"data": {"id": "1", "name": "help", "type": 1},
                    "member": {"user": {"id": "10", "username": "tester"}, "roles": [],
                               "permissions": "0"},
                    "guild_id": "1", "channel_id": "1"}
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time())).encode()
    signature = key.sign(timestamp + body).signature.hex()
    response = httpx.post(url, content=body, headers={
        "X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp.decode(),
        "Content-Type": "application/json"})
    click.echo(f"{response.status_code} {response.text}")


@main.command("register")
@click.option("--json", "as_json", is_flag=True, help="Print the registration payload only.")
@click.option("--guild", "guild_id", help="Register in one guild (instant) instead of globally.")
@click.option("--global", "global_", is_flag=True, help="Register globally.")
@click.option("--dry-run", is_flag=True, help="Show the difference without applying it.")
def register_cmd(as_json: bool, guild_id: str | None, global_: bool, dry_run: bool) -> None:
    """Build the command JSON from the registry, diff it with Discord's and apply it."""
    from .bot import build_registry

    payload = build_registry().commands_json()
    if as_json:
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    _fail("register against Discord needs the REST client, which is not built yet "
          "(hybrid-core issue); use --json to print the payload")


def _not_built(name: str, issue: str) -> None:
    _fail(f"`{name}` is not built yet ({issue})")


if __name__ == "__main__":  # pragma: no cover
    main()
