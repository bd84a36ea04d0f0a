"""Configuration declared once: parsing, every problem at once, typos, generated docs, the CLI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from catalyst_interactions import config_docs
from catalyst_interactions.cli import main
from catalyst_interactions.settings import (
    NOT_SETTINGS,
    ConfigError,
    Settings,
    declared_names,
    declared_specs,
)

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "catalyst_interactions"


def load(**env: str) -> Settings:
    return Settings.from_env(env, env_file=None)


def test_integers_are_whole_numbers() -> None:
    settings = load(CATALYST_WORKER_CONCURRENCY="3", CATALYST_JOB_MAX_ATTEMPTS="7")
    assert settings.worker_concurrency == 3 and type(settings.worker_concurrency) is int
    assert settings.job_max_attempts == 7 and type(settings.job_max_attempts) is int
    with pytest.raises(ConfigError) as info:
        load(CATALYST_WORKER_CONCURRENCY="2.5")
    assert str(info.value) == "CATALYST_WORKER_CONCURRENCY must be a whole number; got '2.5'"


def test_numbers_keep_fractions_and_refuse_nan() -> None:
    assert load(CATALYST_JOB_LEASE_S="2.5").job_lease_s == 2.5
    with pytest.raises(ConfigError, match="CATALYST_JOB_LEASE_S must be a finite number"):
        load(CATALYST_JOB_LEASE_S="nan")


def test_every_problem_is_reported_at_once_one_line_each() -> None:
    with pytest.raises(ConfigError) as info:
        load(
            CATALYST_WORKER_CONCURRENCY="0",
            CATALYST_LOG_LEVEL="loud",
            DISCORD_APPLICATION_ID="my-app",
            CATALYST_QUEUE_URL="amqp://user:hunter2@host/",
        )
    lines = str(info.value).splitlines()
    assert info.value.problems == lines
    assert sorted(line.split()[0] for line in lines) == [
        "CATALYST_LOG_LEVEL",
        "CATALYST_QUEUE_URL",
        "CATALYST_WORKER_CONCURRENCY",
        "DISCORD_APPLICATION_ID",
    ]
    assert "CATALYST_WORKER_CONCURRENCY must be at least 1; got 0" in lines
    assert "hunter2" not in str(info.value)  # a URL's password is never echoed


def test_unknown_catalyst_names_are_likely_typos_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as info:
        load(
            CATALYST_WORKER_CONCURENCY="4",
            CATALYST_ZZZ="1",
            OTHER_TOOL_SETTING="x",
            CATALYST_EDGE="127.0.0.1:8081",  # read by deploy/caddy, not by us
        )
    assert info.value.problems == [
        "CATALYST_WORKER_CONCURENCY is not a setting (did you mean CATALYST_WORKER_CONCURRENCY?); "
        "see docs/configuration.md for the list",
        "CATALYST_ZZZ is not a setting; see docs/configuration.md for the list",
    ]


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"CATALYST_MARKET_PROVIDER": "tiingo"}, "CATALYST_MARKET_PROVIDER=tiingo needs"),
        ({"CATALYST_LLM_BASE_URL": "http://127.0.0.1:9/v1"}, "CATALYST_LLM_BASE_URL is set but"),
        ({"CATALYST_CHART_STORE_URL": "s3://bucket/p"}, "an s3:// chart store needs"),
        ({"CATALYST_CHART_STORE_URL": "/tmp/charts"}, "CATALYST_CHART_STORE_URL must look like"),
        ({"CATALYST_QUEUE_URL": "redis://127.0.0.1:6379/0"}, "CATALYST_STATE_SECRET is required"),
    ],
)
def test_settings_that_need_another_one_say_which(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env, env_file=None)
    assert str(info.value).startswith(problem)


def test_cooldowns_are_overrides_by_name_of_the_declared_ones() -> None:
    # Unset, every command keeps the cooldown it declares (tests/bot/test_declarations.py).
    assert load().cooldowns == {}
    assert load(CATALYST_COOLDOWNS="chart=0, *=5").cooldowns == {"chart": 0, "*": 5}
    with pytest.raises(ConfigError, match="CATALYST_COOLDOWNS"):
        load(CATALYST_COOLDOWNS="chart=-1")


def test_every_attribute_is_declared_with_a_meaning_and_an_example() -> None:
    specs = declared_specs()
    assert len({s.env for s in specs}) == len(specs)
    for spec in specs:
        assert spec.help.endswith("."), spec.env
        assert spec.example, spec.env


def test_every_catalyst_name_in_the_code_is_a_declared_setting() -> None:
    """A setting read anywhere but settings.py would bypass validation and the docs."""
    used: set[str] = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r"\bCATALYST_[A-Z][A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    # settings.py's own how-to names an example setting.
    assert used - declared_names() - NOT_SETTINGS - {"CATALYST_EXAMPLE_S"} == set()


def test_generated_docs_match_the_declarations() -> None:
    assert config_docs.stale(ROOT) == [], "run `make docs`"
    text = (ROOT / "docs" / "configuration.md").read_text()
    for name in declared_names():
        assert f"`{name}`" in text


def test_docs_check_fails_when_a_file_drifts(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "configuration.md", tmp_path / "docs" / "configuration.md")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    runner = CliRunner()
    assert (
        runner.invoke(main, ["config", "docs", "--check", "--root", str(tmp_path)]).exit_code == 0
    )
    example = tmp_path / ".env.example"
    example.write_text(example.read_text().replace("CATALYST_JOB_LEASE_S", "CATALYST_JOB_LEASE"))
    result = runner.invoke(main, ["config", "docs", "--check", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert ".env.example" in result.output
    runner.invoke(main, ["config", "docs", "--root", str(tmp_path)])
    assert config_docs.stale(tmp_path) == []


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        out.append((prefix + name, command))
        if isinstance(command, click.Group):
            out += _commands(command, prefix + name + " ")
    return out


def test_every_command_and_option_has_help_and_every_command_takes_env_file() -> None:
    for name, command in _commands(main):
        assert command.help, f"`{name}` has no help text"
        if isinstance(command, click.Group):
            continue
        options = [p for p in command.params if isinstance(p, click.Option)]
        assert "--env-file" in [o for p in options for o in p.opts], name
        for option in options:
            if option.opts != ["--help"]:
                assert option.help, f"`{name} {option.opts[0]}` has no help text"


def test_env_file_is_read_masked_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text(
        "DISCORD_BOT_TOKEN=MTIz.token-in-the-file\n"
        "CATALYST_WORKER_CONCURRENCY=3\n"
        "CATALYST_DATABASE_URL=postgresql://bot:pg-password@127.0.0.1/catalyst\n"
        "CATALYST_LOG_LEVEL=debug\n"
    )
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["config", "show", "--env-file", str(env_file)],
        env={"CATALYST_LOG_LEVEL": "warning"},
    )
    assert result.exit_code == 0, result.output
    assert "CATALYST_WORKER_CONCURRENCY=3  (set)" in result.output
    assert "CATALYST_LOG_LEVEL=warning  (set)" in result.output
    assert "CATALYST_DATABASE_URL=postgresql://bot:********@127.0.0.1/catalyst" in result.output
    assert "token-in-the-file" not in result.output and "pg-password" not in result.output
    assert "CATALYST_JOB_LEASE_S=30.0  (default)" in result.output


def test_a_bad_env_file_reports_every_problem_and_exits_2(tmp_path: Path) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_text("CATALYST_WORKER_CONCURRENCY=2.5\nCATALYST_LOG_LEVL=debug\n")
    result = CliRunner().invoke(main, ["serve", "--env-file", str(env_file)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: CATALYST_WORKER_CONCURRENCY must be a whole number; got '2.5'",
        "error: CATALYST_LOG_LEVL is not a setting (did you mean CATALYST_LOG_LEVEL?); "
        "see docs/configuration.md for the list",
    ]
    missing = CliRunner().invoke(main, ["jobs", "list", "--env-file", str(tmp_path / "no.env")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
