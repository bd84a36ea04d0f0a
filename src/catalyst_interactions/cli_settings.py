"""Settings for the command line: ``--env-file`` on every command, one place that loads them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from .settings import Settings

DEFAULT_ENV_FILE = Path(".env")
_QUEUE_FILE = "queue.db"
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


def inspecting_settings(settings: Settings) -> tuple[Settings, str | None]:
    """Settings for commands that read what a running bot stored (``jobs``, ``admin``).

    Without ``CATALYST_DATA_DIR`` they read the same data as the bot the user runs here:
    ``serve``'s ``./data`` when it holds a queue, else ``make run``'s ``./data/dev`` when
    that does. The second value says which was chosen (None when it was configured).
    """
    from .dev.stack import DEV_DATA_DIR  # where `make run` keeps its data

    if "CATALYST_DATA_DIR" in settings.configured:
        return settings, None
    served = settings.data_dir / _QUEUE_FILE
    if not served.exists() and (DEV_DATA_DIR / _QUEUE_FILE).exists():
        chosen = dataclasses.replace(settings, data_dir=DEV_DATA_DIR)
        return chosen, f"data: {DEV_DATA_DIR} (make run's; set CATALYST_DATA_DIR to choose)"
    return settings, f"data: {settings.data_dir}"
