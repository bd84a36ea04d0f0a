"""Indicators against values worked out by hand on tiny series (arithmetic shown inline)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from catalyst_interactions.charts import indicators as ind

nan = math.nan


def same(got: np.ndarray, want: list[float]) -> None:
    assert got.shape == (len(want),)
    np.testing.assert_allclose(got, np.array(want), rtol=1e-9, atol=1e-12, equal_nan=True)


def test_sma() -> None:
    # (1+2+3)/3, (2+3+4)/3, (3+4+5)/3
    same(ind.sma(np.array([1.0, 2, 3, 4, 5]), 3), [nan, nan, 2.0, 3.0, 4.0])
    same(ind.sma(np.array([1.0, 2]), 3), [nan, nan])


def test_ema_is_sma_seeded() -> None:
    # n=3 -> alpha = 2/4 = 0.5; seed = (2+4+6)/3 = 4
    # 0.5*8 + 0.5*4 = 6 ; 0.5*10 + 0.5*6 = 8
    same(ind.ema(np.array([2.0, 4, 6, 8, 10]), 3), [nan, nan, 4.0, 6.0, 8.0])


def test_rsi_wilder() -> None:
    closes = np.array([10.0, 11, 10.5, 11.5, 12, 11, 12.5])
    # deltas: +1, -0.5, +1, +0.5, -1, +1.5 ; n = 3
    g, l_ = 2 / 3, 1 / 6  # seeds: gains (1+0+1)/3, losses (0+0.5+0)/3
    r3 = 100 - 100 / (1 + g / l_)  # RS = 4 -> 80
    g, l_ = (g * 2 + 0.5) / 3, (l_ * 2 + 0) / 3
    r4 = 100 - 100 / (1 + g / l_)  # RS = 5.5 -> 84.615...
    g, l_ = (g * 2 + 0) / 3, (l_ * 2 + 1) / 3
    r5 = 100 - 100 / (1 + g / l_)  # RS = 1 -> 50
    g, l_ = (g * 2 + 1.5) / 3, (l_ * 2 + 0) / 3
    r6 = 100 - 100 / (1 + g / l_)
    assert r3 == pytest.approx(80.0)
    assert r5 == pytest.approx(50.0)
    same(ind.rsi(closes, 3), [nan, nan, nan, r3, r4, r5, r6])
    assert r6 == pytest.approx(73.96449704, rel=1e-8)


def test_rsi_without_losses_is_100() -> None:
    same(ind.rsi(np.array([1.0, 2, 3, 4, 5]), 3), [nan, nan, nan, 100.0, 100.0])


def test_macd_small_periods() -> None:
    closes = np.array([1.0, 3, 2, 5, 4, 8])
    # fast n=2 (alpha 2/3): seed (1+3)/2 = 2 @1; 2/3*2+1/3*2 = 2; 2/3*5+1/3*2 = 4;
    #   2/3*4+1/3*4 = 4; 2/3*8+1/3*4 = 20/3
    fast = [nan, 2.0, 2.0, 4.0, 4.0, 20 / 3]
    # slow n=3 (alpha 1/2): seed (1+3+2)/3 = 2 @2; 3.5; 3.75; 5.875
    slow = [nan, nan, 2.0, 3.5, 3.75, 5.875]
    line = [f - s for f, s in zip(fast, slow, strict=True)]  # nan, nan, 0, .5, .25, .791666..
    # signal n=2 over the MACD line: seed (0+0.5)/2 = 0.25 @3; 2/3*.25+1/3*.25 = .25;
    #   2/3*(20/3-5.875) + 1/3*.25
    sig = [nan, nan, nan, 0.25, 0.25, 2 / 3 * (20 / 3 - 5.875) + 0.25 / 3]
    got_line, got_sig, got_hist = ind.macd(closes, 2, 3, 2)
    same(got_line, line)
    same(got_sig, sig)
    same(got_hist, [a - b for a, b in zip(line, sig, strict=True)])


def test_bollinger_population_std() -> None:
    closes = np.array([1.0, 2, 3, 5])
    # window [1,2,3]: mean 2, variance (1+0+1)/3 (population)
    sd1 = math.sqrt(2 / 3)
    # window [2,3,5]: mean 10/3, variance ((4/3)^2 + (1/3)^2 + (5/3)^2)/3 = 42/27
    sd2 = math.sqrt(42 / 27)
    mid, upper, lower = ind.bollinger(closes, 3, 2.0)
    same(mid, [nan, nan, 2.0, 10 / 3])
    same(upper, [nan, nan, 2 + 2 * sd1, 10 / 3 + 2 * sd2])
    same(lower, [nan, nan, 2 - 2 * sd1, 10 / 3 - 2 * sd2])


def test_vwap_resets_each_session() -> None:
    high = np.array([3.0, 6, 10])
    low = np.array([1.0, 3, 8])
    close = np.array([2.0, 3, 9])
    volume = np.array([10.0, 30, 5])
    # typical prices: (3+1+2)/3 = 2, (6+3+3)/3 = 4, (10+8+9)/3 = 9
    # session 1: 2 ; (2*10 + 4*30)/40 = 3.5 ; session 2 restarts: 9
    same(ind.vwap(high, low, close, volume, np.array([1, 1, 2])), [2.0, 3.5, 9.0])
    # anchored once: (20 + 120 + 45) / 45
    same(ind.vwap(high, low, close, volume), [2.0, 3.5, 185 / 45])


def test_vwap_before_any_volume_is_nan() -> None:
    got = ind.vwap(np.array([2.0, 2]), np.array([1.0, 1]), np.array([1.5, 1.5]), np.array([0.0, 4]))
    same(got, [nan, 1.5])
