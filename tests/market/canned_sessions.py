"""An NYSE calendar written out by hand for the history tests, independent of the code's.

Only 2025 is needed: weekdays minus the exchange's full-day holidays. 2025-11-28 and
2025-12-24 are early closes (13:00); the vendors simply have fewer bars on those days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from catalyst_interactions.charts.warmup import short_of_history
from catalyst_interactions.market import Bars

NY = ZoneInfo("America/New_York")
HOLIDAYS = {
    date(2025, 1, 1),
    date(2025, 1, 9),  # national day of mourning for President Carter
    date(2025, 1, 20),
    date(2025, 2, 17),
    date(2025, 4, 18),
    date(2025, 5, 26),
    date(2025, 6, 19),
    date(2025, 7, 4),
    date(2025, 9, 1),
    date(2025, 11, 27),
    date(2025, 12, 25),
}
EARLY_CLOSE = {date(2025, 11, 28), date(2025, 12, 24)}


def trading_days(first: date, last: date) -> list[date]:
    """NYSE sessions from ``first`` to ``last``, both included."""
    days = []
    day = first
    while day <= last:
        if day.weekday() < 5 and day not in HOLIDAYS:
            days.append(day)
        day += timedelta(days=1)
    return days


def bar_starts(day: date, minutes: int) -> list[datetime]:
    """UTC starts of the regular-hours bars ``minutes`` wide of one session."""
    close = (13, 0) if day in EARLY_CLOSE else (16, 0)
    t = datetime(day.year, day.month, day.day, 9, 30, tzinfo=NY)
    end = datetime(day.year, day.month, day.day, *close, tzinfo=NY)
    starts = []
    while t < end:
        starts.append(t.astimezone(UTC))
        t += timedelta(minutes=minutes)
    return starts


def ny_date(epoch_seconds: int) -> date:
    return datetime.fromtimestamp(epoch_seconds, NY).date()


def price(i: int) -> float:
    """A distinct close per bar, so that a bar's identity can be checked by its price."""
    return 100.0 + i * 0.25


def intraday_series(first: date, last: date, minutes: int) -> list[tuple[datetime, float]]:
    """Every regular-hours bar start from ``first`` to ``last`` with its distinct close."""
    starts = [t for day in trading_days(first, last) for t in bar_starts(day, minutes)]
    return [(t, price(i)) for i, t in enumerate(starts)]


def daily_series(first: date, last: date) -> list[tuple[date, float]]:
    return [(day, price(i)) for i, day in enumerate(trading_days(first, last))]


def regular_bars_between(first: date, last: date, minutes: int) -> int:
    """How many regular-hours bars the sessions from ``first`` to ``last`` hold."""
    return sum(len(bar_starts(day, minutes)) for day in trading_days(first, last))


def split_at(
    held: list[tuple[datetime, float]], first_day: date, history: int
) -> tuple[list[int], list[float]]:
    """The timestamps and closes a provider should return for an intraday chart whose range
    starts on ``first_day``: the last ``history`` bars before it, then every bar from it."""
    before = [(t, c) for t, c in held if t.astimezone(NY).date() < first_day][-history:]
    shown = [(t, c) for t, c in held if t.astimezone(NY).date() >= first_day]
    return [int(t.timestamp()) for t, _ in before + shown], [c for _, c in before + shown]


def assert_history_then_range(
    bars: Bars, held: list[tuple[datetime, float]], first_day: date, history: int
) -> None:
    """An intraday chart from ``first_day`` came back as ``history`` bars before it, then
    every bar of its range, the range starting at the first session's 09:30."""
    timestamps, closes = split_at(held, first_day, history)
    assert bars.timestamps.tolist() == timestamps
    assert bars.close.tolist() == closes
    assert bars.start == history
    start_of_range = datetime(first_day.year, first_day.month, first_day.day, 9, 30, tzinfo=NY)
    assert bars.timestamps[bars.start] == int(start_of_range.timestamp())


def assert_history_from_12_17(bars: Bars, first_day: date) -> None:
    """A vendor holding 30-minute bars from 2025-12-17 only: the history is the four full
    sessions before ``first_day`` (12-17, 12-18, 12-19, 12-22, thirteen bars each), and MACD
    is the one indicator it is short for."""
    assert bars.history == 4 * 13
    assert bars.timestamps[0] == int(datetime(2025, 12, 17, 9, 30, tzinfo=NY).timestamp())
    assert ny_date(int(bars.window().timestamps[0])) == first_day
    assert short_of_history(["sma20", "sma50", "macd"], bars.history) == ["macd"]
