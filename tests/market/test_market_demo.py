"""The simulated provider: deterministic, plausible, and impossible to mistake for live data."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from catalyst_interactions.market import DemoProvider, NoBarsYet, Timeframe, UnknownTicker

NY = ZoneInfo("America/New_York")


def at(y: int, mo: int, d: int, h: int, mi: int) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=NY).timestamp()


AFTER_CLOSE = at(2025, 12, 30, 17, 0)  # Tuesday


async def test_every_series_is_labelled_simulated() -> None:
    p = DemoProvider(clock=lambda: AFTER_CLOSE)
    for tf in Timeframe:
        bars = await p.bars("AAPL", tf)
        assert bars.simulated is True
        assert bars.source == "simulated demo data"
    q = await p.quote("AAPL")
    assert q.simulated is True
    assert q.source == "simulated demo data"


async def test_deterministic_across_instances() -> None:
    a = await DemoProvider(clock=lambda: AFTER_CLOSE).bars("NVDA", Timeframe.M3)
    b = await DemoProvider(clock=lambda: AFTER_CLOSE).bars("NVDA", Timeframe.M3)
    assert a.version == b.version
    assert np.array_equal(a.close, b.close)
    c = await DemoProvider(clock=lambda: AFTER_CLOSE).bars("MSFT", Timeframe.M3)
    assert c.version != a.version


async def test_intraday_session_shape() -> None:
    bars = await DemoProvider(clock=lambda: AFTER_CLOSE).bars("SPY", Timeframe.D1)
    assert len(bars) == 78  # 6.5 h of 5-minute bars
    first = datetime.fromtimestamp(int(bars.timestamps[0]), NY)
    last = datetime.fromtimestamp(int(bars.timestamps[-1]), NY)
    assert (first.hour, first.minute) == (9, 30)
    assert (last.hour, last.minute) == (15, 55)
    assert np.all(np.diff(bars.timestamps) == 300)
    assert np.all(bars.high >= np.maximum(bars.open, bars.close))
    assert np.all(bars.low <= np.minimum(bars.open, bars.close))
    # U-shaped volume: first and last half hour busier than the lunch hour on average.
    open_v, lunch_v, close_v = (
        bars.volume[:6].mean(),
        bars.volume[30:42].mean(),
        bars.volume[-6:].mean(),
    )
    assert open_v > lunch_v
    assert close_v > lunch_v


async def test_views_agree_with_each_other() -> None:
    p = DemoProvider(clock=lambda: AFTER_CLOSE)
    day = await p.bars("AMD", Timeframe.D1)
    five = await p.bars("AMD", Timeframe.D5)
    month = await p.bars("AMD", Timeframe.M1)
    assert len(five) == 5 * 13  # five sessions of 30-minute bars
    assert five.close[-1] == day.close[-1] == month.close[-1]
    assert month.high[-1] == day.high.max()
    assert month.low[-1] == day.low.min()
    assert month.volume[-1] == day.volume.sum()
    q = await p.quote("AMD")
    assert q.last == day.close[-1]
    assert q.change == pytest.approx(month.close[-1] - month.close[-2])


async def test_partial_session_and_weekend() -> None:
    mid = await DemoProvider(clock=lambda: at(2025, 12, 30, 10, 2)).bars("AAPL", Timeframe.D1)
    assert len(mid) == 6  # 09:30 .. 09:55 finished by 10:02
    saturday = await DemoProvider(clock=lambda: at(2026, 1, 3, 12, 0)).bars("AAPL", Timeframe.D1)
    assert (
        datetime.fromtimestamp(int(saturday.timestamps[0]), NY).date().isoformat() == "2026-01-02"
    )
    before_open = DemoProvider(clock=lambda: at(2025, 12, 30, 9, 31))
    with pytest.raises(NoBarsYet):
        await before_open.bars("AAPL", Timeframe.D1)


async def test_unknown_and_malformed_tickers() -> None:
    p = DemoProvider(clock=lambda: AFTER_CLOSE)
    with pytest.raises(UnknownTicker) as info:
        await p.bars("XYZQ", Timeframe.D1)
    assert "XYZQ" in info.value.user_message
    with pytest.raises(UnknownTicker):
        await p.quote("not a ticker!")
    assert (await p.bars("brk.b", Timeframe.M1)).ticker == "BRK.B"


def test_as_of_is_utc() -> None:
    assert datetime.fromtimestamp(AFTER_CLOSE, UTC).hour == 22
