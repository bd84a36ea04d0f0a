"""Typed configuration from the environment and an optional ``.env`` file.

Every setting is declared ONCE, as an attribute of :class:`Settings` below: its environment
variable, default, meaning and example sit next to its type. Parsing, range checks, the error
messages, docs/configuration.md and .env.example all come from that declaration.

How to add a setting (a one-place change):

1. Add one attribute to ``Settings``, in the group it belongs to::

       example_s: float = setting(
           "CATALYST_EXAMPLE_S", 2.0, "What it does, for an operator.",
           example="5", group=WORKERS, low=0.1,
       )

   The annotation is the type: ``str``, ``int`` (whole numbers only), ``float``, ``bool``,
   ``Path``, ``Secret`` (never printed), ``frozenset[str]`` (comma-separated numeric ids), each
   optionally ``| None`` (unset means None). Use ``choices=`` for a fixed set of words,
   ``low=``/``high=`` for numbers, ``check=`` for a format rule, ``parse=`` for anything else,
   and add a cross-setting rule to ``_RULES`` if the setting needs another one.
2. Run ``make docs`` to regenerate docs/configuration.md and .env.example (a test fails until
   they match the declarations).

Loading validates everything at once: :class:`ConfigError` lists every problem, one line each,
including unknown ``CATALYST_*`` names (likely typos, with the closest real name).
"""

from __future__ import annotations

import difflib
import math
import os
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .discord.verify import parse_public_key
from .secret import Secret

DEFAULT_API_BASE = "https://discord.com/api/v10"
LOG_LEVELS = ("debug", "info", "warning", "error")
JOBS_PER_CORE = 4
"""Default job slots per core: jobs mostly wait (REST, database, a render process)."""
DEFAULT_USER_RATE = (20, 60.0)
"""20 interactions per minute per member: a burst of 20, then one every 3 s."""
DEFAULT_JOBS_PER_USER = 4
MIN_HANDOVER_SECRET_CHARS = 32

# Groups, in the order docs/configuration.md and .env.example list them.
DISCORD = "Discord application"
EDGE = "Edge (POST /interactions)"
STORAGE = "Storage, queue and scale-out"
WORKERS = "Workers and jobs"
MARKET = "Market data"
LLM = "LLM (research and /ask)"
CHARTS = "Charts"
COMMANDS = "Commands and admins"
OPERATIONS = "Logging and operations"
GROUPS = (DISCORD, EDGE, STORAGE, WORKERS, MARKET, LLM, CHARTS, COMMANDS, OPERATIONS)


def cores() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# Environment names that start with CATALYST_ but are not settings: other programs read them
# (deploy/caddy's Caddyfile, the browser tests' screenshot folder), and they may share an
# environment with the bot, so they are not reported as typos.
NOT_SETTINGS: frozenset[str] = frozenset(
    {"CATALYST_SITE", "CATALYST_EDGE", "CATALYST_CADDY_GLOBAL", "CATALYST_SCREENSHOTS"}
)


class ConfigError(Exception):
    """Configuration is missing or invalid; the message names each variable and what is wrong,
    one line per problem."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Spec:
    """How one setting is read, checked and documented."""

    env: str
    help: str
    example: str
    group: str
    default_doc: str | None = None
    """How docs show the default when the value itself says little (None, computed)."""
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    check: Callable[[str], str | None] | None = None
    """Returns what is wrong with a raw value (without echoing secrets), or None."""
    parse: Callable[[str], Any] | None = None
    """Turns the raw value into the attribute's value; raises ValueError with the reason."""
    required_by: str | None = None
    """Which command needs it, for the docs (the command itself checks)."""
    unset: Callable[[], Any] | None = None
    """The value when loaded from an environment that does not set it, where that differs
    from the attribute's default (which is what tests building Settings directly get)."""


def setting(
    env: str,
    default: T,
    help: str,
    *,
    example: str,
    group: str,
    default_doc: str | None = None,
    choices: tuple[str, ...] = (),
    low: float | None = None,
    high: float | None = None,
    check: Callable[[str], str | None] | None = None,
    parse: Callable[[str], Any] | None = None,
    required_by: str | None = None,
    unset: Callable[[], Any] | None = None,
    factory: Callable[[], T] | None = None,
) -> T:
    """Declare a setting: a dataclass field carrying its :class:`Spec`."""
    spec = Spec(
        env=env,
        help=help,
        example=example,
        group=group,
        default_doc=default_doc,
        choices=choices,
        low=low,
        high=high,
        check=check,
        parse=parse,
        required_by=required_by,
        unset=unset,
    )
    if factory is not None:  # mutable defaults (dicts) are made fresh for each instance
        made: T = field(default_factory=factory, metadata={"spec": spec})
        return made
    return field(default=default, metadata={"spec": spec})


# -- format rules for check= ---------------------------------------------------------------
def _url_with_host(schemes: tuple[str, ...], problem: str) -> Callable[[str], str | None]:
    """A URL of one of ``schemes`` that names a host (or bucket); else ``problem``."""

    def check(raw: str) -> str | None:
        parts = urlsplit(raw)
        return problem if parts.scheme not in schemes or not parts.netloc else None

    return check


_http_url = _url_with_host(("http", "https"), "must be an http:// or https:// URL")
_chart_store = _url_with_host(("s3",), "must look like s3://bucket/prefix")


def _url_with_schemes(*schemes: str) -> Callable[[str], str | None]:
    def check(raw: str) -> str | None:
        scheme = raw.split(":", 1)[0].lower() if ":" in raw else ""
        if scheme not in schemes:
            # Never echo the value: service URLs carry passwords.
            return f"must start with {' or '.join(s + '://' for s in schemes)}"
        return None

    return check


def _public_key(raw: str) -> str | None:
    try:
        parse_public_key(raw)
    except ValueError as exc:
        return str(exc)
    return None


def _snowflake(raw: str) -> str | None:
    return None if raw.isdigit() else "must be a numeric snowflake id"


def _long_secret(raw: str) -> str | None:
    if len(raw) < MIN_HANDOVER_SECRET_CHARS:
        # The length only: never the value.
        return (
            f"must be at least {MIN_HANDOVER_SECRET_CHARS} characters (got {len(raw)}); "
            "make one with: openssl rand -hex 32"
        )
    return None


def _rate(raw: str) -> tuple[int, float] | None:
    """``20/60``: 20 interactions per 60 seconds; ``0`` or ``off`` disables the limit."""
    if raw.lower() in ("0", "off"):
        return None
    count, sep, seconds = raw.partition("/")
    try:
        n, per = int(count), float(seconds)
    except ValueError:
        n, per = 0, 0.0
    if not sep or n < 1 or not math.isfinite(per) or per <= 0:
        raise ValueError(f"must look like 20/60 (count/seconds) or off; got {raw!r}")
    return n, per


def _cooldowns(raw: str) -> dict[str, float]:
    """``chart=5,research=30``: overrides by name of the cooldowns the commands declare
    (``@cooldown``); unlisted ones keep their declared seconds, 0 disables one, ``*`` names
    every cooldown not listed on its own."""
    out: dict[str, float] = {}
    for item in raw.split(","):
        name, sep, value = item.strip().partition("=")
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not sep or not name or not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"must look like chart=5,research=30; got {item.strip()!r}")
        out[name.strip()] = seconds
    return out


@dataclass(frozen=True, slots=True)
class Settings:
    # -- Discord application ------------------------------------------------------------
    public_key_hex: str | None = setting(
        "DISCORD_PUBLIC_KEY",
        None,
        "The application's Ed25519 public key (Developer Portal, General Information); every "
        "request is verified with it.",
        example="<64 hex characters>",
        group=DISCORD,
        check=_public_key,
        required_by="serve",
    )
    application_id: str | None = setting(
        "DISCORD_APPLICATION_ID",
        None,
        "The application's id; workers need it to edit messages, `register` to publish commands.",
        example="123456789012345678",
        group=DISCORD,
        check=_snowflake,
        required_by="serve, worker, register, endpoint",
    )
    bot_token: Secret | None = setting(
        "DISCORD_BOT_TOKEN",
        None,
        "The bot's token (Developer Portal, Bot): command registration, the endpoint switch, "
        "admin reports.",
        example="<bot token>",
        group=DISCORD,
        required_by="register, endpoint, admin post-report",
    )
    api_base: str = setting(
        "DISCORD_API_BASE",
        DEFAULT_API_BASE,
        "Discord's REST base URL (the local Discord sets its own).",
        example=DEFAULT_API_BASE,
        group=DISCORD,
        check=_http_url,
        parse=lambda raw: raw.rstrip("/"),
    )
    # -- Edge -----------------------------------------------------------------------------
    timestamp_window_s: float = setting(
        "CATALYST_TIMESTAMP_WINDOW_S",
        300.0,
        "How old a signed request may be, in seconds; replayed ids are remembered until "
        "their timestamp plus this window.",
        example="300",
        group=EDGE,
        low=1,
    )
    timestamp_future_skew_s: float = setting(
        "CATALYST_TIMESTAMP_FUTURE_SKEW_S",
        10.0,
        "How far ahead of our clock a signed request's timestamp may be, in seconds (clocks "
        "differ a little; a far-future timestamp would outlive the replay memory).",
        example="10",
        group=EDGE,
        low=0,
        high=60,
    )
    max_body_bytes: int = setting(
        "CATALYST_MAX_BODY_BYTES",
        1024 * 1024,
        "Largest request body accepted, in bytes; larger ones get 413.",
        example="1048576",
        group=EDGE,
        low=1024,
    )
    auto_budget_s: float = setting(
        "CATALYST_AUTO_BUDGET_S",
        2.0,
        "Seconds an auto handler may run inline, counted from the interaction's creation, "
        "before it is deferred (Discord allows 3).",
        example="2.0",
        group=EDGE,
        low=0.1,
        high=2.9,
    )
    handover_secret: Secret | None = setting(
        "CATALYST_HANDOVER_SECRET",
        None,
        "Shared with the Cloudflare Worker edge; enables POST /handover when set.",
        example="<random string, 32+ characters>",
        group=EDGE,
        default_doc="unset: no /handover",
        check=_long_secret,
    )
    # -- Storage, queue and scale-out -------------------------------------------------------
    data_dir: Path = setting(
        "CATALYST_DATA_DIR",
        Path("data"),
        "Directory for the SQLite files, the chart cache and secrets made on first start.",
        example="/var/lib/catalyst",
        group=STORAGE,
        default_doc="./data (./data/dev under `dev`)",
    )
    database_url: str | None = setting(
        "CATALYST_DATABASE_URL",
        None,
        "The database: sqlite:///path or postgresql://user:password@host/db.",
        example="postgresql://catalyst:secret@127.0.0.1:5432/catalyst",
        group=STORAGE,
        default_doc="SQLite file catalyst.db in the data dir",
        check=_url_with_schemes(
            "sqlite", "sqlite+aiosqlite", "postgres", "postgresql", "postgresql+psycopg"
        ),
    )
    queue_url: str | None = setting(
        "CATALYST_QUEUE_URL",
        None,
        "The durable job queue: sqlite:///queue.db (in the data dir) or redis://host:6379/0 "
        "(optional ?prefix=) to share it between hosts.",
        example="redis://127.0.0.1:6379/0",
        group=STORAGE,
        default_doc="SQLite file queue.db in the data dir",
        check=_url_with_schemes("sqlite", "redis", "rediss", "unix"),
    )
    redis_url: str | None = setting(
        "CATALYST_REDIS_URL",
        None,
        "Redis shared by every host: rate limits, delivery ledger, cooldowns, component "
        "state, replay memory.",
        example="redis://127.0.0.1:6379/1",
        group=STORAGE,
        default_doc="unset: per-host memory and SQLite",
        check=_url_with_schemes("redis", "rediss", "unix"),
    )
    state_secret: Secret | None = setting(
        "CATALYST_STATE_SECRET",
        None,
        "Key that signs component state (buttons, menus). Required when several hosts serve the "
        "same bot (a shared queue or Redis): they must all use the same one.",
        example="<random string, 32+ characters>",
        group=STORAGE,
        default_doc="made once and kept in the data dir (one host only)",
    )
    # -- Workers and jobs -------------------------------------------------------------------
    worker_concurrency: int = setting(
        "CATALYST_WORKER_CONCURRENCY",
        8,
        "Jobs run at once on this host; `serve` and `worker --processes N` split them across "
        "their worker processes.",
        example="8",
        group=WORKERS,
        low=1,
        default_doc=f"{JOBS_PER_CORE} per CPU core the process may use",
        unset=lambda: JOBS_PER_CORE * cores(),
    )
    process_pool_size: int = setting(
        "CATALYST_PROCESS_POOL_SIZE",
        2,
        "Processes that render charts on this host (0: render in a thread of the worker "
        "process); split across worker processes like the jobs.",
        example="2",
        group=WORKERS,
        low=0,
        default_doc="one per CPU core the process may use",
        unset=cores,
    )
    render_nice: int = setting(
        "CATALYST_RENDER_NICE",
        10,
        "How much lower than its worker a chart render process runs (os.nice): the edge and "
        "the deliveries go first when the cores are busy.",
        example="10",
        group=WORKERS,
        low=0,
        high=19,
    )
    job_lease_s: float = setting(
        "CATALYST_JOB_LEASE_S",
        30.0,
        "Seconds a claimed job stays reserved without renewal; after that another worker "
        "takes it over (a crashed worker's jobs come back).",
        example="30",
        group=WORKERS,
        low=0.5,
    )
    job_max_attempts: int = setting(
        "CATALYST_JOB_MAX_ATTEMPTS",
        5,
        "Attempts before a failing job is dead-lettered and the user is told.",
        example="5",
        group=WORKERS,
        low=1,
    )
    job_retry_base_s: float = setting(
        "CATALYST_JOB_RETRY_BASE_S",
        0.5,
        "First retry delay in seconds; it doubles with each attempt.",
        example="0.5",
        group=WORKERS,
        low=0.01,
    )
    # -- Market data ------------------------------------------------------------------------
    market_provider: str = setting(
        "CATALYST_MARKET_PROVIDER",
        "demo",
        "Where prices come from: demo (simulated, labelled as such), tiingo or polygon.",
        example="tiingo",
        group=MARKET,
        choices=("demo", "tiingo", "polygon"),
    )
    tiingo_api_key: Secret | None = setting(
        "TIINGO_API_KEY",
        None,
        "Tiingo API key; required with CATALYST_MARKET_PROVIDER=tiingo.",
        example="<tiingo key>",
        group=MARKET,
    )
    polygon_api_key: Secret | None = setting(
        "POLYGON_API_KEY",
        None,
        "Polygon API key; required with CATALYST_MARKET_PROVIDER=polygon.",
        example="<polygon key>",
        group=MARKET,
    )
    # -- LLM --------------------------------------------------------------------------------
    llm_base_url: str | None = setting(
        "CATALYST_LLM_BASE_URL",
        None,
        "Base URL of an OpenAI-compatible chat API; unset: LLM features say they are not "
        "configured.",
        example="https://api.openai.com/v1",
        group=LLM,
        default_doc="unset: not configured",
        check=_http_url,
    )
    llm_api_key: Secret | None = setting(
        "CATALYST_LLM_API_KEY",
        None,
        "API key for the LLM endpoint.",
        example="<api key>",
        group=LLM,
    )
    llm_model: str | None = setting(
        "CATALYST_LLM_MODEL",
        None,
        "Model name sent to the LLM endpoint; required with CATALYST_LLM_BASE_URL.",
        example="gpt-4o-mini",
        group=LLM,
    )
    # -- Charts -----------------------------------------------------------------------------
    chart_store_url: str | None = setting(
        "CATALYST_CHART_STORE_URL",
        None,
        "Where rendered charts are kept: s3://bucket/prefix for an S3-compatible store.",
        example="s3://catalyst-charts/prod",
        group=CHARTS,
        default_doc="local disk: charts/ in the data dir",
        check=_chart_store,
    )
    chart_cache_max_mb: float = setting(
        "CATALYST_CHART_CACHE_MAX_MB",
        256.0,
        "Size bound of the local chart cache (charts/ in the data dir), in MB: beyond it the "
        "least recently used charts are deleted.",
        example="256",
        group=CHARTS,
        low=0.1,
    )
    chart_cache_max_age_s: float = setting(
        "CATALYST_CHART_CACHE_MAX_AGE_S",
        3600.0,
        "A chart in the local cache unused for this many seconds is deleted.",
        example="3600",
        group=CHARTS,
        low=1,
    )
    s3_endpoint_url: str | None = setting(
        "CATALYST_S3_ENDPOINT_URL",
        None,
        "The S3-compatible endpoint (MinIO, R2, …).",
        example="https://s3.example.com",
        group=CHARTS,
        default_doc="AWS: https://s3.<region>.amazonaws.com",
        check=_http_url,
    )
    s3_access_key: Secret | None = setting(
        "CATALYST_S3_ACCESS_KEY",
        None,
        "S3 access key id; required with an s3:// chart store.",
        example="<access key id>",
        group=CHARTS,
    )
    s3_secret_key: Secret | None = setting(
        "CATALYST_S3_SECRET_KEY",
        None,
        "S3 secret access key; required with an s3:// chart store.",
        example="<secret access key>",
        group=CHARTS,
    )
    s3_region: str = setting(
        "CATALYST_S3_REGION",
        "us-east-1",
        "S3 region (part of every request's signature).",
        example="eu-central-1",
        group=CHARTS,
    )
    # -- Commands and admins ----------------------------------------------------------------
    admin_user_ids: frozenset[str] = setting(
        "CATALYST_ADMIN_USER_IDS",
        frozenset(),
        "User ids allowed to use admin commands and buttons, comma-separated; they count "
        "everywhere, DMs included.",
        example="111111111111111111,222222222222222222",
        group=COMMANDS,
        default_doc="none",
    )
    admin_role_ids: frozenset[str] = setting(
        "CATALYST_ADMIN_ROLE_IDS",
        frozenset(),
        "Role ids whose members may use admin commands and buttons, comma-separated; they "
        "count only inside a home server (CATALYST_ADMIN_GUILD_IDS).",
        example="333333333333333333",
        group=COMMANDS,
        default_doc="none",
    )
    admin_guild_ids: frozenset[str] = setting(
        "CATALYST_ADMIN_GUILD_IDS",
        frozenset(),
        "The bot's home server ids, comma-separated: the only servers where Administrator and "
        "admin roles count, and where admin commands are registered. Serving admin commands "
        "needs one, unless admins are by user id alone.",
        example="555555555555555555",
        group=COMMANDS,
        default_doc="none: only CATALYST_ADMIN_USER_IDS are admins",
    )
    admin_channel_id: str | None = setting(
        "CATALYST_ADMIN_CHANNEL_ID",
        None,
        "Channel where `admin post-report` posts when --channel is not given.",
        example="444444444444444444",
        group=COMMANDS,
        check=_snowflake,
    )
    watchlist_max: int = setting(
        "CATALYST_WATCHLIST_MAX",
        50,
        "Most tickers one member may keep on their watchlist.",
        example="50",
        group=COMMANDS,
        low=1,
        high=500,
    )
    cooldowns: Mapping[str, float] = setting(
        "CATALYST_COOLDOWNS",
        {},
        "Seconds between uses of a command (or a group of buttons) by one member, by name: "
        "overrides the cooldown each one declares (listed in docs/security.md); 0 disables "
        "one, * sets every one not listed.",
        example="chart=5,research=30",
        group=COMMANDS,
        default_doc="each command's declared cooldown",
        parse=_cooldowns,
        unset=dict,
        # Settings built in code (tests) have none: a test opts in with its own overrides.
        factory=lambda: {"*": 0.0},
    )
    """Seconds between uses by one member: by top-level command name, and ``chart-buttons`` /
    ``compare-buttons`` for the chart components (buttons and the indicator menu)."""
    user_rate: tuple[int, float] | None = setting(
        "CATALYST_USER_RATE",
        None,
        "Most interactions (commands, buttons, menus, forms) one member may send: count/seconds, "
        "or off. Beyond it they are told to slow down.",
        example="20/60",
        group=COMMANDS,
        default_doc=f"{DEFAULT_USER_RATE[0]}/{DEFAULT_USER_RATE[1]:g}",
        parse=_rate,
        unset=lambda: DEFAULT_USER_RATE,
    )
    jobs_per_user: int = setting(
        "CATALYST_JOBS_PER_USER",
        0,
        "Most jobs (renders, LLM answers …) one member may have waiting or running at once, so "
        "one member cannot starve the others; 0: no cap.",
        example="4",
        group=COMMANDS,
        default_doc=str(DEFAULT_JOBS_PER_USER),
        low=0,
        high=1000,
        unset=lambda: DEFAULT_JOBS_PER_USER,
    )
    # -- Logging and operations -------------------------------------------------------------
    log_level: str = setting(
        "CATALYST_LOG_LEVEL",
        "info",
        "Least severe log level written.",
        example="debug",
        group=OPERATIONS,
        choices=LOG_LEVELS,
    )
    log_format: str = setting(
        "CATALYST_LOG_FORMAT",
        "json",
        "Log lines as JSON (one object per line) or text.",
        example="text",
        group=OPERATIONS,
        default_doc="json (text under `dev`)",
        choices=("json", "text"),
    )
    record_path: Path | None = setting(
        "CATALYST_RECORD_PATH",
        None,
        "Opt-in: append every received interaction (tokens and user ids replaced) as JSON "
        "lines to this file, for `replay`.",
        example="data/recorded.jsonl",
        group=OPERATIONS,
        default_doc="unset: nothing recorded",
    )

    configured: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    """The variable names that were set (environment or .env): not a setting itself."""
    edge_processes: int = field(default=1, compare=False)
    """Edge processes sharing this host's port (set by ``serve --processes``, not a setting).
    Above 1 without Redis, what an edge remembers (replayed ids, cooldowns) must live in a
    store every process of the host shares, not in one process's memory."""

    # -- derived values -------------------------------------------------------------------
    def admin_scope_problem(self) -> str | None:
        """Why admin commands cannot be served safely with these settings, or None.

        Administrator and roles are granted by a server's owner, and anyone can add the bot
        to a server of their own: without a home server they must count nowhere, so admin
        rights can then only come from user ids.
        """
        if self.admin_guild_ids:
            return None
        if self.admin_role_ids:
            return (
                "CATALYST_ADMIN_ROLE_IDS needs CATALYST_ADMIN_GUILD_IDS: admin roles count only "
                "in the bot's home servers"
            )
        if not self.admin_user_ids:
            return (
                "CATALYST_ADMIN_GUILD_IDS is not set: admin commands need the bot's home "
                "server id(s), or CATALYST_ADMIN_USER_IDS for admins by user id alone"
            )
        return None

    def public_key(self) -> bytes:
        """The verify key's 32 bytes; ConfigError if missing or malformed."""
        if not self.public_key_hex:
            raise ConfigError(
                "DISCORD_PUBLIC_KEY is not set: copy the application's public key "
                "(64 hex characters) from the Discord Developer Portal"
            )
        try:
            return parse_public_key(self.public_key_hex)
        except ValueError as exc:
            raise ConfigError(f"DISCORD_PUBLIC_KEY {exc}") from None

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log scrubber: tokens, keys, and the passwords of
        service URLs."""
        values: list[str] = []
        for spec, value in self.items():
            if isinstance(value, Secret) and value:
                values.append(value.reveal())
            elif isinstance(value, str) and spec.env.endswith("_URL"):
                password = urlsplit(value).password
                if password:
                    values.append(password)
        return values

    def items(self) -> list[tuple[Spec, Any]]:
        """Every setting's declaration with its current value, in declaration order."""
        return [(spec, getattr(self, f.name)) for f, spec in _declared()]

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, env_file: Path | None = Path(".env")
    ) -> Settings:
        """Read settings; real environment variables win over the ``.env`` file.

        ``env_file`` is read when it exists; pass None to read the environment only.
        """
        return cls.from_mapping(environment(environ, env_file=env_file))

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Settings:
        """Parse and check every setting; ConfigError lists every problem found."""
        problems: list[str] = []
        kwargs: dict[str, Any] = {}
        configured: set[str] = set()
        hints = _hints()
        for f, spec in _declared():
            raw = env.get(spec.env, "").strip()
            if not raw:
                if spec.unset is not None:
                    kwargs[f.name] = spec.unset()
                continue
            configured.add(spec.env)
            try:
                kwargs[f.name] = _parse(spec, hints[f.name], raw)
            except ValueError as exc:
                problems.append(f"{spec.env} {exc}")
        problems += _unknown_names(env)
        settings = cls(**kwargs, configured=frozenset(configured))
        # Rules see the values that parsed; a rule about a variable already reported as
        # malformed would only repeat that problem less clearly.
        malformed = {problem.split()[0] for problem in problems}
        for rule in _RULES:
            problem = rule(settings)
            if problem and not any(name in problem for name in malformed):
                problems.append(problem)
        if problems:
            raise ConfigError("\n".join(problems), problems)
        return settings


def environment(
    environ: Mapping[str, str] | None = None, *, env_file: Path | None = Path(".env")
) -> dict[str, str]:
    """The variables settings are read from: ``env_file`` when it exists, then the real
    environment (which wins)."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values  # only needed when a .env exists

        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return values


def _declared() -> list[tuple[Any, Spec]]:
    return [(f, f.metadata["spec"]) for f in fields(Settings) if "spec" in f.metadata]


def declared_specs() -> list[Spec]:
    """Every setting's declaration, in declaration order (for docs and `config`)."""
    return [spec for _, spec in _declared()]


def declared_names() -> frozenset[str]:
    return frozenset(spec.env for spec in declared_specs())


_HINTS: dict[str, Any] = {}


def _hints() -> dict[str, Any]:
    if not _HINTS:
        _HINTS.update(typing.get_type_hints(Settings))
    return _HINTS


def type_of(spec: Spec) -> Any:
    """The attribute's type without ``| None``."""
    name = next(f.name for f, s in _declared() if s is spec)
    return _base_type(_hints()[name])


def _base_type(hint: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if type(None) in typing.get_args(hint) and len(args) == 1:
        return args[0]
    return hint


def _parse(spec: Spec, hint: Any, raw: str) -> Any:
    """The attribute's value from a non-empty raw string; ValueError says what is wrong."""
    if spec.check is not None and (problem := spec.check(raw)) is not None:
        raise ValueError(problem)
    if spec.parse is not None:
        return spec.parse(raw)
    kind = _base_type(hint)
    if spec.choices:
        value = raw.lower()
        if value not in spec.choices:
            raise ValueError(f"must be one of {', '.join(spec.choices)}; got {raw!r}")
        return value
    if kind is int or kind is float:
        return _number(spec, raw, integer=kind is int)
    if kind is bool:
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"must be true or false; got {raw!r}")
    if kind is Secret:
        return Secret(raw)
    if kind is Path:
        return Path(raw)
    if typing.get_origin(kind) is frozenset:
        ids = frozenset(part.strip() for part in raw.split(",") if part.strip())
        bad = sorted(i for i in ids if not i.isdigit())
        if bad:
            raise ValueError(f"must be a comma-separated list of numeric ids; got {bad[0]!r}")
        return ids
    if kind is str:
        return raw
    raise TypeError(f"{spec.env}: no parser for {kind!r}; give the setting parse=")


def _number(spec: Spec, raw: str, *, integer: bool) -> int | float:
    value: int | float
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        what = "a whole number" if integer else "a number"
        raise ValueError(f"must be {what}; got {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number; got {raw!r}")
    low, high = spec.low, spec.high
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = " and ".join(
            part
            for part in (
                f"at least {low:g}" if low is not None else "",
                f"at most {high:g}" if high is not None else "",
            )
            if part
        )
        raise ValueError(f"must be {bounds}; got {raw}")
    return value


def _unknown_names(env: Mapping[str, str]) -> list[str]:
    """``CATALYST_*`` names that are not settings are almost always typos: say so."""
    known = declared_names()
    catalyst = sorted(n for n in known if n.startswith("CATALYST_"))
    problems = []
    for name in sorted(env):
        if not name.startswith("CATALYST_") or name in known or name in NOT_SETTINGS:
            continue
        # Compared without the shared prefix, which would make every name look alike.
        suffixes = [n.removeprefix("CATALYST_") for n in catalyst]
        close = difflib.get_close_matches(name.removeprefix("CATALYST_"), suffixes, n=1)
        hint = f" (did you mean CATALYST_{close[0]}?)" if close else ""
        problems.append(f"{name} is not a setting{hint}; see docs/configuration.md for the list")
    return problems


# -- rules that involve several settings -----------------------------------------------------
def _market_key(settings: Settings) -> str | None:
    if settings.market_provider == "tiingo" and settings.tiingo_api_key is None:
        return "CATALYST_MARKET_PROVIDER=tiingo needs TIINGO_API_KEY"
    if settings.market_provider == "polygon" and settings.polygon_api_key is None:
        return "CATALYST_MARKET_PROVIDER=polygon needs POLYGON_API_KEY"
    return None


def _llm_complete(settings: Settings) -> str | None:
    if settings.llm_base_url and not settings.llm_model:
        return "CATALYST_LLM_BASE_URL is set but CATALYST_LLM_MODEL is not: name the model"
    if not settings.llm_base_url and (settings.llm_model or settings.llm_api_key):
        return "CATALYST_LLM_MODEL/CATALYST_LLM_API_KEY are set but CATALYST_LLM_BASE_URL is not"
    return None


def _s3_keys(settings: Settings) -> str | None:
    if settings.chart_store_url and (
        settings.s3_access_key is None or settings.s3_secret_key is None
    ):
        return "an s3:// chart store needs CATALYST_S3_ACCESS_KEY and CATALYST_S3_SECRET_KEY"
    return None


def _shared_state_secret(settings: Settings) -> str | None:
    # A shared queue means several hosts: each would otherwise make its own key, and a button
    # made on one host would be refused by another.
    queue = settings.queue_url or ""
    shared_queue = bool(queue) and queue.split(":", 1)[0].lower() != "sqlite"
    if (shared_queue or settings.redis_url) and settings.state_secret is None:
        what = "CATALYST_QUEUE_URL" if shared_queue else "CATALYST_REDIS_URL"
        return (
            f"CATALYST_STATE_SECRET is required with a shared {what}: give every "
            "host the same random string (32+ characters)"
        )
    return None


_RULES: tuple[Callable[[Settings], str | None], ...] = (
    _market_key,
    _llm_complete,
    _s3_keys,
    _shared_state_secret,
)
