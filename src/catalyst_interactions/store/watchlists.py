"""Per-user watchlists with a size limit that holds under concurrent adds."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select

from ._db import Repository, record_of, rowcount
from .errors import AlreadyWatching, InvalidValue, NotWatching, WatchlistFull
from .models import WatchlistRow
from .records import WatchlistEntry
from .tickers import normalize_ticker

Entries = list[WatchlistEntry]


class Watchlists(Repository):
    async def add(self, user_id: str, ticker: str, max_size: int) -> WatchlistEntry:
        """Add ``ticker`` to the user's list.

        Raises :class:`AlreadyWatching`, :class:`WatchlistFull` (the list holds ``max_size``
        tickers) or :class:`InvalidTicker`. The count check and the insert run under a
        per-user lock, so concurrent adds never push a list past ``max_size``.
        """
        if max_size < 1:
            raise InvalidValue("max_size must be at least 1")
        symbol = normalize_ticker(ticker)
        async with self._db.write() as session:
            await self._db.lock(session, "watchlist", user_id)
            if await session.get(WatchlistRow, (user_id, symbol)) is not None:
                raise AlreadyWatching(f"already watching {symbol}")
            count = await session.scalar(
                select(func.count()).where(WatchlistRow.user_id == user_id)
            )
            if (count or 0) >= max_size:
                raise WatchlistFull(max_size)
            added_at = self._db.clock()
            # ON CONFLICT: the primary key still guards writers that bypass the lock (imports).
            inserted = await session.scalar(
                self._db.insert_ignoring_conflicts(WatchlistRow)
                .values(user_id=user_id, ticker=symbol, added_at=added_at)
                .on_conflict_do_nothing(index_elements=["user_id", "ticker"])
                .returning(WatchlistRow.ticker)
            )
            if inserted is None:
                raise AlreadyWatching(f"already watching {symbol}")
        return WatchlistEntry(user_id=user_id, ticker=symbol, added_at=added_at)

    async def remove(self, user_id: str, ticker: str) -> None:
        """Remove ``ticker``; raises :class:`NotWatching` if the list does not hold it."""
        symbol = normalize_ticker(ticker)
        async with self._db.write() as session:
            result = await session.execute(
                delete(WatchlistRow).where(
                    WatchlistRow.user_id == user_id, WatchlistRow.ticker == symbol
                )
            )
            if rowcount(result) == 0:
                raise NotWatching(f"not watching {symbol}")

    async def list(self, user_id: str) -> Entries:
        """The user's tickers, oldest first."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(WatchlistRow)
                .where(WatchlistRow.user_id == user_id)
                .order_by(WatchlistRow.added_at, WatchlistRow.ticker)
            )
            return [record_of(WatchlistEntry, row) for row in rows]

    async def clear(self, user_id: str) -> int:
        """Empty the user's list; returns how many tickers were removed."""
        async with self._db.write() as session:
            result = await session.execute(
                delete(WatchlistRow).where(WatchlistRow.user_id == user_id)
            )
            return rowcount(result)

    async def import_entries(
        self, user_id: str, entries: Iterable[tuple[str, datetime | None]]
    ) -> tuple[int, int]:
        """Insert (normalised ticker, added_at or None for now) pairs, skipping ones present.

        Returns (added, skipped). For the importer: it bypasses ``max_size`` so legacy lists
        arrive whole, and later adds then see a full list.
        """
        now = self._db.clock()
        given = list(entries)
        unique = {ticker: added_at or now for ticker, added_at in reversed(given)}  # first wins
        if not unique:
            return 0, 0
        rows = [{"user_id": user_id, "ticker": t, "added_at": at} for t, at in unique.items()]
        async with self._db.write() as session:
            statement = (
                self._db.insert_ignoring_conflicts(WatchlistRow)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["user_id", "ticker"])
                .returning(WatchlistRow.ticker)
            )
            added = len((await session.scalars(statement)).all())
        return added, len(given) - added
