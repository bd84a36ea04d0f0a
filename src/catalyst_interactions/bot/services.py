"""The resources Catalyst's handlers use, built once at start and passed in as ``ctx.state``.

Heavy resources (the database, matplotlib's process pool) are opened lazily or warmed up in
the background after start, so the edge answers ``/health`` fast and ``/ready`` only once
they are usable.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..fileperms import write_private
from ..framework.component_state import ComponentStateStore, StateBackend
from ..framework.context import Context
from ..framework.cooldowns import Cooldowns, wait_text
from ..framework.errors import CheckFailure
from ..framework.throttle import (
    MemoryThrottleStore,
    RedisThrottleStore,
    SqliteThrottleStore,
    ThrottleStore,
)
from ..settings import Settings

if TYPE_CHECKING:
    from ..market import MarketDataProvider
    from ..store import Store

log = logging.getLogger("catalyst_interactions.bot")


class LazyStore:
    """Opens and migrates the database once, on first use or by the warm-up at start."""

    def __init__(self, configured_url: str | None, data_dir: Path) -> None:
        self._configured_url = configured_url
        self._data_dir = data_dir
        self._store: Store | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Store:
        if self._store is None:
            async with self._lock:
                if self._store is None:
                    # SQLAlchemy and Alembic are kept off the edge's start-up path.
                    from ..store import Store, database_url

                    store = Store(database_url(self._configured_url, self._data_dir))
                    await store.migrate()
                    self._store = store
        return self._store

    async def ping(self) -> None:
        store = await self.get()
        if not await store.ping():
            raise ConnectionError("database unreachable")

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()


class StoreStateBackend:
    """Component state in the database (the default when Redis is not configured)."""

    def __init__(self, store: LazyStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    async def put(self, state: dict[str, Any], expires_at: float) -> str:
        store = await self._store.get()
        return await store.component_state.put(
            state, timedelta(seconds=max(1.0, expires_at - self._clock()))
        )

    async def get(self, key: str) -> dict[str, Any] | None:
        store = await self._store.get()
        return await store.component_state.get(key)


def build_throttle_store(settings: Settings) -> ThrottleStore:
    """Redis when configured (every edge everywhere); else a SQLite file when several
    edge processes of this host serve (``serve --processes N``); else this process's memory."""
    if settings.redis_url:
        return RedisThrottleStore.from_url(settings.redis_url)
    if settings.edge_processes > 1:
        return SqliteThrottleStore(settings.data_dir / "throttle.db")
    return MemoryThrottleStore()


@dataclass(slots=True)
class BotServices:
    settings: Settings
    market: LazyMarket
    store: LazyStore
    components: ComponentStateStore
    cooldowns: Cooldowns
    extras: dict[str, Any] = field(default_factory=dict)
    """Late-bound resources (LLM client, chart renderer, REST) set by their features."""

    async def close(self) -> None:
        await asyncio.gather(*(close() for close in self.extras.get("on_close", ())))
        await self.cooldowns.close()
        await self.store.close()
        await self.market.aclose()


def services(ctx: Context) -> BotServices:
    """The bot's services from a handler's context."""
    state = ctx.state
    if not isinstance(state, BotServices):
        raise TypeError("this handler needs BotServices as the dispatcher's state")
    return state


class LazyMarket:
    """The market-data provider, built on first use: numpy stays off the edge's start-up path
    and out of its memory until a handler needs market data."""

    def __init__(self, settings: Settings) -> None:
        check_market_settings(settings)
        self._settings = settings
        self._inner: MarketDataProvider | None = None

    def provider(self) -> MarketDataProvider:
        if self._inner is None:
            self._inner = build_market(self._settings)
        return self._inner

    def known_symbols(self) -> dict[str, str] | None:
        """Every symbol the configured provider serves, when that is a fixed list (the
        demo's); None for a real provider. Needs no numpy: the edge asks this."""
        from ..market.symbols import known_symbols

        return known_symbols(self._settings.market_provider)

    async def bars(self, ticker: str, timeframe: Any, *, history: int = 0) -> Any:
        return await self.provider().bars(ticker, timeframe, history=history)

    async def quote(self, ticker: str) -> Any:
        return await self.provider().quote(ticker)

    async def aclose(self) -> None:
        aclose = getattr(self._inner, "aclose", None)
        if aclose is not None:
            await aclose()


def check_market_settings(settings: Settings) -> None:
    from ..settings import ConfigError

    if settings.market_provider == "tiingo" and settings.tiingo_api_key is None:
        raise ConfigError("CATALYST_MARKET_PROVIDER=tiingo needs TIINGO_API_KEY")
    if settings.market_provider == "polygon" and settings.polygon_api_key is None:
        raise ConfigError("CATALYST_MARKET_PROVIDER=polygon needs POLYGON_API_KEY")


def build_market(settings: Settings) -> MarketDataProvider:
    from ..market import CachedProvider, DemoProvider, PolygonProvider, TiingoProvider

    check_market_settings(settings)
    inner: MarketDataProvider
    if settings.market_provider == "tiingo" and settings.tiingo_api_key is not None:
        inner = TiingoProvider(settings.tiingo_api_key)
    elif settings.market_provider == "polygon" and settings.polygon_api_key is not None:
        inner = PolygonProvider(settings.polygon_api_key)
    else:
        inner = DemoProvider()
    return CachedProvider(inner)


def state_secret(settings: Settings) -> bytes:
    """The component-state HMAC key: configured, or made once and kept in the data dir."""
    if settings.state_secret is not None:
        return settings.state_secret.reveal().encode()
    path = Path(settings.data_dir) / "state-secret"
    if not path.exists():
        write_private(path, secrets.token_hex(32))
        log.warning(
            "generated a component-state secret in the data dir; set "
            "CATALYST_STATE_SECRET when several hosts serve the same bot"
        )
    return path.read_text().strip().encode()


def build_services(settings: Settings) -> BotServices:
    store = LazyStore(settings.database_url, settings.data_dir)
    backend: StateBackend
    if settings.redis_url:
        from redis.asyncio import Redis

        from ..framework.component_state import RedisStateBackend

        backend = RedisStateBackend(Redis.from_url(settings.redis_url))
    else:
        backend = StoreStateBackend(store)
    return BotServices(
        settings=settings,
        market=LazyMarket(settings),
        store=store,
        components=ComponentStateStore(backend, state_secret(settings)),
        cooldowns=Cooldowns(
            dict(settings.cooldowns),
            rate=settings.user_rate,
            store=build_throttle_store(settings),
        ),
    )


# -- checks shared by features ------------------------------------------------------------
async def user_rate(ctx: Context) -> None:
    """Every user's interactions (commands, components, forms) within CATALYST_USER_RATE."""
    state = ctx.state
    if not isinstance(state, BotServices):
        return
    wait = await state.cooldowns.rate_wait(ctx.user.id, ctx.interaction.id)
    if wait > 0:
        raise CheckFailure(
            f"Slow down: you are sending requests faster than we can serve everyone; "
            f"try again in {wait_text(wait)}."
        )


ADMIN_REFUSAL = "Only Catalyst admins can do that."
"""The one answer every admin path gives an outsider (commands, buttons, forms, menus)."""


async def admin_only(ctx: Context) -> None:
    """Admins only: listed user ids anywhere; listed roles or ADMINISTRATOR in a home server.
    Refusals are audited."""
    if ctx.is_admin:
        return
    svc = services(ctx)
    try:
        store = await svc.store.get()
        await store.audit.record(
            ctx.user.id,
            "admin.refused",
            target=_target(ctx)[:200],
            allowed=False,
            interaction_id=ctx.interaction.id,
        )
    except Exception:  # the refusal stands even if the audit write fails
        log.exception("audit write failed", extra={"interaction_id": ctx.interaction.id})
    raise CheckFailure(ADMIN_REFUSAL)


def _target(ctx: Context) -> str:
    path = getattr(ctx, "path", None)
    if path:
        return "/" + " ".join(path)
    component = getattr(ctx, "component", None) or getattr(ctx, "modal", None)
    return str(getattr(component, "custom_id", "")) or "unknown"
