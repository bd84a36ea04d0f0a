"""US equity regular-session arithmetic (09:30-16:00 America/New_York, weekdays).

Exchange holidays are not modelled: a holiday simply has no bars upstream, and the demo
provider treats it as an ordinary weekday.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

MARKET_TZ = ZoneInfo("America/New_York")
OPEN = time(9, 30)
CLOSE = time(16, 0)


def session_open_utc(day: date) -> int:
    """Epoch seconds of 09:30 New York time on ``day``."""
    return int(datetime.combine(day, OPEN, MARKET_TZ).timestamp())


def session_close_utc(day: date) -> int:
    """Epoch seconds of 16:00 New York time on ``day`` (the stamp of a daily bar)."""
    return int(datetime.combine(day, CLOSE, MARKET_TZ).timestamp())


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


def previous_weekday(day: date) -> date:
    day -= timedelta(days=1)
    while not is_weekday(day):
        day -= timedelta(days=1)
    return day


def market_date(epoch_seconds: float) -> date:
    return datetime.fromtimestamp(epoch_seconds, MARKET_TZ).date()


def regular_hours_mask(timestamps: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """True for bars whose start lies in [09:30, 16:00) New York time on a weekday."""
    out = np.zeros(len(timestamps), dtype=bool)
    for i, ts in enumerate(timestamps.tolist()):
        local = datetime.fromtimestamp(ts, MARKET_TZ)
        out[i] = local.weekday() < 5 and OPEN <= local.time() < CLOSE
    return out


def session_dates(timestamps: npt.NDArray[np.int64]) -> list[date]:
    return [market_date(ts) for ts in timestamps.tolist()]
