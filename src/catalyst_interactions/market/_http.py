"""Shared plumbing for HTTP providers: one place that turns httpx outcomes into our errors."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

import httpx
import msgspec
import numpy as np

from .bars import Bars
from .errors import NoBarsYet, ProviderRateLimited, ProviderUnavailable
from .sessions import MARKET_TZ, regular_hours_mask, session_close_utc, session_dates
from .timeframe import Timeframe

log = logging.getLogger(__name__)

_json = msgspec.json.Decoder()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def get_json(
    client: httpx.AsyncClient, path: str, params: dict[str, str], *, provider: str
) -> tuple[int, Any]:
    """GET ``path`` and return ``(status, decoded JSON)`` for 2xx, ``(404, None)`` for 404.

    429, 401/403, other 4xx, 5xx, transport errors and undecodable bodies raise. The URL
    is never put into an error or log line because some providers accept keys in query
    strings; only the provider name and status are.
    """
    try:
        response = await client.get(path, params=params)
    except httpx.TimeoutException as exc:
        log.warning("%s request timed out", provider)
        raise ProviderUnavailable(f"{provider} did not answer in time.") from exc
    except httpx.HTTPError as exc:
        log.warning("%s request failed: %s", provider, type(exc).__name__)
        raise ProviderUnavailable(f"{provider} could not be reached.") from exc
    status = response.status_code
    if status == 429:
        raise ProviderRateLimited(
            f"{provider} is rate limiting us; try again in a minute.", _retry_after(response)
        )
    if status in (401, 403):
        log.error("%s rejected our credentials or plan (HTTP %d)", provider, status)
        raise ProviderUnavailable(f"{provider} refused the request (API key or plan).")
    if status >= 500:
        log.warning("%s answered HTTP %d", provider, status)
        raise ProviderUnavailable(f"{provider} is having trouble (HTTP {status}).")
    if status == 404:
        return status, None  # callers decide what is missing; bodies vary (JSON, HTML)
    if status >= 400:
        log.warning("%s answered HTTP %d", provider, status)
        raise ProviderUnavailable(f"{provider} rejected the request (HTTP {status}).")
    try:
        return status, _json.decode(response.content)
    except msgspec.DecodeError as exc:
        # Tiingo reports some quota exhaustion as a plain-text 200 ("You have run over ...").
        if b"run over your" in response.content[:200]:
            raise ProviderRateLimited(f"{provider} usage limit reached.") from exc
        raise ProviderUnavailable(f"{provider} sent an unreadable response.") from exc


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
    rows: list[tuple[int, float, float, float, float, float]],
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
    rows: list[tuple[date, float, float, float, float, float]],
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
