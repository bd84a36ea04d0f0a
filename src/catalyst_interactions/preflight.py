"""Before start and on demand: is every configured resource usable?

Two levels, one set of probes:

- :func:`require_installed` runs before anything starts (``serve``, ``worker``, and every
  runtime built by ``app.py``): the packages each configured resource needs are importable.
  It only looks (``importlib.util.find_spec``), so it costs nothing on the edge's start-up.
  Well-formedness of every resource setting is checked earlier still, when settings are read
  (settings.py), so a bad chart-store URL or a provider without its key never reaches a job.
- :func:`probes` / :func:`run_probes` reach each resource (database, queue, Redis, chart
  store, LLM, market provider, Discord): ``catalyst-interactions check`` prints one line per
  resource and exits 1 if one fails; ``/ready`` runs the same probes for the resources a
  process depends on (:func:`ready_probes`).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .redaction import mask_url_password
from .settings import ConfigError, Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .bot.resources import LazyStore
    from .jobs.queue import JobQueue
    from .store import Store

REINSTALL = "pip install --force-reinstall catalyst-interactions"
REDIS_EXTRA = "pip install 'catalyst-interactions[redis]'"
PROBE_TIMEOUT_S = 5.0

Probe = Callable[[], Awaitable[str]]
"""Reaches one resource: returns what it found (one short phrase) or raises."""


def _uses_redis(settings: Settings) -> list[str]:
    names = []
    queue = (settings.queue_url or "").split(":", 1)[0].lower()
    if queue in ("redis", "rediss", "unix"):
        names.append("CATALYST_QUEUE_URL")
    if settings.redis_url:
        names.append("CATALYST_REDIS_URL")
    return names


def _database_driver(settings: Settings) -> str:
    scheme = (settings.database_url or "sqlite").split(":", 1)[0].lower()
    return "psycopg" if scheme.startswith("postgres") else "aiosqlite"


def missing_packages(settings: Settings, *, workers: bool) -> list[str]:
    """One line per missing package, naming what to install."""
    problems = []

    def need(module: str, what: str, install: str = REINSTALL) -> None:
        if importlib.util.find_spec(module) is None:
            problems.append(f"{what} needs the {module} package, which is missing: {install}")

    for module in ("sqlalchemy", "greenlet", "alembic", _database_driver(settings)):
        need(module, "the database")
    for name in _uses_redis(settings):
        need("redis", name, REDIS_EXTRA)
    if workers:
        for module in ("matplotlib", "numpy"):
            need(module, "the chart commands")
    return problems


def require_installed(settings: Settings, *, workers: bool) -> None:
    """ConfigError listing every missing package (a start-up error, never a first-request one).

    A process that runs workers opens the database right after start anyway, so its URL is
    also checked in full here (SQLAlchemy's parser: in-memory SQLite, malformed URLs); the
    edge alone keeps SQLAlchemy off its start-up path (docs/decisions.md, D14).
    """
    problems = missing_packages(settings, workers=workers)
    if workers and not problems and settings.database_url:
        from .store import database_url
        from .store.errors import ConfigurationError

        try:
            database_url(settings.database_url, settings.data_dir)
        except ConfigurationError as exc:
            problems.append(f"CATALYST_DATABASE_URL: {exc}")
    if problems:
        raise ConfigError("\n".join(problems), problems)


# -- probes ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Result:
    name: str
    target: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name:<12} {self.target}: {self.detail}"


def _database_target(settings: Settings) -> str:
    if settings.database_url:
        return mask_url_password(settings.database_url)
    return f"sqlite (default) in {settings.data_dir}"


def _queue_target(settings: Settings) -> str:
    if settings.queue_url:
        return mask_url_password(settings.queue_url)
    return f"sqlite (default) in {settings.data_dir}"


def probe_store(store: Store | LazyStore) -> Probe:
    """``store``: a Store or the bot's LazyStore (opened and migrated on first use)."""

    async def probe() -> str:
        from .bot.resources import LazyStore

        opened = await store.get() if isinstance(store, LazyStore) else store
        if not await opened.ping():
            raise ConnectionError("does not answer SELECT 1")
        return "answers"

    return probe


def probe_queue(queue: JobQueue) -> Probe:
    async def probe() -> str:
        await queue.ping()
        return "answers"

    return probe


def probe_shared_redis(client: Redis) -> Probe:
    """Pings the process's own client: /ready then checks the connections in use, and makes
    none of its own."""

    async def probe() -> str:
        await client.ping()
        return "answers PING"

    return probe


def probe_redis(url: str) -> Probe:
    async def probe() -> str:
        from redis.asyncio import Redis

        client = Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT_S)
        try:
            await client.ping()
        finally:
            await client.aclose()
        return "answers PING"

    return probe


def probe_chart_store(settings: Settings) -> Probe:
    async def probe() -> str:
        from .bot.charting import build_store

        store = build_store(settings)
        try:
            if settings.chart_store_url:
                # A key that is never written: 404 means reachable and the keys accepted.
                await store.get("catalyst-check/probe.png")
                return "bucket reachable, keys accepted"
            root = settings.data_dir / "charts"
            await asyncio.to_thread(_check_writable, root)
            return "directory writable"
        finally:
            aclose = getattr(store, "aclose", None)
            if aclose is not None:
                await aclose()

    return probe


def _check_writable(root: Any) -> None:
    root.mkdir(parents=True, exist_ok=True)
    probe = root / ".catalyst-check"
    probe.write_bytes(b"ok")
    probe.unlink()


def probe_llm(settings: Settings) -> Probe:
    async def probe() -> str:
        import httpx

        headers = {}
        if settings.llm_api_key is not None:
            headers["Authorization"] = f"Bearer {settings.llm_api_key.reveal()}"
        base = (settings.llm_base_url or "").rstrip("/")
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, trust_env=False) as client:
            response = await client.get(f"{base}/models", headers=headers)
        if response.status_code in (401, 403):
            raise PermissionError(f"the API key was refused (HTTP {response.status_code})")
        if response.status_code >= 500:
            raise ConnectionError(f"answered HTTP {response.status_code}")
        return f"reachable (GET /models: HTTP {response.status_code}), model {settings.llm_model}"

    return probe


def probe_market(settings: Settings) -> Probe:
    async def probe() -> str:
        if settings.market_provider == "demo":
            return "simulated prices, nothing to reach"
        from .bot.resources import build_market

        provider = build_market(settings)
        try:
            quote = await provider.quote("AAPL")
        finally:
            aclose = getattr(provider, "aclose", None)
            if aclose is not None:
                await aclose()
        return f"quote for AAPL: {quote.last}"

    return probe


def probe_discord(settings: Settings) -> Probe:
    async def probe() -> str:
        import httpx

        if settings.bot_token is None:
            raise ConfigError("DISCORD_BOT_TOKEN is not set")
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, trust_env=False) as client:
            response = await client.get(
                f"{settings.api_base}/applications/@me",
                headers={"Authorization": f"Bot {settings.bot_token.reveal()}"},
            )
        if response.status_code != 200:
            raise PermissionError(f"GET /applications/@me answered HTTP {response.status_code}")
        return f"bot token accepted for application {response.json().get('id')}"

    return probe


def ready_probes(
    settings: Settings,
    *,
    queue: JobQueue | None = None,
    store: LazyStore | None = None,
    charts: bool = False,
    redis: Redis | None = None,
) -> dict[str, Probe]:
    """What ``/ready`` checks: the resources this process cannot work without. The LLM and
    the market provider are left out: when one is down the bot still serves every other
    command (and says so to the member), so it must stay in rotation. ``redis``: the
    process's own client, pinged instead of opening a connection per check."""
    checks: dict[str, Probe] = {}
    if queue is not None:
        checks["queue"] = probe_queue(queue)
    if store is not None:
        checks["database"] = probe_store(store)
    if redis is not None:
        checks["redis"] = probe_shared_redis(redis)
    elif settings.redis_url:
        checks["redis"] = probe_redis(settings.redis_url)
    if charts:
        checks["chart store"] = probe_chart_store(settings)
    return checks


def probes(settings: Settings) -> list[tuple[str, str, Probe | None]]:
    """Every resource for ``check``: (name, masked target, probe or None if not configured)."""
    from .jobs import open_queue

    queue = open_queue(settings.queue_url or "", data_dir=settings.data_dir)

    async def queue_probe() -> str:
        try:
            return await probe_queue(queue)()
        finally:
            await queue.close()

    async def database_probe() -> str:
        from .store import Store, database_url

        store = Store(database_url(settings.database_url, settings.data_dir))
        try:
            return await probe_store(store)()
        finally:
            await store.close()

    llm = settings.llm_base_url
    return [
        ("database", _database_target(settings), database_probe),
        ("queue", _queue_target(settings), queue_probe),
        (
            "redis",
            mask_url_password(settings.redis_url) if settings.redis_url else "not configured",
            probe_redis(settings.redis_url) if settings.redis_url else None,
        ),
        (
            "chart store",
            settings.chart_store_url or f"local disk {settings.data_dir / 'charts'}",
            probe_chart_store(settings),
        ),
        ("llm", llm or "not configured", probe_llm(settings) if llm else None),
        ("market", settings.market_provider, probe_market(settings)),
        (
            "discord",
            settings.api_base,
            probe_discord(settings) if settings.bot_token is not None else None,
        ),
    ]


async def run_probes(
    checks: list[tuple[str, str, Probe | None]], timeout_s: float = PROBE_TIMEOUT_S * 2
) -> list[Result]:
    """Run every probe at once; a failure is described without secrets (scrubbed by the
    caller's secret list as well)."""

    async def one(name: str, target: str, probe: Probe | None) -> Result:
        if probe is None:
            return Result(name, target, True, "not configured (optional)")
        try:
            detail = await asyncio.wait_for(probe(), timeout=timeout_s)
        except TimeoutError:
            return Result(name, target, False, f"no answer within {timeout_s:g} s")
        except Exception as exc:  # noqa: BLE001 - every failure becomes the resource's line
            return Result(name, target, False, _describe(exc))
        return Result(name, target, True, detail)

    return list(await asyncio.gather(*(one(*check) for check in checks)))


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
