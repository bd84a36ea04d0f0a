"""Vendor rows to :class:`Bars`: regular hours, the sessions a timeframe shows, and the
history bars before them. Shared by the HTTP providers, which hand rows over already
decoded from their vendor's payload (see ``_http.py`` for the HTTP side)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from ._time import utc_from_epoch
from .bars import Bars
from .errors import NoBarsYet
from .sessions import (
    MARKET_TZ,
    market_date,
    regular_hours_mask,
    session_close_utc,
    session_dates,
)
from .timeframe import Timeframe

IntradayRow = tuple[int, float, float, float, float, float]
"""(bar start as UTC epoch seconds, open, high, low, close, volume)."""
DailyRow = tuple[date, float, float, float, float, float]
"""(session date in New York, open, high, low, close, volume)."""


@dataclass(frozen=True, slots=True)
class BarsRequest:
    """One ``bars()`` call of an HTTP provider: what was asked, and when (``now``, epoch
    seconds). It says which days to fetch and turns the vendor's decoded rows into
    :class:`Bars`."""

    ticker: str
    timeframe: Timeframe
    history: int
    source: str
    now: float

    @property
    def today(self) -> date:
        return market_date(self.now)

    @property
    def window_start(self) -> date:
        """The first day the chart shows."""
        return self.today - timedelta(days=self.timeframe.spec.lookback_days)

    @property
    def fetch_from(self) -> date:
        """The first day to ask the vendor for: early enough for ``history`` bars."""
        return self.window_start - timedelta(days=history_days(self.timeframe, self.history))

    def intraday(self, rows: list[IntradayRow]) -> Bars:
        return finish_intraday(
            ticker=self.ticker,
            timeframe=self.timeframe,
            rows=rows,
            source=self.source,
            as_of=utc_from_epoch(self.now),
            history=self.history,
        )

    def daily(self, rows: list[DailyRow]) -> Bars:
        return finish_daily(
            ticker=self.ticker,
            timeframe=self.timeframe,
            rows=rows,
            source=self.source,
            as_of=utc_from_epoch(self.now),
            window_start=self.window_start,
            history=self.history,
        )


def daily_stamp(day: date) -> int:
    return session_close_utc(day)


def history_days(timeframe: Timeframe, history: int) -> int:
    """Extra calendar days to request so that ``history`` bars precede the range.

    Five trading days a week; NYSE closes on about ten weekdays a year, bunched from late
    November to mid-February (up to six in 55 sessions), so one session in ten plus three is
    allowed for holidays, and two days for a range that begins on a weekend. A flat five days
    came up to seven sessions short for 150 daily bars. Over-asking only costs a few bars.
    """
    if history <= 0:
        return 0
    per_session = max(1, 23_400 // timeframe.spec.bar_seconds) if timeframe.spec.intraday else 1
    sessions = -(-history // per_session)
    sessions += sessions // 10 + 3
    return -(-sessions // 5) * 7 + 2


def finish_intraday(
    *,
    ticker: str,
    timeframe: Timeframe,
    rows: list[IntradayRow],
    source: str,
    as_of: datetime,
    history: int = 0,
) -> Bars:
    """Keep regular-hours bars of the last ``timeframe.spec.sessions`` sessions, preceded by
    up to ``history`` regular-hours bars of the sessions before them."""
    if not rows:
        raise NoBarsYet()
    rows.sort(key=lambda r: r[0])
    arr = np.asarray(rows, dtype=np.float64)
    ts = arr[:, 0].astype(np.int64)
    keep = regular_hours_mask(ts)
    arr, ts = arr[keep], ts[keep]
    if len(ts) == 0:
        raise NoBarsYet()
    dates = session_dates(ts)
    wanted = sorted(set(dates))[-timeframe.spec.sessions :]
    first = next(i for i, d in enumerate(dates) if d >= wanted[0])
    begin = max(0, first - max(0, history))
    arr, ts = arr[begin:], ts[begin:]
    return Bars.from_columns(
        ticker=ticker,
        timeframe=timeframe,
        timestamps=ts,
        open=arr[:, 1],
        high=arr[:, 2],
        low=arr[:, 3],
        close=arr[:, 4],
        volume=arr[:, 5],
        source=source,
        simulated=False,
        as_of=as_of,
        tz=str(MARKET_TZ),
        start=first - begin,
    )


def finish_daily(
    *,
    ticker: str,
    timeframe: Timeframe,
    rows: list[DailyRow],
    source: str,
    as_of: datetime,
    window_start: date | None = None,
    history: int = 0,
) -> Bars:
    """Daily bars from ``window_start`` on, preceded by up to ``history`` earlier ones."""
    rows.sort(key=lambda r: r[0])
    first = 0
    if window_start is not None:
        first = next((i for i, r in enumerate(rows) if r[0] >= window_start), len(rows))
    if first == len(rows):
        raise NoBarsYet("No daily bars are available for this range.")
    begin = max(0, first - max(0, history))
    rows = rows[begin:]
    return Bars.from_columns(
        ticker=ticker,
        timeframe=timeframe,
        timestamps=[daily_stamp(r[0]) for r in rows],
        open=[r[1] for r in rows],
        high=[r[2] for r in rows],
        low=[r[3] for r in rows],
        close=[r[4] for r in rows],
        volume=[r[5] for r in rows],
        source=source,
        simulated=False,
        as_of=as_of,
        tz=str(MARKET_TZ),
        start=first - begin,
    )
