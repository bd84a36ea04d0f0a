"""Settings for the command line: ``--env-file`` on every command, one place that loads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .settings import Settings

DEFAULT_ENV_FILE = Path(".env")
_META_KEY = "catalyst.env_file"


def _remember(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[_META_KEY] = value


def env_file_option() -> click.Option:
    return click.Option(
        ["--env-file"],
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        expose_value=False,
        is_eager=True,
        callback=_remember,
        help="Read settings from this file instead of ./.env (real environment variables win).",
    )


def add_env_file_option(command: click.Command) -> None:
    """Give ``command`` and, for a group, every command under it the --env-file option."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_env_file_option(sub)
        return
    if not any(p.name == "env_file" for p in command.params):
        command.params.append(env_file_option())


def env_file() -> Path:
    """The env file the running command was given, else ./.env (read when it exists)."""
    ctx = click.get_current_context(silent=True)
    chosen: Any = ctx.meta.get(_META_KEY) if ctx is not None else None
    return chosen if isinstance(chosen, Path) else DEFAULT_ENV_FILE


def load_settings() -> Settings:
    """Settings from the environment and the command's env file; raises ConfigError."""
    return Settings.from_env(env_file=env_file())
