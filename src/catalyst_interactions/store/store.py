"""The composition of the store: one engine, the repositories on top of it."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from ._db import Clock, Database, utc_now
from .alerts import Alerts
from .audit import Audit
from .component_state import ComponentState
from .effects import Effects
from .errors import StoreError
from .migrate import upgrade
from .parameters import Parameters
from .reports import Reports
from .watchlists import Watchlists


class Store:
    """Everything the bot keeps in its database, built from one URL.

    Building a store opens no connection; the first query (or :meth:`migrate`) does.
    ``clock`` returns the current UTC time and is injectable for tests.
    """

    def __init__(self, url: str, *, clock: Clock = utc_now) -> None:
        self._db = Database(url, clock=clock)
        self.watchlists = Watchlists(self._db)
        self.alerts = Alerts(self._db)
        self.parameters = Parameters(self._db)
        self.reports = Reports(self._db)
        self.audit = Audit(self._db)
        self.component_state = ComponentState(self._db)
        self.effects = Effects(self._db)

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.backend

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (what startup runs). Idempotent."""
        await upgrade(self._db.write_engine)

    async def ping(self, timeout: float = 2.0) -> bool:
        """True when the database answers a trivial query within ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout), self._db.read() as session:
                await session.execute(text("SELECT 1"))
        except (StoreError, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._db.dispose()

    def __repr__(self) -> str:
        return f"Store(backend={self.backend!r})"
