"""Admin command line: post a tuning report to Discord, import the old bot's data.

``admin post-report FILE`` stores the report and posts its message (Approve / Reject /
Details / Custom) to a channel through the bot token; ``import-legacy`` runs the store's
importer. Configuration problems exit with status 2, failures while running with 1.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..settings import ConfigError, Settings

if TYPE_CHECKING:
    from ..bot.admin_report import TuningReport
    from ..store import Store
    from ..store.importer import ImportReport


class ConfigProblem(click.ClickException):
    """Bad configuration or input: fix it and run again."""

    exit_code = 2


def _settings() -> Settings:
    from ..cli_settings import inspecting_settings, load_settings

    try:
        # The same data as the bot running here (serve's ./data, else make run's data/dev).
        return inspecting_settings(load_settings())[0]
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None


async def _open_store(settings: Settings) -> Store:
    from ..fileperms import private_dir
    from ..store import Store, database_url

    private_dir(settings.data_dir)
    store = Store(database_url(settings.database_url, settings.data_dir))
    await store.migrate()
    return store


def _read_report(path: Path) -> TuningReport:
    from ..bot.admin_report import ReportFormatError, parse_report

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigProblem(f"cannot read {path.name}: {exc}") from None
    except json.JSONDecodeError as exc:
        problem = f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg})"
        raise ConfigProblem(problem) from None
    try:
        return parse_report(data)
    except ReportFormatError as exc:
        raise ConfigProblem(f"{path.name}: {exc}") from None


async def define_parameters(store: Store, report: TuningReport) -> list[str]:
    """Seed parameters the report defines; returns warnings for ones that stay unknown."""
    from ..store import ParameterType, UnknownParameter

    warnings = []
    for change in report.changes:
        try:
            await store.parameters.get(change.parameter)
            continue
        except UnknownParameter:
            pass
        if change.type is None or change.current is None:
            warnings.append(
                f"parameter {change.parameter} is not defined and the report "
                "gives no type and current value for it: approving skips it"
            )
            continue
        await store.parameters.define(
            change.parameter,
            ParameterType(change.type),
            change.current,
            minimum=change.minimum,
            maximum=change.maximum,
            actor="report",
        )
    return warnings


async def _post(settings: Settings, report: TuningReport, channel_id: str | None) -> str:
    from ..bot.admin_report import current_values, report_message
    from ..discord.rest import DiscordRest
    from ..store import DuplicateReport

    store = await _open_store(settings)
    try:
        for warning in await define_parameters(store, report):
            click.echo(f"warning: {warning}", err=True)
        try:
            await store.reports.create(report.report_id, report.to_payload())
        except DuplicateReport:
            existing = await store.reports.get(report.report_id)
            if channel_id is None or existing.message_id is not None:
                where = (
                    f" (channel {existing.channel_id}, message {existing.message_id})"
                    if existing.message_id
                    else ""
                )
                raise click.ClickException(
                    f"report {report.report_id} already exists{where}"
                ) from None
            # Stored by an earlier run whose post failed: post it now.
        if channel_id is None:
            return f"stored report {report.report_id} (not posted)"
        message = report_message(report, current=await current_values(store, report))
        rest = DiscordRest(
            base_url=settings.api_base,
            application_id=settings.application_id or "0",
            bot_token=settings.bot_token,
        )
        async with rest:
            posted = await rest.create_channel_message(channel_id, message.to_dict())
        message_id = str(posted.get("id", ""))
        await store.reports.attach_message(report.report_id, channel_id, message_id)
        return f"posted report {report.report_id} to channel {channel_id} as message {message_id}"
    finally:
        await store.close()


@click.group("admin")
def admin_group() -> None:
    """Admin workflow: post tuning reports for approval in Discord."""


@admin_group.command("post-report")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--channel",
    "channel_id",
    help="Channel id to post in (default: CATALYST_ADMIN_CHANNEL_ID).",
)
@click.option(
    "--store-only",
    is_flag=True,
    help="Only store the report (its message was posted by the old system).",
)
def post_report(file: Path, channel_id: str | None, store_only: bool) -> None:
    """Store the tuning report FILE (JSON, see docs/admin.md) and post it with its buttons."""
    from ..discord.rest import DiscordError
    from ..store import StoreError

    settings = _settings()
    report = _read_report(file)
    channel_id = channel_id or settings.admin_channel_id
    if not store_only:
        if not channel_id or not channel_id.isdigit():
            raise ConfigProblem(
                "give the channel to post in: --channel <numeric id> (or CATALYST_ADMIN_CHANNEL_ID)"
            )
        if settings.bot_token is None:
            raise ConfigProblem(
                "DISCORD_BOT_TOKEN is not set: posting a report needs the "
                "bot token (Developer Portal, Bot)"
            )
    try:
        done = asyncio.run(_post(settings, report, None if store_only else channel_id))
    except (StoreError, DiscordError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(done)


def _print_report(name: str, report: ImportReport) -> None:
    click.echo(
        f"{name}: {report.added} added, {report.duplicates} already present, "
        f"{report.bad_count} rejected"
    )
    for bad in report.bad:
        where = f"{bad.source}:{bad.line}" if bad.line is not None else bad.source
        click.echo(f"  {where}: {bad.reason}")


async def _import(
    settings: Settings, alerts: Path | None, watchlists: Path | None
) -> list[tuple[str, ImportReport]]:
    from ..store.importer import import_alert_log, import_watchlists

    store = await _open_store(settings)
    try:
        done = []
        if alerts is not None:
            done.append((f"alerts ({alerts.name})", await import_alert_log(store, alerts)))
        if watchlists is not None:
            done.append(
                (f"watchlists ({watchlists.name})", await import_watchlists(store, watchlists))
            )
        return done
    finally:
        await store.close()


@click.command("import-legacy")
@click.option(
    "--alerts",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The old bot's alert log (JSON lines).",
)
@click.option(
    "--watchlists",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The old bot's directory of <user id>.json watchlists.",
)
def import_legacy_command(alerts: Path | None, watchlists: Path | None) -> None:
    """Import the old bot's alert log and watchlists; running it again adds nothing twice."""
    from ..store import StoreError

    if alerts is None and watchlists is None:
        raise click.UsageError("give --alerts FILE, --watchlists DIR, or both")
    settings = _settings()
    try:
        results = asyncio.run(_import(settings, alerts, watchlists))
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    for name, report in results:
        _print_report(name, report)


__all__ = ["admin_group", "define_parameters", "import_legacy_command"]
