"""What Catalyst's handlers use: one typed :class:`Resources` object per process.

``app.py`` builds it once at start (:func:`catalyst_interactions.app.build_resources`) and
the dispatcher hands it to every handler as ``ctx.resources``; a handler declares it in its
context's type (``ctx: CommandContext[Resources]``) and reads ``ctx.resources.market`` with
no cast and no lookup by name. It is closed once, newest resource first.

Heavy resources stay off the edge's start-up path: the database (SQLAlchemy) is opened on
first use or by a warm-up after start, market data (numpy) and the chart service
(matplotlib's process pool) on first use, through typed lazy handles.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..fileperms import write_private
from ..framework.component_state import ComponentStateStore
from ..framework.cooldowns import Cooldowns
from ..settings import ConfigError, Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ..discord.rest import DiscordRest
    from ..llm import ChatClient
    from ..market import MarketDataProvider
    from ..market.bars import Bars, Quote
    from ..market.timeframe import Timeframe
    from ..store import Store
    from .charting import ChartService

log = logging.getLogger("catalyst_interactions.bot")

T = TypeVar("T")


class Lazy(Generic[T]):
    """A resource made on first :meth:`get` (its imports stay off the edge's start-up path)
    and closed by :meth:`aclose` only if it was made."""

    def __init__(
        self, make: Callable[[], T], close: Callable[[T], Awaitable[None]] | None = None
    ) -> None:
        self._make = make
        self._close = close
        self._value: T | None = None

    def get(self) -> T:
        if self._value is None:
            self._value = self._make()
        return self._value

    async def aclose(self) -> None:
        value, self._value = self._value, None
        if value is not None and self._close is not None:
            await self._close(value)


class Closing:
    """Close callbacks, run newest first (the reverse of the order things were opened in).

    A failing close is logged with its name and the others still run, so one broken
    connection never leaves the rest open.
    """

    def __init__(self) -> None:
        self._callbacks: list[tuple[str, Callable[[], Awaitable[object]]]] = []
        self._closed = False

    def push(self, name: str, close: Callable[[], Awaitable[object]]) -> None:
        self._callbacks.append((name, close))

    @property
    def names(self) -> list[str]:
        """What will be closed, in closing order."""
        return [name for name, _ in reversed(self._callbacks)]

    async def aclose(self) -> list[str]:
        """Close everything once; returns the names whose close failed."""
        if self._closed:
            return []
        self._closed = True
        failed = []
        for name, close in reversed(self._callbacks):
            try:
                await close()
            except Exception:
                log.exception("closing %s failed", name)
                failed.append(name)
        return failed


class LazyStore:
    """Opens and migrates the database once, on first use or by the warm-up at start."""

    def __init__(self, configured_url: str | None, data_dir: Path) -> None:
        self._configured_url = configured_url
        self._data_dir = data_dir
        self._store: Store | None = None
        self._lock = asyncio.Lock()
        self._warm_up: asyncio.Task[None] | None = None

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

    def start_warm_up(self) -> None:
        """Open and migrate the database in the background: /health answers at once, /ready
        once the database is usable, and the first command does not pay for it."""

        async def warm() -> None:
            try:
                await self.get()
            except Exception:  # /ready reports it; handlers retry on use
                log.exception("database warm-up failed")

        if self._warm_up is None:
            # Kept here so the task is not garbage-collected mid-flight.
            self._warm_up = asyncio.get_running_loop().create_task(warm())

    async def ping(self) -> None:
        store = await self.get()
        if not await store.ping():
            raise ConnectionError("database unreachable")

    async def close(self) -> None:
        if self._warm_up is not None and not self._warm_up.done():
            self._warm_up.cancel()
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

    async def bars(self, ticker: str, timeframe: Timeframe, *, history: int = 0) -> Bars:
        return await self.provider().bars(ticker, timeframe, history=history)

    async def quote(self, ticker: str) -> Quote:
        return await self.provider().quote(ticker)

    async def aclose(self) -> None:
        aclose = getattr(self._inner, "aclose", None)
        if aclose is not None:
            await aclose()


def check_market_settings(settings: Settings) -> None:
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


@dataclass(slots=True, kw_only=True)
class Resources:
    """Everything a handler may use, built once per process by ``app.build_resources``."""

    settings: Settings
    redis: Redis | None
    """The process's one client for ``CATALYST_REDIS_URL`` (None when unset): the replay
    record, throttles, component state, REST rate limits, the delivery ledger and (on the
    same Redis) the queue all use it; closed last."""
    store: LazyStore
    market: LazyMarket
    charts: Lazy[ChartService]
    """Renders in a process pool started on the first chart (never on an edge)."""
    llm: Lazy[ChatClient] | None
    """None when no LLM is configured (the research commands say so)."""
    components: ComponentStateStore
    cooldowns: Cooldowns
    rest: DiscordRest | None = None
    """Discord's REST API, in processes that run workers."""
    closing: Closing = field(default_factory=Closing)

    async def aclose(self) -> None:
        """Close every resource once, newest first, even when one close fails."""
        await self.closing.aclose()
