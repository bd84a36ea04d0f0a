"""Typed configuration from the environment and an optional ``.env`` file.

Names follow DESIGN.md. Everything is validated once at start: a bad value is a
:class:`ConfigError` whose message is one line naming the variable and what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .discord.verify import parse_public_key
from .secret import Secret

DEFAULT_API_BASE = "https://discord.com/api/v10"


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Settings:
    public_key_hex: str | None = None
    application_id: str | None = None
    bot_token: Secret | None = None
    api_base: str = DEFAULT_API_BASE
    data_dir: Path = Path("data")
    database_url: str | None = None
    queue_url: str | None = None
    redis_url: str | None = None
    admin_user_ids: frozenset[str] = frozenset()
    admin_role_ids: frozenset[str] = frozenset()
    timestamp_window_s: float = 300.0
    max_body_bytes: int = 1024 * 1024
    auto_budget_s: float = 2.0
    worker_concurrency: int = 8
    process_pool_size: int = 2
    job_lease_s: float = 30.0
    job_max_attempts: int = 5
    job_retry_base_s: float = 0.5
    market_provider: str = "demo"
    tiingo_api_key: Secret | None = None
    polygon_api_key: Secret | None = None
    llm_base_url: str | None = None
    llm_api_key: Secret | None = None
    llm_model: str | None = None
    watchlist_max: int = 50
    cooldowns: Mapping[str, float] = field(default_factory=dict)
    """Seconds between uses of a command by one user, by top-level command name."""
    chart_store_url: str | None = None
    """``s3://bucket/prefix`` for an S3-compatible chart store; local disk when unset."""
    s3_endpoint_url: str | None = None
    s3_access_key: Secret | None = None
    s3_secret_key: Secret | None = None
    s3_region: str = "us-east-1"
    log_level: str = "info"
    log_format: str = "json"
    state_secret: Secret | None = None
    handover_secret: Secret | None = None
    """Shared with the Cloudflare Worker edge; enables POST /handover when set."""
    record_path: Path | None = None
    """Opt-in: write received interactions (tokens and user ids replaced) as JSON lines."""

    # -- derived values -------------------------------------------------------------------
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
        from urllib.parse import urlsplit

        values = [
            v.reveal()
            for v in (
                self.bot_token,
                self.state_secret,
                self.handover_secret,
                self.tiingo_api_key,
                self.polygon_api_key,
                self.llm_api_key,
                self.s3_access_key,
                self.s3_secret_key,
            )
            if v
        ]
        for url in (self.database_url, self.queue_url, self.redis_url):
            password = urlsplit(url).password if url else None
            if password:
                values.append(password)
        return values

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, env_file: Path | None = Path(".env")
    ) -> Settings:
        """Read settings; real environment variables win over the ``.env`` file."""
        values: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            from dotenv import dotenv_values  # only needed when a .env exists

            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls._from_mapping(values)

    @classmethod
    def _from_mapping(cls, env: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def secret(name: str) -> Secret | None:
            value = get(name)
            return Secret(value) if value else None

        token = get("DISCORD_BOT_TOKEN")
        state_secret = get("CATALYST_STATE_SECRET")
        app_id = get("DISCORD_APPLICATION_ID")
        if app_id is not None and not app_id.isdigit():
            raise ConfigError("DISCORD_APPLICATION_ID must be a numeric snowflake id")
        return cls(
            public_key_hex=get("DISCORD_PUBLIC_KEY"),
            application_id=app_id,
            bot_token=Secret(token) if token else None,
            api_base=(get("DISCORD_API_BASE") or DEFAULT_API_BASE).rstrip("/"),
            data_dir=Path(get("CATALYST_DATA_DIR") or "data"),
            database_url=get("CATALYST_DATABASE_URL"),
            queue_url=get("CATALYST_QUEUE_URL"),
            redis_url=get("CATALYST_REDIS_URL"),
            admin_user_ids=_id_set(get("CATALYST_ADMIN_USER_IDS"), "CATALYST_ADMIN_USER_IDS"),
            admin_role_ids=_id_set(get("CATALYST_ADMIN_ROLE_IDS"), "CATALYST_ADMIN_ROLE_IDS"),
            timestamp_window_s=_number(env, "CATALYST_TIMESTAMP_WINDOW_S", 300.0, low=1),
            max_body_bytes=int(_number(env, "CATALYST_MAX_BODY_BYTES", 1024 * 1024, low=1024)),
            auto_budget_s=_number(env, "CATALYST_AUTO_BUDGET_S", 2.0, low=0.1, high=2.9),
            worker_concurrency=int(_number(env, "CATALYST_WORKER_CONCURRENCY", 8, low=1)),
            process_pool_size=int(_number(env, "CATALYST_PROCESS_POOL_SIZE", 2, low=0)),
            job_lease_s=_number(env, "CATALYST_JOB_LEASE_S", 30.0, low=0.5),
            job_max_attempts=int(_number(env, "CATALYST_JOB_MAX_ATTEMPTS", 5, low=1)),
            job_retry_base_s=_number(env, "CATALYST_JOB_RETRY_BASE_S", 0.5, low=0.01),
            market_provider=_choice(
                env, "CATALYST_MARKET_PROVIDER", "demo", ("demo", "tiingo", "polygon")
            ),
            tiingo_api_key=secret("TIINGO_API_KEY"),
            polygon_api_key=secret("POLYGON_API_KEY"),
            llm_base_url=get("CATALYST_LLM_BASE_URL"),
            llm_api_key=secret("CATALYST_LLM_API_KEY"),
            llm_model=get("CATALYST_LLM_MODEL"),
            watchlist_max=int(_number(env, "CATALYST_WATCHLIST_MAX", 50, low=1, high=500)),
            cooldowns=_cooldowns(get("CATALYST_COOLDOWNS")),
            chart_store_url=get("CATALYST_CHART_STORE_URL"),
            s3_endpoint_url=get("CATALYST_S3_ENDPOINT_URL"),
            s3_access_key=secret("CATALYST_S3_ACCESS_KEY"),
            s3_secret_key=secret("CATALYST_S3_SECRET_KEY"),
            s3_region=get("CATALYST_S3_REGION") or "us-east-1",
            log_level=_choice(env, "CATALYST_LOG_LEVEL", "info", LOG_LEVELS),
            log_format=_choice(env, "CATALYST_LOG_FORMAT", "json", ("json", "text")),
            state_secret=Secret(state_secret) if state_secret else None,
            handover_secret=secret("CATALYST_HANDOVER_SECRET"),
            record_path=Path(rec) if (rec := get("CATALYST_RECORD_PATH")) else None,
        )


LOG_LEVELS = ("debug", "info", "warning", "error")


def _id_set(raw: str | None, name: str) -> frozenset[str]:
    if raw is None:
        return frozenset()
    ids = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = sorted(i for i in ids if not i.isdigit())
    if bad:
        raise ConfigError(f"{name} must be a comma-separated list of numeric ids; got {bad[0]!r}")
    return ids


DEFAULT_COOLDOWNS = {"chart": 3.0, "compare": 5.0, "backtest": 15.0, "research": 30.0, "ask": 30.0}


def _cooldowns(raw: str | None) -> dict[str, float]:
    """``chart=5,research=30``; unlisted commands keep their defaults, 0 disables one."""
    out = dict(DEFAULT_COOLDOWNS)
    if raw is None:
        return out
    for item in raw.split(","):
        name, sep, value = item.strip().partition("=")
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not sep or not name or seconds < 0:
            raise ConfigError(
                f"CATALYST_COOLDOWNS must look like chart=5,research=30; got {item.strip()!r}"
            )
        out[name.strip()] = seconds
    return out


def _number(
    env: Mapping[str, str], name: str, default: float, *, low: float, high: float | None = None
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number; got {raw!r}") from None
    if value < low or (high is not None and value > high):
        upper = f" and at most {high:g}" if high is not None else ""
        raise ConfigError(f"{name} must be at least {low:g}{upper}; got {raw}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip().lower() or default
    if raw not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {raw!r}")
    return raw
